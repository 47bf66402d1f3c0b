"""Notify's storage: the one module here that speaks pymongo."""
from pymongo.errors import DuplicateKeyError

from shared import idempotency

NOTICES = "notices"


class Repository:
    INDEXES = {
        NOTICES: [([("company_id", 1), ("event_id", 1)], {"unique": True}),
                  ([("company_id", 1), ("created_at", 1), ("_id", 1)], {})],
        **idempotency.INDEXES,
    }

    def __init__(self, db):
        self.db = db

    def save_company(self, profile, version):
        """Keep the newest profile: an older event never overwrites a newer one."""
        try:
            self.db.companies.update_one(
                {"_id": profile["company_id"], "version": {"$lt": version}},
                {"$set": {**profile, "version": version}}, upsert=True)
        except DuplicateKeyError:
            pass  # a newer profile is stored already

    def company(self, company_id):
        return self.db.companies.find_one({"_id": company_id}) or {}

    def add_notice(self, notice):
        """False when this event already gave this company its notice."""
        try:
            self.db[NOTICES].insert_one(notice)
            return True
        except DuplicateKeyError:
            return False

    def notices(self, company_id, after, limit):
        query = {"company_id": company_id}
        if after:
            at, notice_id = after
            query["$or"] = [{"created_at": {"$gt": at}},
                            {"created_at": at, "_id": {"$gt": notice_id}}]
        return list(self.db[NOTICES].find(query).sort([("created_at", 1), ("_id", 1)])
                    .limit(limit))
