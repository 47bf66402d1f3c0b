"""Notify's storage for companies, subscriptions, the events taken in, each
subject's release cursor and the notices; deliveries live in delivery_store.py.

Every claim is an update_one on a precise filter whose modified_count says
who won (SecantusDB scans a whole collection on find_one_and_update).
"""
from collections import OrderedDict
from datetime import timedelta

from pymongo.errors import DuplicateKeyError

from services.notify.alert_store import AlertStore, cursor_of
from services.notify.delivery_store import DeliveryStore
from services.notify.endpoint_store import EndpointStore
from shared import clock, idempotency_key, inbox
from shared.kept import Kept

NOTICES = "notices"
FIRST_WINDOW = timedelta(seconds=1)
# A feed page reads the span its cursor looks back over (its settling time:
# a handful of notices) with the page, in one read that has room for this
# many more than the page; a busier span is read apart.
SPAN_ROOM = 100
TICK = timedelta(milliseconds=1)
EVENTS = "events"
SUBJECTS = "subjects"


# (database, subject) -> its document as this process last read it or moved
# both its cursors, newest last: a report's next event, taken here a moment
# later (taking.one_at_a_time), guesses from it instead of reading it.
_SEEN: "OrderedDict[tuple[str, str], dict]" = OrderedDict()
SEEN_MAX = 10_000


