"""Case clocks: wall-clock time by default (不管多晚: police work round the
clock), or a unit's working hours with the Chinese public holidays and the
weekend make-up workdays (調休); and the pauses while a case waits on the
company. Pure: times in, times out.
"""
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from shared.clock import ms

# A deadline further than this in working time is a policy error, not a date.
MAX_DAYS = 3660


class WallClock:
    name = "wall_clock"

    def add(self, start, seconds):
        return start + timedelta(seconds=seconds)

    def between(self, a, b):
        return max(0.0, (b - a).total_seconds())


class WorkingHours:
    """Working periods of each working day in a time zone.

    A day is a working day when it is a listed make-up workday, or a weekday
    that is not a holiday: 調休 turns some Saturdays and Sundays into working
    days, so the weekday test alone is wrong.
    """

    def __init__(self, name, tz, hours, holidays=(), workdays=()):
        self.name = name
        self.tz = ZoneInfo(tz)
        self.hours = [(time.fromisoformat(a), time.fromisoformat(b)) for a, b in hours]
        self.holidays = set(holidays)
        self.workdays = set(workdays)

    def is_working_day(self, day):
        if day in self.workdays:
            return True
        return day.weekday() < 5 and day not in self.holidays

    def periods(self, day):
        if not self.is_working_day(day):
            return []
        return [(datetime.combine(day, a, self.tz), datetime.combine(day, b, self.tz))
                for a, b in self.hours]

    def _days_from(self, t):
        day = t.astimezone(self.tz).date()
        for i in range(MAX_DAYS):
            yield day + timedelta(days=i)
        raise ValueError("no working time within ten years: check the calendar")

    def add(self, start, seconds):
        left = timedelta(seconds=seconds)
        for day in self._days_from(start):
            for a, b in self.periods(day):
                if b <= start:
                    continue
                a = max(a, start)
                if b - a >= left:
                    return (a + left).astimezone(start.tzinfo)
                left -= b - a

    def between(self, a, b):
        total = timedelta()
        for day in self._days_from(a):
            if datetime.combine(day, time(0), self.tz) >= b:
                break
            for p, q in self.periods(day):
                lo, hi = max(p, a), min(q, b)
                if hi > lo:
                    total += hi - lo
        return total.total_seconds()


def due_at(cal, start, seconds, pauses=()):
    """The time `seconds` of the calendar's time after `start`, not counting
    pauses ({from, to}); None while an open pause stops the clock."""
    t, left = start, seconds
    for p in sorted(pauses, key=lambda p: p["from"]):
        if p["to"] is not None and p["to"] <= t:
            continue
        if p["from"] > t:
            candidate = cal.add(t, left)
            if candidate <= p["from"]:
                return ms(candidate)
            left -= cal.between(t, p["from"])
        if p["to"] is None:
            return None
        t = p["to"]
    return ms(cal.add(t, left))


def expand_days(entries):
    """Dates from a holidays file's list: single dates and [first, last] ranges."""
    days: set[date] = set()
    for entry in entries or ():
        if isinstance(entry, (list, tuple)):
            first, last = (as_date(e) for e in entry)
            days.update(first + timedelta(days=i) for i in range((last - first).days + 1))
        else:
            days.add(as_date(entry))
    return days


def as_date(value):
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def calendar_for(policy, unit_id):
    """The calendar the unit's policy names; wall clock when it names none."""
    name = (policy.get("unit_calendars") or {}).get(unit_id)
    if not name:
        return WallClock()
    spec = policy["calendars"][name]
    years = spec.get("days") or {}
    holidays, workdays = set(), set()
    for year in years.values():
        holidays |= expand_days(year.get("holidays"))
        workdays |= expand_days(year.get("workdays"))
    return WorkingHours(name, spec.get("timezone", "Asia/Shanghai"), spec["hours"],
                        holidays, workdays)
