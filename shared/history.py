"""責任倒查: the one builder of history entries. Every action on a report or
a case is appended as one entry — who (actor, role, unit), when, what, and
the state before and after — and never edited."""

SYSTEM = ("system", "system", None)   # the clocks: no person acted


def entry(action, at, actor, role, unit=None, before=None, after=None, note=None,
          **detail):
    recorded = {"action": action, "actor": actor, "role": role, "unit": unit, "at": at,
                "before": before, "after": after}
    if note is not None:
        recorded["note"] = note
    recorded.update(detail)
    return recorded


def by(who, action, at, before=None, after=None, note=None, **detail):
    """An entry for an action a principal (shared.auth.Principal) took."""
    return entry(action, at, who.subject, who.role, who.unit, before, after, note, **detail)


def by_system(action, at, before=None, after=None, note=None, **detail):
    return entry(action, at, *SYSTEM, before, after, note, **detail)