class Repository:
    INDEXES = {
        # A notice's `_id` is its event's (ordering.notice_id): that index
        # alone keeps an event from telling twice.
        NOTICES: [([("company_id", 1), ("created_at", 1), ("_id", 1)], {})],
        EVENTS: [([("subject", 1), ("sequence", 1)], {}),
                 ([("state", 1), ("received_at", 1)], {}),
                 # held openings (openings_held_before): every field of the
                 # filter in one index, or SecantusDB reads them all
                 ([("state", 1), ("type", 1), ("received_at", 1)], {}),
                 ([("alert_state", 1), ("received_at", 1)], {})],
        SUBJECTS: [([("follow_up", 1), ("quiet_due_at", 1)], {})],
        **DeliveryStore.INDEXES,
        **AlertStore.INDEXES,   # alerts to police: collections of their own
        **EndpointStore.INDEXES,
        **inbox.INDEXES,
        **idempotency_key.INDEXES,
    }
    # Indexes no query needs, each rewritten by every write of its
    # collection (issue 19): a notice's (company, event) repeated its `_id`.
    # And a case's lead by its report's id: the case's id is made from it
    # (alert_store.lead_of).
    DROPPED_INDEXES = {NOTICES: ["company_id_1_event_id_1"],
                       SUBJECTS: ["alerts.report_id_1"]}

    def __init__(self, db, memory=None):
        self.db = db
        # Companies, subscriptions, endpoints, rosters, robots and alert
        # settings: read from this process's copies while unchanged (kept.py;
        # `memory`: another process's copies, for a test of two instances).
        self.kept = Kept(db, memory)
        self.deliveries = DeliveryStore(db)
        self.alerts = AlertStore(db, self.kept)
        self.endpoints = EndpointStore(db, self.kept)

    # -- companies and their channels ---------------------------------------
    def save_company(self, profile, version):
        """Keep the newest profile: an older event never overwrites a newer one."""
        try:
            self.db.companies.update_one(
                {"_id": profile["company_id"], "version": {"$lt": version}},
                {"$set": {**profile, "version": version}}, upsert=True)
        except DuplicateKeyError:
            return  # a newer profile is stored already
        self.kept.changed()

    def company(self, company_id):
        return self.kept.get("companies", company_id, lambda: self.db.companies.find_one(
            {"_id": company_id}) or {})

    def subscription(self, company_id):
        return self.kept.get("subscriptions", company_id,
                             lambda: self.db.subscriptions.find_one({"_id": company_id}))

    def create_subscription(self, company_id, fields):
        """False when the company already has one (a concurrent first PUT)."""
        try:
            self.db.subscriptions.insert_one({"_id": company_id, **fields})
        except DuplicateKeyError:
            return False
        self.kept.changed()
        return True

    def update_subscription(self, company_id, fields):
        self.db.subscriptions.update_one({"_id": company_id}, {"$set": fields})
        self.kept.changed()

    def subscription_webhook_gone(self, sub, now):
        """Turn the subscription's webhook off after a 410, once, unless the
        company PUT another since the try (True for the try that did it)."""
        result = self.db.subscriptions.update_one(
            {"_id": sub["_id"], "webhook_url": sub["webhook_url"],
             "updated_at": sub.get("updated_at"), "webhook_gone_at": None},
            {"$set": {"webhook_gone_at": now}})
        return self.kept.changed(result.modified_count == 1)

    # -- events taken in, and each subject's cursor --------------------------
    @staticmethod
    def event_record(event, now, released=False, alerted=False):
        """The record of an event taken in: held for the notices and the
        alerts (alert_order.py keeps its own place in the same order), or
        released already for either."""
        return {
            "_id": event["event_id"], "subject": event["subject"],
            "sequence": event["sequence"], "type": event["type"],
            "source": event["source"], "occurred_at": event["occurred_at"],
            "data": event["data"], "received_at": now,
            **({"state": "released", "released_at": now} if released else {"state": "held"}),
            **({"alert_state": "released", "alerted_at": now} if alerted
               else {"alert_state": "held"})}

    def store_event(self, record):
        """Insert an event's record; False when it was stored already.

        The event's own id is its `_id`, so this one insert is also notify's
        inbox record of it (issue 19): a redelivery, or a second instance
        taking the same message, is refused here."""
        try:
            self.db[EVENTS].insert_one(record)
            return True
        except DuplicateKeyError:
            return False

    def mark_held(self, subject_id, sequence):
        """After an event stored to wait for the notices: the subject's
        `held` (the highest sequence ever stored so) raised to it, then the
        subject read as it stands. Of this and a release moving the notices'
        cursor to just before it, one sees the other (ordering.py, "held"):
        the release, conditional on `held` not past its cursor, fails and
        reads the next place; or this reads the cursor moved."""
        try:
            self.db[SUBJECTS].update_one({"_id": subject_id}, {"$max": {"held": sequence}},
                                         upsert=True)
        except DuplicateKeyError:   # two first upserts at once: the other made it
            self.db[SUBJECTS].update_one({"_id": subject_id}, {"$max": {"held": sequence}})
        return self.subject(subject_id)

    def event_at(self, subject, sequence, in_hand=None):
        """The stored event at `sequence`; `in_hand` (a record this handling
        stored) instead of reading it back when it is that one."""
        if in_hand and in_hand["subject"] == subject and in_hand["sequence"] == sequence:
            return in_hand
        return self.db[EVENTS].find_one({"subject": subject, "sequence": sequence})

    def first_held_after(self, subject, sequence):
        return self.db[EVENTS].find_one(
            {"subject": subject, "sequence": {"$gt": sequence}}, sort=[("sequence", 1)])

    def mark_released(self, event_id, now):
        self.db[EVENTS].update_one({"_id": event_id, "state": "held"},
                                   {"$set": {"state": "released", "released_at": now}})

    def held_up_to(self, subject, sequence):
        """Held events at or below the cursor: late arrivals, or strays."""
        return list(self.db[EVENTS].find({"subject": subject, "state": "held",
                                          "sequence": {"$lte": sequence}}))

    def events_at(self, subject, sequence):
        return self.db[EVENTS].count_documents({"subject": subject, "sequence": sequence})

    def held_before(self, cutoff, limit=100):
        """Subjects with an event held since before `cutoff`."""
        held = self.db[EVENTS].find({"state": "held", "received_at": {"$lte": cutoff}},
                                    {"subject": 1}).limit(limit)
        return sorted({e["subject"] for e in held})

    def openings_held_before(self, cutoff, limit=100):
        """Case openings held since before `cutoff` (ordering.py)."""
        return list(self.db[EVENTS].find(
            {"state": "held", "received_at": {"$lte": cutoff}, "type": "case_opened"},
            {"subject": 1, "sequence": 1}).limit(limit))

    def mark_many(self, fields_of, now):
        """The release marks of many events ({event id: {"state",
        "alert_state"}}) in at most three updates, one per kind of mark
        (issue 19: a mark an event was six writes, then one; now a share of
        one). A mark only ever turns held into released, so the update that
        sets both needs no condition; one alone keeps its own. (Not an `$or`
        of the two: SecantusDB reads a filter with `$or` by scanning the
        collection — 45 ms an update at 3,000 events. `$in` on `_id` uses
        the index.)"""
        kinds: dict[tuple[bool, bool], list[str]] = {}
        for event_id, fields in fields_of.items():
            kinds.setdefault(("state" in fields, "alert_state" in fields), []).append(event_id)
        for (released, alerted), event_ids in kinds.items():
            marks = {**({"state": "released", "released_at": now} if released else {}),
                     **({"alert_state": "released", "alerted_at": now} if alerted else {})}
            held = {} if released and alerted else {next(iter(marks)): "held"}
            self.db[EVENTS].update_many({"_id": {"$in": event_ids}, **held}, {"$set": marks})

    def mark_alerted(self, event_id, now):
        self.db[EVENTS].update_one({"_id": event_id, "alert_state": "held"},
                                   {"$set": {"alert_state": "released", "alerted_at": now}})

    def alerts_held_up_to(self, subject, sequence):
        return list(self.db[EVENTS].find({"subject": subject, "alert_state": "held",
                                          "sequence": {"$lte": sequence}}))

    def alerts_held_before(self, cutoff, limit=100):
        held = self.db[EVENTS].find({"alert_state": "held", "received_at": {"$lte": cutoff}},
                                    {"subject": 1}).limit(limit)
        return sorted({e["subject"] for e in held})

    @staticmethod
    def upgrade(db):
        AlertStore.upgrade(db)

    def subject(self, subject_id):
        return subject_of(subject_id, self._seen(subject_id, self.db[SUBJECTS].find_one(
            {"_id": subject_id})))

    def subject_and_cursor(self, subject_id):
        """The subject's notices' and alerts' cursors, in one read: they
        share its document (alert_store.py)."""
        found = self._seen(subject_id, self.db[SUBJECTS].find_one({"_id": subject_id}))
        return subject_of(subject_id, found), cursor_of(subject_id, found)

    def remembered(self, subject_id):
        """The subject's document as this process last read or moved it
        (None: not lately): where its cursors stood then, so at least
        there now. Only for a guess a conditional write then checks."""
        return _SEEN.get((self.db.name, subject_id))

    def _seen(self, subject_id, document):
        if document is not None:
            key = (self.db.name, subject_id)
            _SEEN[key] = dict(document)
            _SEEN.move_to_end(key)
            while len(_SEEN) > SEEN_MAX:
                _SEEN.popitem(last=False)
        return document

    def advance_subject(self, subject, state):
        """Write the subject's next state if nobody moved it since it was read
        (its alert cursor, on the same document, is not touched): the
        subject as the write left it, or None."""
        if subject["v"] == 0:   # the document may hold the alerts' cursor, or `held`
            moved = self._move(subject, {"v": {"$exists": False}},
                               {"$set": {"v": 1, **state}, "$max": {"held": 0}}, state,
                               upsert=True)
        else:
            moved = self._move(subject, {"v": subject["v"]},
                               {"$set": state, "$inc": {"v": 1}}, state)
        if moved is None:
            return None
        return self._seen(subject["_id"], dict(moved, v=subject["v"] + 1))

    def _move(self, subject, versions, update, state, upsert=False, alerts=None):
        """A conditional move of the subject's document, read at `versions`;
        the subject as it left it (not read back), with `held` an upper
        bound of the one stored (absent: not known), or None when another
        handling moved it first.

        SecantusDB runs a findAndModify as a scan of the collection, so the
        move does not answer `held`: it is made on the condition that `held`
        is not past what this handling knows of it (the cursor it sets, or
        more as read); when that fails (an event stored to wait since, or a
        document from before `held`) the document is read and the move made
        again on what it says."""
        where = {"_id": subject["_id"], **versions}
        released = state.get("released")
        # None: a move that leaves the place (a follow-up, a late one), or a
        # document from before `held`: made on its versions alone.
        bound = None if released is None else max(subject.get("held") or 0, released)
        for _ in range(3):
            condition = where if bound is None else dict(where, held={"$lte": bound})
            try:
                done = self.db[SUBJECTS].update_one(condition, update, upsert=upsert)
            except DuplicateKeyError:   # (an upsert: the document is there)
                done = None
            if done is not None and (done.modified_count or done.upserted_id is not None):
                moved = dict(subject, **state)
                moved.pop("held", None)
                if bound is not None:
                    moved["held"] = bound
                if alerts is not None:
                    moved["alerts"] = on_subject(alerts)
                return moved
            found = None if bound is None else self.db[SUBJECTS].find_one(where)
            if found is None:
                return None   # another handling moved it
            bound = max(found["held"], released) if "held" in found else None
        return None

    def move_cursors(self, subject, state, cursor, alert_state):
        """Move the notices' cursor to `state` and the alerts' to
        `alert_state` (None: not that one), each only if nobody moved it
        since it was read: in one write when both were read as they are
        (nearly always), else each on its own. The cursors as moved (None:
        not asked, or another handling moved it first)."""
        notices: dict | None
        alerts: dict | None
        if state is not None and alert_state is not None:
            moved = None
            alerts = dict(cursor, **alert_state, v=cursor["v"] + 1)
            if subject["v"] == 0 and cursor["v"] == 0:
                try:   # new, as nearly always: `held` from 0
                    self.db[SUBJECTS].insert_one({"_id": subject["_id"], "v": 1, **state,
                                                  "held": 0,
                                                  "alerts": {"v": 1, **alert_state}})
                    moved = dict(subject, **state, held=0, alerts=on_subject(alerts))
                except DuplicateKeyError:   # made by mark_held alone (read its `held`), or moved
                    found = self.db[SUBJECTS].find_one({"_id": subject["_id"]}) or {}
                    moved = self._move(
                        dict(subject, held=found.get("held")),
                        {"v": {"$exists": False}, "alerts": {"$exists": False}},
                        {"$set": {"v": 1, **state, "alerts": {"v": 1, **alert_state}}},
                        state, alerts=alerts)
            elif subject["v"] and cursor["v"]:
                moved = self._move(
                    subject, {"v": subject["v"], "alerts.v": cursor["v"]},
                    {"$set": {**state, **{f"alerts.{k}": v for k, v in alert_state.items()}},
                     "$inc": {"v": 1, "alerts.v": 1}}, state, alerts=alerts)
            if moved is not None:
                return self._seen(subject["_id"], dict(moved, v=subject["v"] + 1)), alerts
        # One moved by another handling since (or only one asked): each on
        # its own, by its own version.
        notices = self.advance_subject(subject, state) if state is not None else None
        alerts = (dict(cursor, **alert_state, v=cursor["v"] + 1)
                  if alert_state is not None and self.alerts.advance_cursor(cursor, alert_state)
                  else None)
        if notices and alerts:   # the subject as moved carries its alert cursor
            notices["alerts"] = on_subject(alerts)
        return notices, alerts

    def quiet_cases(self, now, limit=100):
        return list(self.db[SUBJECTS].find(
            {"follow_up": True, "quiet_due_at": clock.due(now)}).limit(limit))

    # -- notices ------------------------------------------------------------
    def add_notice(self, notice):
        """False when this event already gave this company its notice."""
        try:
            self.db[NOTICES].insert_one(notice)
            return True
        except DuplicateKeyError:
            return False

    def notices(self, company_id, after, limit, until):
        """The company's notices after the cursor (time, id), oldest first,
        before `until`. SecantusDB reads every match of a query before it
        sorts and limits, so the range after the cursor is read in windows
        of doubling width: a page costs about what it returns, however long
        the feed, instead of everything after the cursor."""
        if not after:  # the first page: one query (a new client, a short feed)
            return self._notices_in(company_id, {"$lt": until}, limit)
        at, notice_id = after
        found = list(self.db[NOTICES].find(  # the rest of the cursor's own instant
            {"company_id": company_id, "created_at": at, "_id": {"$gt": notice_id}},
            {"envelope": 0}).sort("_id", 1).limit(limit)) if at < until else []
        return self._windows(company_id, found, at, FIRST_WINDOW, timedelta(0), limit, until)

    def _windows(self, company_id, found, low, width, edge, limit, until):
        while len(found) < limit and low < until:
            high = min(low + width, until)
            # Windows are [low, high): SecantusDB reads an index's $lte as $lt,
            # and its $gte as $gt, when more keys follow the field, so a notice
            # on a window's edge would be in neither window. Times are stored
            # to the millisecond: "after low minus 1 ms" is "from low".
            found += self._notices_in(company_id, {"$gt": low - edge, "$lt": high},
                                      limit - len(found))
            low, width, edge = high, width * 2, TICK
        return found

    def feed_rows(self, company_id, since, after, limit, until):
        """What the feed's next page is made of: the company's notices stamped
        after `since` up to the cursor's place `after` (time, id) — the span
        the cursor looks back over; none when `since` is None — and up to
        `limit` after the place, before `until`; each oldest first.

        One read, mostly (issue 19): the span and the first window after the
        place together, split here. Only when they hold more than a page and
        SPAN_ROOM more does it read them apart, as notices_between() and
        notices() do."""
        if not after:
            return [], self.notices(company_id, None, limit, until)
        at, notice_id = after
        high, room = min(at + FIRST_WINDOW, until), limit + SPAN_ROOM
        if high > at and room > 0:   # (a limit of 0 would be none)
            low = at - TICK if since is None else min(since, at - TICK)
            rows = self._notices_in(company_id, {"$gt": low, "$lt": high}, room)
            if len(rows) < room:   # every notice of (low, high): split at the place
                span = [n for n in rows if since is not None and n["created_at"] > since
                        and (n["created_at"], n["_id"]) <= after]
                fresh = [n for n in rows if (n["created_at"], n["_id"]) > after][:limit]
                return span, self._windows(company_id, fresh, high, FIRST_WINDOW * 2, TICK,
                                           limit, until)
        span = self.notices_between(company_id, since, at) if since is not None else []
        return span, self.notices(company_id, after, limit, until)

    def notices_between(self, company_id, low, high):
        """The company's notices stamped after `low`, up to `high` (a span of
        the feed's settling time: a handful)."""
        return self._notices_in(company_id, {"$gt": low, "$lt": high + TICK}, 0)

    def _notices_in(self, company_id, span, limit):
        return list(self.db[NOTICES].find({"company_id": company_id, "created_at": span},
                                          {"envelope": 0})
                    .sort([("created_at", 1), ("_id", 1)]).limit(limit))

    def notice(self, notice_id):
        return self.db[NOTICES].find_one({"_id": notice_id})

    def notices_by_id(self, notice_ids):
        return {n["_id"]: n for n in self.db[NOTICES].find({"_id": {"$in": list(notice_ids)}})}

    def subscriptions(self, company_ids):
        return {s["_id"]: s for s in
                self.db.subscriptions.find({"_id": {"$in": list(company_ids)}})}


def on_subject(cursor):
    """An alert cursor as the subject's document holds it (cursor_of's
    inverse: without the subject's id)."""
    return {k: v for k, v in cursor.items() if k != "_id"}


def subject_of(subject_id, document):
    """The notices' side of a subject's document (None: none yet); one the
    alerts' cursor made first has no notices' cursor yet."""
    return {"_id": subject_id, "v": 0, "released": 0, **(document or {})}
