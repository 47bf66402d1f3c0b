"""Case supervision's storage: the one module here that speaks pymongo."""
from pymongo import ReturnDocument
from pymongo.errors import DuplicateKeyError

from shared import idempotency, outbox

CASES = "cases"


class Repository:
    INDEXES = {
        CASES: [
            ([("report_id", 1)], {"unique": True}),
            ([("case_number", 1)], {"unique": True}),
            ([("company_id", 1), ("opened_at", -1)], {}),
            ([("unit_path", 1), ("opened_at", -1)], {}),
        ] + outbox.INDEXES,
        **idempotency.INDEXES,
    }

    def __init__(self, db):
        self.db = db

    def next_number(self, name):
        """A counter; tiny collection, so find_one_and_update is cheap here."""
        doc = self.db.counters.find_one_and_update(
            {"_id": name}, {"$inc": {"n": 1}}, upsert=True,
            return_document=ReturnDocument.AFTER)
        return doc["n"]

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

    def cases(self, query, limit):
        return list(self.db[CASES].find(query, {"outbox": 0})
                    .sort("opened_at", -1).limit(limit))
