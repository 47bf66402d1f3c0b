"""Case supervision's storage: the one module here that speaks pymongo."""
from pymongo.errors import DuplicateKeyError

from shared import aggregate, idempotency_key, inbox, outbox, pages
from shared.mongo import next_number

CASES = "cases"
LEDGER = "ledger"
FACTS = "facts"
UNITS = "units"
ENDED = ["concluded", "closed"]
# The lists, newest first; `_id` last so the order is total and a cursor
# lands on exactly one place.
CASE_ORDER = [("opened_at", -1), ("_id", -1)]
LEDGER_ORDER = [("created_at", -1), ("_id", -1)]


class StaleCase(Exception):
    """The case changed between read and write; the caller reads it again."""


class Repository:
    INDEXES = {
        CASES: [
            ([("report_id", 1)], {"unique": True}),
            ([("case_number", 1)], {"unique": True}),
            ([("reference", 1)], {}),
            # The list's sort behind each reach (shared/auth.py case_filter):
            # a page reads the page, however deep in the list.
            ([("company_id", 1), ("opened_at", -1), ("_id", -1)], {}),
            ([("unit_path", 1), ("opened_at", -1), ("_id", -1)], {}),
            ([("unit_id", 1), ("opened_at", -1), ("_id", -1)], {}),
            ([("team.members", 1), ("opened_at", -1), ("_id", -1)], {}),
            # The sweep reads through this: its cost follows the due cases.
            ([("next_due_at", 1)], {}),
            ([("policy_version", 1)], {}),
        ] + outbox.INDEXES,
        LEDGER: [([("unit_path", 1), ("created_at", -1), ("_id", -1)], {}),
                 ([("case_id", 1)], {})],
        FACTS: [([("unit_id", 1), ("at", 1)], {}),
                ([("report_id", 1), ("kind", 1)], {})],
        **inbox.INDEXES,
        **idempotency_key.INDEXES,
    }

    def __init__(self, db):
        self.db = db

    def next_number(self, name):
        return next_number(self.db, name)

    # -- cases -----------------------------------------------------------
    def case_exists(self, case_id):
        return self.db[CASES].count_documents({"_id": case_id}, limit=1) > 0

    def insert_case(self, case):
        """False when this case is already open (a redelivered event)."""
        try:
            self.db[CASES].insert_one(case)
            return True
        except DuplicateKeyError:
            return False

    def case(self, case_id):
        return self.db[CASES].find_one({"_id": case_id}, {"outbox": 0})

    def case_of_report(self, report_id):
        return self.db[CASES].find_one({"report_id": report_id}, {"outbox": 0})

    def case_quoted(self, quoted):
        """The case with this case number, else the one opened from the report
        with this reference (both exact, both indexed)."""
        return (self.db[CASES].find_one({"case_number": quoted}, {"outbox": 0})
                or self.db[CASES].find_one({"reference": quoted}, {"outbox": 0}))

    def cases(self, query, limit, after):
        """One page of the cases matching `query`, and the next cursor."""
        return pages.read(self.db[CASES], query, CASE_ORDER, limit, after, "cases",
                          {"outbox": 0}, by_time=True)

    def save_case(self, case, source, change, now, also=()):
        """Store a change only if nobody changed the case since it was read:
        the claim that makes each step happen once across instances."""
        return aggregate.save(self.db[CASES], case, source, change, now, also)

    def due_cases(self, now, limit):
        return list(self.db[CASES].find({"next_due_at": {"$lte": now}}, {"outbox": 0})
                    .sort("next_due_at", 1).limit(limit))

    def cases_on_old_policy(self, version, limit):
        return list(self.db[CASES].find(
            {"policy_version": {"$ne": version}, "stage": {"$nin": ENDED}},
            {"outbox": 0}).limit(limit))

    # -- facts, ledger, units --------------------------------------------
    def add_fact(self, fact):
        """Insert once; a redelivered event's fact is already there."""
        try:
            self.db[FACTS].insert_one(fact)
        except DuplicateKeyError:
            pass

    def facts(self, unit_id, start, end):
        return list(self.db[FACTS].find({"unit_id": unit_id,
                                         "at": {"$gte": start, "$lt": end}}))

    def received_at(self, report_ids):
        return {f["report_id"]: f["at"] for f in self.db[FACTS].find(
            {"report_id": {"$in": list(report_ids)}, "kind": "received"})}

    def add_ledger_item(self, item):
        try:
            self.db[LEDGER].insert_one(item)
        except DuplicateKeyError:
            pass

    def ledger_item(self, item_id):
        return self.db[LEDGER].find_one({"_id": item_id})

    def ledger(self, query, limit, after):
        return pages.read(self.db[LEDGER], query, LEDGER_ORDER, limit, after, "ledger",
                          by_time=True)

    def resolve_ledger_item(self, item_id, fields):
        """Only an open item is closed off: two supervisors, one resolution."""
        return self.db[LEDGER].update_one({"_id": item_id, "status": "open"},
                                          {"$set": fields}).modified_count == 1

    def learn_unit_path(self, path):
        """Each suffix of a path is a unit's own path: learn them all. One read
        first: nearly always they are known, and a write costs an fsync."""
        known = {u["_id"]: u.get("path") for u in self.db[UNITS].find({"_id": {"$in": path}})}
        for i in range(len(path)):
            if known.get(path[i]) != path[i:]:
                self.db[UNITS].update_one({"_id": path[i]}, {"$set": {"path": path[i:]}},
                                          upsert=True)

    def units_under(self, unit_id, limit=500):
        """(unit, path) of `unit_id` and every unit below it this service has
        heard of (each event names its unit path); every unit when None."""
        query = {"path": unit_id} if unit_id else {}
        return [(u["_id"], u["path"]) for u in
                self.db[UNITS].find(query).sort("_id", 1).limit(limit)]

    def unit_path(self, unit_id):
        doc = self.db[UNITS].find_one({"_id": unit_id})
        return doc["path"] if doc else None
