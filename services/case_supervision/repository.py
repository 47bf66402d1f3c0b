"""Case supervision's storage: the one module here that speaks pymongo."""
import time
from datetime import datetime

from pymongo.errors import DuplicateKeyError

from services.case_supervision.accountability import received_fact_key
from shared import aggregate, auth, clock, idempotency_key, inbox, outbox, pages
from shared.events import case_id_for
from shared.mongo import backfill, next_from_block

CASES = "cases"
LEDGER = "ledger"
FACTS = "facts"
UNITS = "units"
ENDED = ["concluded", "closed"]
# The lists, newest first; `_id` last so the order is total and a cursor
# lands on exactly one place.
CASE_ORDER = [("opened_at", -1), ("_id", -1)]
LEDGER_ORDER = [("created_at", -1), ("_id", -1)]
# What a case read leaves out: its unsent events, the facts it carries for
# the scorecard (read only through `facts`), and the keys it is listed
# under (auth.REACH: worked out again at each write).
HIDDEN = {"outbox": 0, "facts": 0, "first_events": 0, "reach": 0}
# The unit paths this process knows are stored, by (database, unit): a unit
# path changes only when intake moves a unit, and the next event about it
# carries the new path, which differs from what is kept here and is written
# then. Units are few (one per police station); the bound is a safeguard,
# and the age a database restored behind a running process heals within.
KNOWN_PATHS: dict[tuple[str, str], tuple[list[str], float]] = {}
KNOWN_PATHS_MAX = 10_000
KNOWN_PATH_SECONDS = 600

OLD_REACH_INDEXES = [f"{field}_1_opened_at_-1__id_-1"
                     for field in ("company_id", "unit_path", "unit_id", "team.members")]

CASE_NUMBER_BLOCK = 20     # case numbers a process reserves with one counter write


# The ids of the last events that changed a case (its `applied` list).
# Redelivery comes soon after a crash, an inbox retry within minutes, and a
# case takes few intake events: far fewer than this can come in between.
APPLIED_KEPT = 20


def applied_mark(event_id):
    """The update fragment that records an event on the case it changes, in
    the write conditional on the version read, which did not hold it."""
    return {"$push": {"applied": {"$each": [event_id], "$slice": -APPLIED_KEPT}}}


class StaleCase(Exception):
    """The case changed between read and write; the caller reads it again."""


