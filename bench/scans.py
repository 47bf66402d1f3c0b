"""Which filters the services sent that SecantusDB answers by reading the
whole collection (issue 19).

Its planner fits a filter to one index only when the filter's fields are
an index's own — equalities on its leading fields, then at most one range;
one field more (a status, an age, an `enabled`) and it reads every
document, however selective the rest. A filter with `_id` is the exception:
the `_id` clause alone finds the document, the rest is checked on it. So a
scan hides in a filter that reads fine, and grows with the collection:
the likely-duplicates check read every report on every filing. `make bench`
lists each filter of the one-report path and the timers that is such a
read, with its collection's size, so a new one shows up in the table.
"""

# The commands whose filter picks documents, and where the filter is.
FILTERS = {"find": lambda c: c.get("filter"),
           "count": lambda c: c.get("query"),
           "findAndModify": lambda c: c.get("query"),
           "update": lambda c: (c.get("updates") or [{}])[0].get("q"),
           "delete": lambda c: (c.get("deletes") or [{}])[0].get("q")}


def filter_of(command):
    """(command name, collection, filter) of a profiled command, or None."""
    name = next(iter(command or {}), None)
    if name not in FILTERS or not isinstance(command.get(name), str):
        return None
    flt = FILTERS[name](command)
    return (name, command[name], flt) if isinstance(flt, dict) else None


def shape(flt):
    """A filter's field names: filters of one shape plan alike."""
    return ",".join(sorted(flt))


def by_id(flt):
    """SecantusDB finds these by `_id` whatever else the filter says."""
    value = flt.get("_id", ...)
    if value is ... or (isinstance(value, dict) and set(value) - {"$eq", "$in"}):
        return False
    return True


def scans(client, samples):
    """[{"op", "fields", "documents"}] of the sampled filters that read
    their whole collection; samples: {key: (database, collection, filter)}.
    An empty filter is a whole read by intent (the unit tree) and not listed."""
    found = []
    for key, (db, collection, flt) in sorted(samples.items()):
        if not flt or by_id(flt):
            continue
        plan = client[db].command("explain", {"find": collection, "filter": flt})
        if plan.get("queryPlanner", {}).get("winningPlan", {}).get("stage") == "COLLSCAN":
            found.append({"op": key, "fields": shape(flt),
                          "documents": client[db][collection].estimated_document_count()})
    return found
