"""The organisation's pure rules: credit codes, the unit tree, first contact."""

UNIT_KINDS = ("station", "detachment", "bureau")


def unit_names(unit):
    """A unit's display name per language: `name` is its Chinese name, the
    one a company in zh-CN reads; `name_en` its English one, else `name`."""
    return {"zh-CN": unit["name"], "en": unit.get("name_en") or unit["name"]}


MAX_DEPTH = 32     # a city's tree is five levels; more is a cycle or a slip


class OrgError(Exception):
    """The organisation data does not allow this."""


# GB 32100-2015: the unified social credit code, 18 characters, last a check.
CREDIT_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
CREDIT_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def credit_code_check_char(first17):
    total = sum(CREDIT_ALPHABET.index(c) * w for c, w in zip(first17, CREDIT_WEIGHTS))
    return CREDIT_ALPHABET[(31 - total % 31) % 31]


def credit_code_valid(code):
    if len(code) != 18 or any(c not in CREDIT_ALPHABET for c in code):
        return False
    return credit_code_check_char(code[:17]) == code[17]


def unit_path(unit_id, parents):
    """The unit and its ancestors, nearest first; `parents` maps id -> parent id."""
    path = [unit_id]
    while parents.get(path[-1]):
        path.append(parents[path[-1]])
        if len(path) > MAX_DEPTH:
            raise OrgError("the unit tree is too deep or has a cycle")
    return path


def first_contact_owner(filer, company, incident_type, units, routing):
    """The unit that owns a new report (首接首辦).

    An officer registering a walk-in or phone report: the officer's own unit,
    since it is the one that received it. A company's report: the unit the
    routing policy names for its incident type — the nearest unit with that
    specialty, searched from the company's jurisdiction up the tree (itself,
    then the children of each ancestor) — else the jurisdiction unit.
    `units` maps id -> {"parent_unit_id", "specialties"}.
    """
    if filer.role in ("officer", "supervisor"):
        return filer.unit
    home = company["jurisdiction_unit_id"]
    specialty = routing.get(incident_type)
    return nearest_with_specialty(home, specialty, units) if specialty else home


def nearest_with_specialty(home, specialty, units):
    parents = {u: d.get("parent_unit_id") for u, d in units.items()}
    for ancestor in unit_path(home, parents):
        if specialty in units[ancestor].get("specialties", ()):
            return ancestor
        children = sorted(u for u, p in parents.items() if p == ancestor)
        for child in children:
            if specialty in units[child].get("specialties", ()):
                return child
    return home
