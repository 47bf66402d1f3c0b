"""Who is on duty (值班): pure rules of a unit's duty roster.

A roster is a weekly schedule (per weekday, shifts of officers) plus dated
overrides (a holiday, a swap) that replace that date's shifts whole. Times
are Beijing time (Asia/Shanghai), as the duty room reads its board. A shift
that ends at or before its start runs past midnight into the next day
(20:00–08:00); start equal to end is a full 24 hours.
"""
from datetime import date, datetime, time, timedelta
from typing import Any, Mapping
from zoneinfo import ZoneInfo

BEIJING = ZoneInfo("Asia/Shanghai")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def shifts_on(roster: Mapping[str, Any], day: date) -> list[dict]:
    """The shifts of a date: its override if there is one, else its weekday's."""
    for override in roster.get("overrides") or ():
        if override["date"] == day.isoformat():
            return list(override["shifts"])
    return list((roster.get("weekly") or {}).get(WEEKDAYS[day.weekday()]) or ())


def _overnight(shift: Mapping[str, Any]) -> bool:
    return time.fromisoformat(shift["end"]) <= time.fromisoformat(shift["start"])


def on_duty(roster: Mapping[str, Any] | None, now: datetime) -> list[str]:
    """The officers on duty at `now` (aware), in roster order, each once."""
    if not roster:
        return []
    local = now.astimezone(BEIJING)
    day, at = local.date(), local.time().replace(tzinfo=None)
    found: list[str] = []
    for shift in shifts_on(roster, day):
        start, end = time.fromisoformat(shift["start"]), time.fromisoformat(shift["end"])
        if (start <= at < end) if not _overnight(shift) else at >= start:
            found += shift["officers"]
    # Yesterday's night shift that has not ended yet.
    for shift in shifts_on(roster, day - timedelta(days=1)):
        if _overnight(shift) and at < time.fromisoformat(shift["end"]):
            found += shift["officers"]
    return list(dict.fromkeys(found))


def officers_named(roster: Mapping[str, Any]) -> set[str]:
    """Every officer the roster names, to check they belong to the unit."""
    shifts = [s for day in (roster.get("weekly") or {}).values() for s in day]
    shifts += [s for o in roster.get("overrides") or () for s in o["shifts"]]
    return {officer for s in shifts for officer in s["officers"]}
