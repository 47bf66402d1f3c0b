"""Deliveries on record: one document per notice and channel, with every
attempt it took. The one module here that speaks pymongo for them.

A delivery is due when it is `pending` with a `next_attempt_at` in the past;
one waiting for its predecessor on the same channel and subject has none.
A claim is one conditional update_many over a batch that stamps the
deliveries it takes; a result is an update_one on {_id, tries}, so a try
whose lease ran out and was taken again is recorded once.
"""
import uuid

from pymongo.errors import DuplicateKeyError

from services.notify.channel_rules import FINISHED
from shared import pages

DELIVERIES = "deliveries"
# GET /deliveries, newest first; `_id` last so the order is total.
DELIVERY_ORDER = [("created_at", -1), ("_id", -1)]


class DeliveryStore:
    INDEXES = {DELIVERIES: [([("status", 1), ("next_attempt_at", 1)], {}),
                            ([("after", 1)], {"sparse": True}),
                            ([("created_at", -1), ("_id", -1)], {}),
                            ([("status", 1), ("created_at", -1), ("_id", -1)], {}),
                            ([("company_id", 1), ("created_at", -1), ("_id", -1)], {}),
                            ([("event_id", 1)], {}),
                            # a company's log of one endpoint (GET /webhooks/{id}/deliveries)
                            ([("company_id", 1), ("endpoint_id", 1), ("created_at", -1),
                              ("_id", -1)], {})]}
    LOG_ORDER = [("created_at", -1), ("_id", -1)]

    def __init__(self, db, collection=DELIVERIES):
        # Alerts to police keep their deliveries apart (alert_store.py), in a
        # collection of the same shape: never mixed with a company's.
        self.coll = db[collection]

    def add(self, deliveries, now):
        """Insert (a second worker's identical insert is a no-op), then wake
        any whose predecessor finished already. Insert first, check second,
        and the finisher wakes after it marks itself: no wake-up is lost."""
        for delivery in deliveries:
            try:
                self.coll.insert_one(delivery)
            except DuplicateKeyError:
                pass
        for delivery in deliveries:
            if delivery["after"]:
                before = self.coll.find_one({"_id": delivery["after"]}, {"status": 1})
                if before is None or before["status"] in FINISHED:
                    self.wake(delivery["_id"], now)

    def wake(self, delivery_id, now):
        self.coll.update_one({"_id": delivery_id, "status": "pending",
                              "next_attempt_at": None},
                             {"$set": {"next_attempt_at": now}})

    def wake_successors(self, delivery_ids, now):
        """Make due the deliveries waiting for these finished ones; how many."""
        return self.coll.update_many({"after": {"$in": list(delivery_ids)},
                                      "status": "pending", "next_attempt_at": None},
                                     {"$set": {"next_attempt_at": now}}).modified_count

    def wake_stranded(self, now, older_than, limit=100):
        """Wake waiting deliveries whose predecessor is finished: the finisher
        wakes its successors right after it marks itself, and a crash between
        the two would otherwise leave them waiting for ever."""
        woken = 0
        # The filter is the index's two fields, the age judged here: with
        # created_at in it SecantusDB fits no index and reads the whole log
        # (issue 19). The index holds equal keys in the order they came, so
        # the oldest waiting are read first, as the age in the filter did.
        waiting_now = self.coll.find({"status": "pending", "next_attempt_at": None},
                                     {"after": 1, "created_at": 1}).limit(limit)
        for waiting in [w for w in waiting_now if w["created_at"] <= now - older_than]:
            before = (self.coll.find_one({"_id": waiting["after"]}, {"status": 1})
                      if waiting.get("after") else None)
            if before is None or before["status"] in FINISHED:
                self.wake(waiting["_id"], now)
                woken += 1
        return woken

    def due(self, now, limit):
        return list(self.coll.find({"status": "pending", "next_attempt_at": {"$lte": now}})
                    .sort("next_attempt_at", 1).limit(limit))

    def claim(self, due, now, lease_until):
        """Take due deliveries for one try each, in two round trips: one
        conditional update marks them with this claim, one read returns
        those it won, as they stand now (another instance takes the rest)."""
        claim = uuid.uuid4().hex
        ids = [d["_id"] for d in due]
        self.coll.update_many(
            {"_id": {"$in": ids}, "status": "pending", "next_attempt_at": {"$lte": now}},
            {"$set": {"next_attempt_at": lease_until, "claim": claim}})
        return list(self.coll.find({"_id": {"$in": ids}, "claim": claim}))

    def record(self, delivery, attempt, fields):
        """The outcome of the claimed try: one attempt more on record."""
        self.coll.update_one({"_id": delivery["_id"], "tries": delivery["tries"]},
                             {"$set": fields, "$inc": {"tries": 1},
                              "$push": {"attempts": attempt}})

    def replay(self, delivery_id, now, scope=None, remember=None):
        """A dead letter gets a fresh round of tries; False if it is not dead
        (or not within `scope`, a company's endpoint). `remember` is the
        Idempotency-Key's part of the same update."""
        result = self.coll.update_one(
            dict(scope or {}, _id=delivery_id, status="dead"),
            {"$set": {"status": "pending", "tries": 0, "next_attempt_at": now,
                      "dead_at": None, "gone": None}, "$inc": {"replays": 1},
             **(remember or {})})
        return result.modified_count == 1

    def log(self, scope, status, limit, after):
        """A page of one endpoint's deliveries, newest first."""
        query = dict(scope, **({"status": status} if status else {}))
        return pages.read(self.coll, query, self.LOG_ORDER, limit, after, "webhook-deliveries")

    def get_within(self, scope, delivery_id):
        return self.coll.find_one(dict(scope, _id=delivery_id))

    def get(self, delivery_id):
        return self.coll.find_one({"_id": delivery_id})

    def listing(self, query, limit, after):
        """One page of the deliveries matching `query`, and the next cursor."""
        return pages.read(self.coll, query, DELIVERY_ORDER, limit, after, "deliveries",
                          by_time=True)
