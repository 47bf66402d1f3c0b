"""The duty roster (值班) and a person's alert channels as forms: notify's
JSON turned into rows a form shows, a submitted form back into the JSON
notify takes, and notify's nested field errors put back by the fields they
name. Pure: no request, no HTTP.

A roster's form has one row per shift: `<prefix>-start`, `-end`,
`-officers` (checkboxes), `-drop`. A weekday's prefix is `mon-0`, `mon-1`,
...; a dated override's is `ov-0` for its date and reason and `ov-0-1` for
its second shift. A blank row (no times, nobody ticked) is not sent, so a
form always offers one empty row to fill; the rows sent are remembered so
that notify's "weekly.mon.1.end" finds its way back to the row it means.
"""
from typing import Any, Optional

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
SEVERITIES = ("info", "warning", "critical")
# What a person may choose besides the inbox, which always holds every alert.
CHANNELS = ("email", "sms", "robot", "every")
SHIFT_FIELDS = ("start", "end", "officers")


def blank_shift() -> dict:
    return {"start": "", "end": "", "officers": [], "drop": False}


def blank_override() -> dict:
    return {"date": "", "reason": "", "shifts": [blank_shift()]}


def model_of(roster: Optional[dict]) -> dict:
    """notify's roster as the form shows it, with one empty row under each
    day and each date, and an empty date to add."""
    roster = roster or {}
    weekly = roster.get("weekly") or {}
    model: dict = {"weekly": {}, "overrides": []}
    for day in WEEKDAYS:
        model["weekly"][day] = [_shift(s) for s in weekly.get(day) or ()] + [blank_shift()]
    for o in roster.get("overrides") or ():
        model["overrides"].append({"date": str(o.get("date") or ""),
                                   "reason": o.get("reason") or "",
                                   "shifts": [_shift(s) for s in o.get("shifts") or ()]
                                   + [blank_shift()]})
    model["overrides"].append(blank_override())
    return model


def _shift(s: dict) -> dict:
    return {"start": s.get("start") or "", "end": s.get("end") or "",
            "officers": list(s.get("officers") or ()), "drop": False}


def _count(form, name: str, most: int = 50) -> int:
    try:
        return max(0, min(int(form.get(name, "0")), most))
    except ValueError:
        return 0


def _shift_from(form, prefix: str) -> dict:
    return {"start": form.get(f"{prefix}-start", "").strip(),
            "end": form.get(f"{prefix}-end", "").strip(),
            "officers": form.getlist(f"{prefix}-officers"),
            "drop": form.get(f"{prefix}-drop") == "on"}


def model_from(form) -> dict:
    """The form as it was typed (to show it again, or to send it)."""
    model: dict = {"weekly": {}, "overrides": []}
    for day in WEEKDAYS:
        model["weekly"][day] = [_shift_from(form, f"{day}-{i}")
                                for i in range(_count(form, f"rows-{day}"))]
    for j in range(_count(form, "rows-ov", 400)):
        model["overrides"].append({
            "date": form.get(f"ov-{j}-date", "").strip(),
            "reason": form.get(f"ov-{j}-reason", "").strip(),
            "drop": form.get(f"ov-{j}-drop") == "on",
            "shifts": [_shift_from(form, f"ov-{j}-{i}")
                       for i in range(_count(form, f"rows-ov-{j}"))]})
    return model


def add_row(model: dict, where: str) -> dict:
    """The form's "add a shift / add a date" buttons: one more empty row."""
    if where in WEEKDAYS:
        model["weekly"][where].append(blank_shift())
    elif where == "ov":
        model["overrides"].append(blank_override())
    elif where.startswith("ov-") and where[3:].isdigit() and \
            int(where[3:]) < len(model["overrides"]):
        model["overrides"][int(where[3:])]["shifts"].append(blank_shift())
    return model


def _filled(shift: dict) -> bool:
    return not shift.get("drop") and bool(shift["start"] or shift["end"] or shift["officers"])


def _shift_body(shift: dict) -> dict:
    """Only what was filled: a missing time is notify's "required" message."""
    body: dict = {"officers": shift["officers"]}
    for name in ("start", "end"):
        if shift[name]:
            body[name] = shift[name]
    return body