class Repository:
    INDEXES = {
        CASES: [
            ([("case_number", 1)], {"unique": True}),
            ([("reference", 1)], {}),
            # The list's sort behind who may list a case (shared/auth.py
            # case_filter): a page reads the page, however deep in the list.
            ([(auth.REACH, 1), ("opened_at", -1), ("_id", -1)], {}),
            # The sweep reads through this: its cost follows the due cases.
            ([("next_due_at", 1)], {}),
            # A unit's scorecard reads the facts a case carries (see `facts`).
            ([("facts.unit_id", 1), ("facts.at", 1)], {"sparse": True}),
        ] + outbox.INDEXES,
        LEDGER: [([("unit_path", 1), ("created_at", -1), ("_id", -1)], {}),
                 ([("case_id", 1)], {})],
        FACTS: [([("unit_id", 1), ("at", 1)], {})],
        **inbox.INDEXES,
        **idempotency_key.INDEXES,
    }
    # No longer made, dropped where an earlier version made them: the four
    # lists' indexes auth.REACH replaced, each rewritten by every write of
    # a case (issue 19).
    DROPPED_INDEXES = {CASES: [*OLD_REACH_INDEXES,
                               # a report's case is found by the id it makes
                               "report_id_1",
                               # "not this version" is a whole read on
                               # SecantusDB however indexed (sweep.py)
                               "policy_version_1"],
                       # a report's received fact is read by its key now
                       FACTS: ["report_id_1_kind_1"]}

    def __init__(self, db):
        self.db = db

    def next_case_number(self, year):
        """Unique (its index says so), increasing per process, not gapless:
        one counter write in CASE_NUMBER_BLOCK cases (shared/mongo.py)."""
        return next_from_block(self.db, f"case-{year}", CASE_NUMBER_BLOCK)

    # -- cases -----------------------------------------------------------
    def insert_case(self, case):
        """False when this case is already open (a redelivered event)."""
        try:
            self.db[CASES].insert_one({**case, auth.REACH: auth.case_reach(case)})
            return True
        except DuplicateKeyError:
            return False

    def case(self, case_id):
        return self.db[CASES].find_one({"_id": case_id}, HIDDEN)

    def first_events(self, case_id):
        """The events the case was opened with (aggregate.created_by_event);
        None for a case opened before they were kept apart from its outbox."""
        found = self.db[CASES].find_one({"_id": case_id}, {"first_events": 1})
        return found.get("first_events") if found else None

    def case_of_report(self, report_id):
        """The case opened from a report, by the id the report's makes
        (events.case_id_for): no index of the cases' reports to write with
        every case (issue 19); that id is what keeps a report to one case."""
        case = self.db[CASES].find_one({"_id": case_id_for(report_id)}, HIDDEN)
        return case if case is not None and case["report_id"] == report_id else None

    def case_quoted(self, quoted):
        """The case with this case number, else the one opened from the report
        with this reference (both exact, both indexed)."""
        return (self.db[CASES].find_one({"case_number": quoted}, HIDDEN)
                or self.db[CASES].find_one({"reference": quoted}, HIDDEN))

    def cases(self, query, limit, after):
        """One page of the cases matching `query`, and the next cursor."""
        return pages.read(self.db[CASES], query, CASE_ORDER, limit, after, "cases",
                          HIDDEN, by_time=True)

    def save_case(self, case, source, change, now, also=()):
        """Store a change only if nobody changed the case since it was read:
        the claim that makes each step happen once across instances. What
        the relay needs of the write (aggregate.save), or None."""
        fields, entries, events = change
        # (Every write: a case an upgrade missed mends at its next.)
        fields = {**fields, auth.REACH: auth.case_reach({**case, **fields})}
        return aggregate.save(self.db[CASES], case, source, (fields, entries, events), now,
                              also)

    @classmethod
    def upgrade(cls, db):
        """Cases stored before auth.REACH get it, once, while the indexes it
        replaces stand (those go right after: mongo.py)."""
        backfill(db[CASES], OLD_REACH_INDEXES, {auth.REACH: None},
                 ("company_id", "unit_id", "unit_path", "team"), auth.REACH, auth.case_reach)

    def due_cases(self, now, limit):
        return list(self.db[CASES].find({"next_due_at": clock.due(now)}, HIDDEN)
                    .sort("next_due_at", 1).limit(limit))

    def cases_on_old_policy(self, version, limit):
        return list(self.db[CASES].find(
            {"policy_version": {"$ne": version}, "stage": {"$nin": ENDED}},
            HIDDEN).limit(limit))

    # -- facts, ledger, units --------------------------------------------
    def add_fact(self, fact):
        """Insert once; False when a redelivered event's fact is already
        there (its key is the event's source, subject and sequence)."""
        try:
            self.db[FACTS].insert_one(fact)
            return True
        except DuplicateKeyError:
            return False

    def facts(self, unit_id, start, end):
        """A unit's facts in [start, end): those of the facts collection and
        those its cases carry (written with the case, issue 19)."""
        window = {"$gte": start, "$lt": end}
        found = list(self.db[FACTS].find({"unit_id": unit_id, "at": window}))
        for case in self.db[CASES].find(
                {"facts": {"$elemMatch": {"unit_id": unit_id, "at": window}}}, {"facts": 1}):
            found += [f for f in case["facts"]
                      if f["unit_id"] == unit_id and _within(f["at"], start, end)]
        return found

    def received_at(self, report_ids):
        """When each report was received, by its `received` fact's key
        (accountability.received_fact_key): read by `_id`, with no index of
        the facts' report to write with every fact (issue 19)."""
        keys = [received_fact_key(report_id) for report_id in report_ids]
        return {f["report_id"]: f["at"] for f in self.db[FACTS].find(
            {"_id": {"$in": keys}}, {"report_id": 1, "kind": 1, "at": 1})
            if f["kind"] == "received"}

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
        """Each suffix of a path is a unit's own path: learn them all. Nearly
        always this process knows them already (KNOWN_PATHS): no read, no
        write. Else one read, and a write only for a unit whose stored path
        differs (a new unit, or one intake moved): a write costs an fsync."""
        path, name, now = list(path), self.db.name, time.monotonic()

        def known(i, unit):
            kept = KNOWN_PATHS.get((name, unit))
            return kept is not None and kept[0] == path[i:] and kept[1] > now
        unknown = [u for i, u in enumerate(path) if not known(i, u)]
        if not unknown:
            return
        stored = {u["_id"]: u.get("path")
                  for u in self.db[UNITS].find({"_id": {"$in": unknown}})}
        if len(KNOWN_PATHS) > KNOWN_PATHS_MAX:
            KNOWN_PATHS.clear()
        for i, unit in enumerate(path):
            if unit not in unknown:
                continue
            if stored.get(unit) != path[i:]:
                self.db[UNITS].update_one({"_id": unit}, {"$set": {"path": path[i:]}},
                                          upsert=True)
            KNOWN_PATHS[(name, unit)] = (path[i:], now + KNOWN_PATH_SECONDS)

    def units_under(self, unit_id, limit=500):
        """(unit, path) of `unit_id` and every unit below it this service has
        heard of (each event names its unit path); every unit when None."""
        query = {"path": unit_id} if unit_id else {}
        return [(u["_id"], u["path"]) for u in
                self.db[UNITS].find(query).sort("_id", 1).limit(limit)]

    def unit_path(self, unit_id):
        doc = self.db[UNITS].find_one({"_id": unit_id})
        return doc["path"] if doc else None


def _within(at, start, end):
    """start <= at < end, where a bound without a zone is UTC (as stored)."""
    def aware(t):
        return t if not isinstance(t, datetime) or t.tzinfo else t.replace(
            tzinfo=at.tzinfo)
    return aware(start) <= at < aware(end)
