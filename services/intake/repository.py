"""Intake's storage: the one module here that speaks pymongo."""
from datetime import timedelta

from pymongo.errors import DuplicateKeyError

from shared import aggregate, idempotency_key, inbox, outbox, pages, search
from shared.mongo import next_number

REPORTS = "reports"
COMPANIES = "companies"
ACCOUNTS = "accounts"
INVITES = "invites"
REFRESH_TOKENS = "refresh_tokens"
# The sweeps read through these: their cost follows what is due, not what is open.
CLOCKS = ("ack_next_at", "transfer_next_at", "same_day_due_at", "merge_link_due_at")
SWEEP_BATCH = 200
# How long a merge may hold its two reports. A merge takes milliseconds; a
# process killed while holding them frees them when this runs out.
MERGE_HOLD = timedelta(seconds=10)
# GET /reports, newest first; `_id` last so the order is total and a cursor
# lands on exactly one place.
REPORT_ORDER = [("received_at", -1), ("_id", -1)]


class Repository:
    INDEXES = {
        "officers": [([("unit_id", 1)], {})],
        COMPANIES: [([("credit_code", 1)], {"unique": True}),
                    ([("name_key", 1)], {})] + outbox.INDEXES,
        REPORTS: [
            # The list's sort behind each reach (shared/auth.py report_filter):
            # a page reads the page, however deep in the list.
            ([("company_id", 1), ("received_at", -1), ("_id", -1)], {}),
            ([("owner_unit_id", 1), ("received_at", -1), ("_id", -1)], {}),
            ([("transfer.to_unit_id", 1), ("received_at", -1), ("_id", -1)], {}),
            ([("received_at", -1), ("_id", -1)], {}),
            # Likely duplicates: what a new report is compared with, and nothing else.
            ([("company_id", 1), ("incident_type", 1), ("estimated_loss", 1),
              ("occurred_at", 1)], {}),
            ([("owner_unit_path", 1), ("received_at", -1), ("_id", -1)], {}),
            ([("transfer.to_unit_path", 1)], {"sparse": True}),
            ([("transfer.to_unit_path", 1), ("received_at", -1), ("_id", -1)], {}),
            ([("idempotency_key", 1)], {"unique": True, "sparse": True}),
            ([("reference", 1)], {"unique": True}),
        ] + [([(clock, 1)], {"sparse": True}) for clock in CLOCKS] + outbox.INDEXES,
        # Accounts (signin.py): _id is the username; found by whose they are.
        ACCOUNTS: [([("subject", 1)], {})],
        INVITES: [([("username", 1), ("used_at", 1)], {})],     # _id: the code's sha256
        REFRESH_TOKENS: [([("family", 1)], {}), ([("username", 1), ("revoked_at", 1)], {})],
        **inbox.INDEXES,
        **idempotency_key.INDEXES,
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

    def officers_of(self, unit_id):
        return list(self.db.officers.find({"unit_id": unit_id}).sort("_id", 1))

    def next_number(self, name):
        return next_number(self.db, name)

    # -- accounts (signin.py) ------------------------------------------------
    def account(self, username):
        return self.db[ACCOUNTS].find_one({"_id": username})

    def add_invite(self, username, code_digest, now, expires_at):
        """A new invite; the account's earlier unused ones stop working."""
        self.db[INVITES].update_many({"username": username, "used_at": None},
                                     {"$set": {"used_at": now, "superseded": True}})
        self.db[INVITES].insert_one({"_id": code_digest, "username": username,
                                     "created_at": now, "expires_at": expires_at,
                                     "used_at": None})

    def use_invite(self, code_digest, now, username=None):
        """Mark the invite used and answer it, or None when it is unknown,
        used or expired (or of another username). One conditional write: of
        two uses at once exactly one gets it."""
        where = {"_id": code_digest, "used_at": None, "expires_at": {"$gt": now}}
        if username is not None:
            where["username"] = username
        return self.db[INVITES].find_one_and_update(where, {"$set": {"used_at": now}})

    def set_password(self, username, password_hash, now, old_hash=None):
        """Store a new password hash; with `old_hash`, only if it is still
        the one that was checked (two changes at once: one wins)."""
        where = {"_id": username, "active": True}
        if old_hash is not None:
            where["password_hash"] = old_hash
        return self.db[ACCOUNTS].update_one(where, {"$set": {
            "password_hash": password_hash, "password_set_at": now}}).modified_count == 1

    def add_refresh_token(self, token_digest, username, family, now, expires_at):
        self.db[REFRESH_TOKENS].insert_one({
            "_id": token_digest, "username": username, "family": family,
            "created_at": now, "expires_at": expires_at, "used_at": None,
            "revoked_at": None})

    def use_refresh_token(self, token_digest, now):
        """Mark a live refresh token used and answer it; None when it is
        unknown, used, revoked or expired. Of two uses at once one gets it."""
        return self.db[REFRESH_TOKENS].find_one_and_update(
            {"_id": token_digest, "used_at": None, "revoked_at": None,
             "expires_at": {"$gt": now}}, {"$set": {"used_at": now}})

    def refresh_token(self, token_digest):
        return self.db[REFRESH_TOKENS].find_one({"_id": token_digest})

    def revoke_family(self, family, now):
        """Revoke every refresh token of a family; how many were live."""
        return self.db[REFRESH_TOKENS].update_many(
            {"family": family, "revoked_at": None},
            {"$set": {"revoked_at": now}}).modified_count

    def family_revoked(self, family):
        return self.db[REFRESH_TOKENS].find_one(
            {"family": family, "revoked_at": {"$ne": None}}, {"_id": 1}) is not None

    def revoke_sessions(self, username, now):
        """Revoke every refresh token of an account (its password changed)."""
        return self.db[REFRESH_TOKENS].update_many(
            {"username": username, "revoked_at": None},
            {"$set": {"revoked_at": now}}).modified_count

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

    def report_by_reference(self, reference):
        return self.db[REPORTS].find_one({"reference": reference}, {"outbox": 0})

    def reports(self, query, limit, after):
        """One page of the reports matching `query`, and the next cursor."""
        return pages.read(self.db[REPORTS], query, REPORT_ORDER, limit, after, "reports",
                          {"outbox": 0}, by_time=True)

    def companies_named(self, prefix):
        """The ids of the companies whose name starts with `prefix` (case-folded),
        one more than search.MAX_COMPANIES at most."""
        return [c["_id"] for c in self.db[COMPANIES].find(
            {"name_key": search.prefix_range(prefix)}, {"_id": 1}).limit(
                search.MAX_COMPANIES + 1)]

    @classmethod
    def upgrade(cls, db):
        """Companies registered before names were searchable get their key."""
        for company in db[COMPANIES].find({"name_key": None}, {"name": 1}):
            db[COMPANIES].update_one({"_id": company["_id"]},
                                     {"$set": {"name_key": search.name_key(company["name"])}})

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

    def save_report(self, report, source, change, now, also=(), merge=None):
        """Store a change (fields, entries, events) only if nobody changed the
        report since it was read, and no merge holds it — unless this is that
        merge (its `merge` id): then its hold ends and its link is due. A
        clock set to None is removed, so the sweeps' sparse indexes hold
        only the clocks still running."""
        fields, entries, events = change
        stopped = {k: "" for k in CLOCKS if k in fields and fields[k] is None}
        fields = {k: v for k, v in fields.items() if k not in stopped}
        also = list(also) + ([{"$unset": stopped}] if stopped else [])
        if merge:
            also.append({"$set": {"merge_link_due_at": now}, "$unset": {"merge_hold": ""}})
            where = {"merge_hold.merge": merge}
        else:
            where = {"$or": [{"merge_hold": None}, {"merge_hold.until": {"$lte": now}}]}
        return aggregate.save(self.db[REPORTS], report, source, (fields, entries, events),
                              now, also, where)

    # -- merging: two documents, no transaction --------------------------
    # A merge holds both reports (a conditional write on each), checks and
    # writes the merged one (which also releases it and marks its link as
    # due), then links the target. Holds are taken in id order and never
    # waited for, so of two merges sharing a report exactly one goes ahead:
    # A→B and B→A at once cannot both succeed and leave no open report.
    # A crash after the first write leaves the link due: the sweep links it.
    def hold_for_merge(self, report_ids, merge, now):
        """Hold every report for this merge; False (holding none) if another
        merge or a change under way holds one of them."""
        held: list[str] = []
        for report_id in sorted(set(report_ids)):
            if not self.db[REPORTS].update_one(
                    {"_id": report_id,
                     "$or": [{"merge_hold": None}, {"merge_hold.until": {"$lte": now}}]},
                    {"$set": {"merge_hold": {"merge": merge, "until": now + MERGE_HOLD}}}
            ).modified_count:
                self.release_merge(held, merge)
                return False
            held.append(report_id)
        return True

    def release_merge(self, report_ids, merge):
        if report_ids:
            self.db[REPORTS].update_many({"_id": {"$in": list(report_ids)},
                                          "merge_hold.merge": merge},
                                         {"$unset": {"merge_hold": ""}})

    def link_merged(self, report, merge=None):
        """The target lists the report merged into it (at most once), and the
        merge's hold on the target ends; then the link is no longer due."""
        target, link = report["merged_into"], {"$addToSet": {"merged_reports": report["_id"]},
                                               "$inc": {"version": 1}}
        if not (merge and self.db[REPORTS].update_one(
                {"_id": target, "merge_hold.merge": merge},
                outbox.merge(link, {"$unset": {"merge_hold": ""}})).modified_count):
            self.db[REPORTS].update_one({"_id": target}, link)
        self.db[REPORTS].update_one({"_id": report["_id"]},
                                    {"$unset": {"merge_link_due_at": ""}})

    def due(self, clock, now):
        """Reports whose `clock` has run out, oldest first."""
        return list(self.db[REPORTS].find({clock: {"$lte": now}}, {"outbox": 0})
                    .sort(clock, 1).limit(SWEEP_BATCH))