def body_of(model: dict) -> tuple[dict, dict]:
    """PUT /units/{id}/roster from the form, and where each sent row came
    from: {("weekly", day, sent index): form prefix, ("overrides", sent
    index): form index, ("overrides", i, sent shift): form prefix}."""
    where: dict = {}
    weekly: dict = {}
    for day in WEEKDAYS:
        sent: list = []
        for i, shift in enumerate(model["weekly"][day]):
            if _filled(shift):
                where[("weekly", day, len(sent))] = f"{day}-{i}"
                sent.append(_shift_body(shift))
        if sent:
            weekly[day] = sent
    overrides: list = []
    for j, o in enumerate(model["overrides"]):
        shifts = [(i, s) for i, s in enumerate(o["shifts"]) if _filled(s)]
        if o.get("drop") or not (o["date"] or o["reason"] or shifts):
            continue
        k = len(overrides)
        where[("overrides", k)] = j
        body: dict = {"shifts": []}
        for n, (i, s) in enumerate(shifts):
            where[("overrides", k, n)] = f"ov-{j}-{i}"
            body["shifts"].append(_shift_body(s))
        if o["date"]:
            body["date"] = o["date"]
        if o["reason"]:
            body["reason"] = o["reason"]
        overrides.append(body)
    return {"weekly": weekly, "overrides": overrides}, where


def _leaves(value: Any, path: tuple = ()):
    """(path, message) of every message in notify's nested `fields`."""
    if isinstance(value, dict):
        for key, inner in value.items():
            yield from _leaves(inner, path + (str(key),))
    elif isinstance(value, list) and value and all(isinstance(v, str) for v in value):
        yield path, value[0]
    elif isinstance(value, list):
        for inner in value:
            yield from _leaves(inner, path)
    elif value:
        yield path, str(value)


def roster_errors(fields: dict, where: dict) -> dict:
    """notify's field errors as {form field: message}: a row's field by the
    row it came from; what belongs to no row (officers of another unit, two
    overrides of one date) under "officers" / "overrides"."""
    errors: dict = {}
    for path, message in _leaves(fields or {}):
        name = _form_name(path, where)
        errors.setdefault(name, message)
    return errors


def _index(text: str) -> Optional[int]:
    return int(text) if text.isdigit() else None


def _form_name(path: tuple, where: dict) -> str:
    if len(path) >= 4 and path[0] == "weekly":
        prefix = where.get(("weekly", path[1], _index(path[2])))
        if prefix and path[3] in SHIFT_FIELDS:
            return f"{prefix}-{path[3]}"
    if len(path) >= 2 and path[0] == "weekly" and path[1] in WEEKDAYS:
        return f"{path[1]}-0-start"
    if len(path) >= 3 and path[0] == "overrides":
        k = _index(path[1])
        j = where.get(("overrides", k))
        if j is not None and path[2] == "shifts" and len(path) >= 5:
            prefix = where.get(("overrides", k, _index(path[3])))
            if prefix and path[4] in SHIFT_FIELDS:
                return f"{prefix}-{path[4]}"
        if j is not None and path[2] in ("date", "reason"):
            return f"ov-{j}-{path[2]}"
        if j is not None:
            return f"ov-{j}-date"
    if path and path[0] in ("overrides", "officers"):
        return path[0]
    return path[0] if path else "roster"


# -- a person's alert channels ------------------------------------------------------
def channels_model(settings: Optional[dict]) -> dict:
    """GET /alerts/settings as the form shows it: per severity, whether the
    person chose (else the alert policy's default applies) and what."""
    chosen = (settings or {}).get("channels") or {}
    out = {"email": (settings or {}).get("email") or "",
           "phone": (settings or {}).get("phone") or ""}
    for sev in SEVERITIES:
        picked = chosen.get(sev) or []
        out[f"mode-{sev}"] = "chosen" if picked else "default"
        out[f"ch-{sev}"] = [c for c in picked if c in CHANNELS]
    return out


def channels_from(form) -> dict:
    out = {"email": form.get("email", "").strip(), "phone": form.get("phone", "").strip()}
    for sev in SEVERITIES:
        out[f"ch-{sev}"] = form.getlist(f"ch-{sev}")
        # A channel ticked means a choice, even with "default" still selected.
        out[f"mode-{sev}"] = "chosen" if form.get(f"mode-{sev}") == "chosen" or \
            out[f"ch-{sev}"] else "default"
    return out


def settings_body(values: dict) -> dict:
    """PUT /alerts/settings. A severity left to the default is not sent; a
    choice always names the inbox, so "only the inbox" is a choice too."""
    channels = {sev: ["inbox"] + values[f"ch-{sev}"] for sev in SEVERITIES
                if values[f"mode-{sev}"] == "chosen"}
    return {"email": values["email"] or None, "phone": values["phone"] or None,
            "channels": channels}


def settings_errors(fields: dict) -> dict:
    """notify's errors by the form's fields: channels.warning.1 -> ch-warning."""
    errors: dict = {}
    for path, message in _leaves(fields or {}):
        if len(path) >= 2 and path[0] == "channels":
            errors.setdefault(f"ch-{path[1]}", message)
        elif path:
            errors.setdefault(path[0], message)
    return errors
