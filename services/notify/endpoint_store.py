"""A company's webhook endpoints on record (collection `endpoints`): the one
module that speaks pymongo for them. Every read and change is scoped to
the company, so another company's endpoint is as unknown as none.

Each change is one conditional update_one; an endpoint remembers the
Idempotency-Keys of its last changes (shared/idempotency_key.py) in the
same write.
"""
from pymongo.errors import DuplicateKeyError

from shared import idempotency_key, pages
from shared.kept import Kept

ENDPOINTS = "endpoints"
ORDER = [("created_at", 1), ("_id", 1)]


class EndpointStore:
    INDEXES = {ENDPOINTS: [([("company_id", 1), ("created_at", 1), ("_id", 1)], {}),
                           ([("idempotency_key", 1)], {"unique": True, "sparse": True})]}

    def __init__(self, db, kept=None):
        self.coll = db[ENDPOINTS]
        # A company's enabled endpoints, read for every notice: kept while
        # unchanged (shared/kept.py); every change below says so.
        self.kept = kept or Kept(db)

    def create(self, doc):
        """(the endpoint, True), or (the one this request's key made, False)."""
        try:
            self.coll.insert_one(doc)
            self.kept.changed()
            return doc, True
        except DuplicateKeyError:
            found = self.coll.find_one({"idempotency_key": doc.get("idempotency_key")})
            if found is None:
                raise
            return found, False

    def by_key(self, key):
        """The endpoint an Idempotency-Key (already scoped to its principal) made."""
        return self.coll.find_one({"idempotency_key": key})

    def count(self, company_id):
        return self.coll.count_documents({"company_id": company_id})

    def get(self, company_id, endpoint_id):
        return self.coll.find_one({"_id": endpoint_id, "company_id": company_id})

    def page(self, company_id, limit, after):
        return pages.read(self.coll, {"company_id": company_id}, ORDER, limit, after,
                          "webhooks")

    def enabled_for(self, company_id):
        if not company_id:
            return []
        # By company alone, the disabled left out here: with `enabled` in
        # the filter SecantusDB fits no index and reads every endpoint.
        return self.kept.get(ENDPOINTS, company_id, lambda: [
            e for e in self.coll.find({"company_id": company_id}) if e.get("enabled") is True])

    def by_ids(self, endpoint_ids):
        if not endpoint_ids:
            return {}
        return {e["_id"]: e for e in self.coll.find({"_id": {"$in": list(endpoint_ids)}})}

    def change(self, endpoint, fields, key, now, inc=None):
        """Apply `fields` if the endpoint is as it was read (its `v`): False
        when another change came between."""
        update = {"$set": dict(fields, updated_at=now), "$inc": dict(inc or {}, v=1),
                  **idempotency_key.remember(key, now)}
        result = self.coll.update_one({"_id": endpoint["_id"], "company_id":
                                       endpoint["company_id"], "v": endpoint.get("v", 0)},
                                      update)
        return self.kept.changed(result.modified_count == 1)

    def delete(self, company_id, endpoint_id):
        return self.kept.changed(self.coll.delete_one(
            {"_id": endpoint_id, "company_id": company_id}).deleted_count == 1)

    def disable_gone(self, endpoint, now):
        """Disable an endpoint whose receiver answered 410, once: True for the
        one try that did it (the others find it disabled already)."""
        result = self.coll.update_one(
            {"_id": endpoint["_id"], "enabled": True, "generation": endpoint.get("generation")},
            {"$set": {"enabled": False, "disabled_reason": "gone", "disabled_at": now,
                      "updated_at": now}, "$inc": {"v": 1}})
        return self.kept.changed(result.modified_count == 1)
