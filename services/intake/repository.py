"""Intake's storage: the one module here that speaks pymongo."""
from pymongo.errors import DuplicateKeyError

from shared import idempotency, outbox
from shared.mongo import next_number

REPORTS = "reports"
COMPANIES = "companies"
# The sweeps read through these: their cost follows what is due, not what is open.
CLOCKS = ("ack_next_at", "transfer_next_at", "same_day_due_at")
SWEEP_BATCH = 200


class Repository:
    INDEXES = {
        "officers": [([("unit_id", 1)], {})],
        COMPANIES: [([("credit_code", 1)], {"unique": True})] + outbox.INDEXES,
        REPORTS: [
            ([("company_id", 1), ("received_at", -1)], {}),
            # Likely duplicates: what a new report is compared with, and nothing else.
            ([("company_id", 1), ("incident_type", 1), ("estimated_loss", 1),
              ("occurred_at", 1)], {}),
            ([("owner_unit_path", 1), ("received_at", -1)], {}),
            ([("transfer.to_unit_path", 1)], {"sparse": True}),
            ([("idempotency_key", 1)], {"unique": True, "sparse": True}),
            ([("reference", 1)], {"unique": True}),
        ] + [([(clock, 1)], {"sparse": True}) for clock in CLOCKS] + outbox.INDEXES,
        **idempotency.INDEXES,
    }

    def __init__(self, db):
        self.db = db

    # -- organisation ----------------------------------------------------
    def insert(self, collection, doc):
        """Insert; False when the id (or another unique key) exists."""
        try:
            self.db[collection].insert_one(doc)
            return True
        except DuplicateKeyError:
            return False

    def get(self, collection, _id):
        return self.db[collection].find_one({"_id": _id}, {"outbox": 0})

    def units(self):
        """The whole unit tree: a few hundred units at most."""
        return {u["_id"]: u for u in self.db.units.find({})}

    def next_number(self, name):
        return next_number(self.db, name)

    # -- reports ---------------------------------------------------------
    def insert_report(self, doc):
        """Insert a new report; on a repeated Idempotency-Key, the earlier one."""
        try:
            self.db[REPORTS].insert_one(doc)
            return doc, True
        except DuplicateKeyError:
            if doc.get("idempotency_key"):
                earlier = self.db[REPORTS].find_one(
                    {"idempotency_key": doc["idempotency_key"]}, {"outbox": 0})
                if earlier:
                    return earlier, False
            raise

    def report(self, report_id):
        return self.db[REPORTS].find_one({"_id": report_id}, {"outbox": 0})

    def reports(self, query, limit):
        return list(self.db[REPORTS].find(query, {"outbox": 0})
                    .sort("received_at", -1).limit(limit))

    def duplicate_candidates(self, company_id, incident_type, amount, occurred_at, window):
        """Open reports of the same company, type and amount, close in time.
        The amount is in the query: without it a busy company's first 50
        reports of a type could hide the one that is a duplicate, and every
        report read all of its company's reports."""
        return list(self.db[REPORTS].find(
            {"company_id": company_id, "incident_type": incident_type,
             "estimated_loss": amount, "status": {"$ne": "merged"},
             "occurred_at": {"$gte": occurred_at - window, "$lte": occurred_at + window}},
            {"incident_type": 1, "estimated_loss": 1, "occurred_at": 1, "status": 1}
        ).limit(50))

    def update_report(self, report, update):
        """Apply `update` only if nobody changed the report since it was read."""
        result = self.db[REPORTS].update_one(
            {"_id": report["_id"], "version": report["version"]},
            outbox.merge(update, {"$inc": {"version": 1}}))
        return result.modified_count == 1

    def link_merged(self, target_id, report_id):
        self.db[REPORTS].update_one({"_id": target_id},
                                    {"$addToSet": {"merged_reports": report_id}})

    def due(self, clock, now):
        """Reports whose `clock` has run out, oldest first."""
        return list(self.db[REPORTS].find({clock: {"$lte": now}}, {"outbox": 0})
                    .sort(clock, 1).limit(SWEEP_BATCH))
