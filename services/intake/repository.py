"""Intake's storage: the one module here that speaks pymongo."""
from pymongo import ReturnDocument
from pymongo.errors import DuplicateKeyError

from shared import idempotency, outbox

REPORTS = "reports"
COMPANIES = "companies"


class Repository:
    INDEXES = {
        "officers": [([("unit_id", 1)], {})],
        COMPANIES: [([("credit_code", 1)], {"unique": True})] + outbox.INDEXES,
        REPORTS: [
            ([("company_id", 1), ("received_at", -1)], {}),
            ([("owner_unit_path", 1), ("received_at", -1)], {}),
            ([("idempotency_key", 1)], {"unique": True, "sparse": True}),
            ([("reference", 1)], {"unique": True}),
        ] + outbox.INDEXES,
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
        return self.db[collection].find_one({"_id": _id})

    def unit_parents(self):
        return {u["_id"]: u.get("parent_unit_id")
                for u in self.db.units.find({}, {"parent_unit_id": 1})}

    def next_number(self, name):
        """A counter; tiny collection, so find_one_and_update is cheap here."""
        doc = self.db.counters.find_one_and_update(
            {"_id": name}, {"$inc": {"n": 1}}, upsert=True,
            return_document=ReturnDocument.AFTER)
        return doc["n"]

    # -- reports ---------------------------------------------------------
    def insert_report(self, doc):
        """Insert a new report; on a repeated Idempotency-Key, the earlier one."""
        try:
            self.db[REPORTS].insert_one(doc)
            return doc, True
        except DuplicateKeyError:
            if doc.get("idempotency_key"):
                earlier = self.db[REPORTS].find_one(
                    {"idempotency_key": doc["idempotency_key"]})
                if earlier:
                    return earlier, False
            raise

    def report(self, report_id):
        return self.db[REPORTS].find_one({"_id": report_id}, {"outbox": 0})

    def reports(self, query, limit):
        return list(self.db[REPORTS].find(query, {"outbox": 0})
                    .sort("received_at", -1).limit(limit))

    def update_report(self, report, update):
        """Apply `update` only if nobody changed the report since it was read."""
        result = self.db[REPORTS].update_one(
            {"_id": report["_id"], "version": report["version"]},
            outbox.merge(update, {"$inc": {"version": 1}}))
        return result.modified_count == 1
