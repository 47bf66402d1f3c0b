"""Intake's storage: the one module here that speaks pymongo."""
from datetime import datetime, timedelta, timezone

from bson import Binary, Int64
from pymongo import ReturnDocument
from pymongo.errors import DuplicateKeyError

from services.intake import audit, deadlines, throttle
from services.intake.deadlines import CLOCKS
from shared import aggregate, auth, idempotency_key, inbox, outbox, pages, search
from shared.clock import EARLIEST, due
from shared.kept import Kept
from shared.mongo import backfill, next_from_block, next_number

REPORTS = "reports"
COMPANIES = "companies"
ACCOUNTS = "accounts"
INVITES = "invites"
REFRESH_TOKENS = "refresh_tokens"
# Evidence files: the record of each (its hash, size, type, uploader, item),
# the quota taken per report and per item, and the bytes in GridFS's default
# bucket (fs.files, fs.chunks) under the record's id.
EVIDENCE = "evidence"
QUOTA = "evidence_quota"
API_KEYS = "api_keys"
# The lists' orders (shared/pages.py), each ending in a unique field.
ACCOUNT_ORDER = [("_id", 1)]
API_KEY_ORDER = [("created_at", -1), ("_id", -1)]
# The sweep reads through this one field, when a report's earliest running
# clock runs out (deadlines.next_due): its cost follows what is due, not what
# is open. Absent once every clock has stopped.
NEXT_DUE = "next_due_at"
# The indexes earlier versions read the lists' reach through (auth.REACH
# now), and the clocks through (NEXT_DUE now).
OLD_REACH = ("company_id", "owner_unit_id", "transfer.to_unit_id", "owner_unit_path",
             "transfer.to_unit_path")
OLD_REACH_INDEXES = [f"{field}_1_received_at_-1__id_-1" for field in OLD_REACH]
OLD_CLOCK_INDEXES = {clock: f"{clock}_1" for clock in CLOCKS}
# A report filed with an Idempotency-Key has the id the key makes
# (idempotency_key.created_id); earlier versions kept the key under an index
# of its own. Their keys still retried are found through REPORT_KEYS: each
# one's id under the new scheme -> the report's, written at start while the
# old index stands, for as long as a retry is answered.
OLD_KEY_INDEX = "idempotency_key_1"
REPORT_KEYS = "report_keys"
KEYS_BEFORE: dict[str, datetime] = {}    # database -> until when REPORT_KEYS answers
SWEEP_BATCH = 200
# A new report is compared with this many like it at most; merged ones
# among them are left out after the read, so there is room for them.
DUPLICATE_CANDIDATES = 100
# How long a merge may hold its two reports. A merge takes milliseconds; a
# process killed while holding them frees them when this runs out.
MERGE_HOLD = timedelta(seconds=10)
# GET /reports, newest first; `_id` last so the order is total and a cursor
# lands on exactly one place.
REPORT_ORDER = [("received_at", -1), ("_id", -1)]


# The collections read from this process's copies (shared/kept.py): every
# write to one moves the counter.
KEPT = ("units", "officers", COMPANIES)

# References a process reserves with one counter write (shared/mongo.py).
REFERENCE_BLOCK = 20


def unheld(now):
    """The conditions, tried in turn, that a report is held by no merge:
    never held (or released), then held by one that outlived its hold.
    Not one `$or` of the two: SecantusDB answers a filter with `$or` by
    reading the whole collection, `_id` or not — 229 ms an update at 20,000
    reports against 1 ms for the first alone (issue 19)."""
    return ({"merge_hold": None}, {"merge_hold.until": {"$lte": now}})


def clocks_update(clocks):
    """The update that stores `clocks` ({clock: time, or None once stopped})
    and NEXT_DUE with them. A stopped clock is removed rather than stored as
    null, and NEXT_DUE with the last of them: the sparse index then holds
    only reports with a clock still running."""
    running = {k: v for k, v in clocks.items() if v is not None}
    stopped = {k: "" for k, v in clocks.items() if v is None}
    next_due = deadlines.next_due(running)
    if next_due is None:
        stopped[NEXT_DUE] = ""
    else:
        running[NEXT_DUE] = next_due
    return {op: v for op, v in (("$set", running), ("$unset", stopped)) if v}


def store_next_due(reports, report):
    """Set NEXT_DUE from the report's clocks as read, if it is unchanged since."""
    reports.update_one({"_id": report["_id"], "version": report.get("version")},
                       clocks_update({k: report.get(k) for k in CLOCKS}))


def as_stored(doc):
    """A new report as stored: with its police reach (auth.report_reach),
    and NEXT_DUE from the clocks it starts with."""
    doc = {**doc, auth.REACH: auth.report_reach(doc)}
    next_due = deadlines.next_due(doc)
    return {**doc, NEXT_DUE: next_due} if next_due is not None else doc


class Repository:
    INDEXES = {
        "officers": [([("unit_id", 1)], {})],
        COMPANIES: [([("credit_code", 1)], {"unique": True}),
                    ([("name_key", 1)], {})] + outbox.INDEXES,
        REPORTS: [
            # The list's sort behind each reach (shared/auth.py report_filter):
            # a page reads the page, however deep in the list.
            ([(auth.REACH, 1), ("received_at", -1), ("_id", -1)], {}),
            # Likely duplicates: what a new report is compared with, and nothing else.
            ([("company_id", 1), ("incident_type", 1), ("estimated_loss", 1),
              ("occurred_at", 1)], {}),
            ([("reference", 1)], {"unique": True}),
            ([(NEXT_DUE, 1)], {"sparse": True}),
        ] + outbox.INDEXES,
        # Accounts (signin.py): _id is the username; found by whose they are.
        ACCOUNTS: [([("subject", 1)], {}), ([("role", 1), ("_id", 1)], {})],
        INVITES: [([("username", 1), ("used_at", 1)], {})],     # _id: the code's sha256
        REFRESH_TOKENS: [([("family", 1)], {}), ([("username", 1), ("revoked_at", 1)], {})],
        # GridFS's own indexes (the spec's), made here so no upload waits on them.
        "fs.files": [([("filename", 1), ("uploadDate", 1)], {})],
        "fs.chunks": [([("files_id", 1), ("n", 1)], {"unique": True})],
        EVIDENCE: [([("report_id", 1), ("uploaded_at", 1)], {}),
                   ([("state", 1), ("checked_at", 1)], {}),
                   # An upload's Idempotency-Key (files.py): one record per key.
                   ([("idempotency_key", 1)], {"unique": True, "sparse": True})],
        # A company's keys, newest first (principals.py); _id is the client_id.
        API_KEYS: [([("company_id", 1), ("created_at", -1), ("_id", -1)], {}),
                   ([("idempotency_key", 1)], {"unique": True, "sparse": True})],
        **inbox.INDEXES,
        **audit.INDEXES,        # the audit log and sign-in throttling (guard.py)
        **throttle.INDEXES,
        **idempotency_key.INDEXES,
    }

    # No longer made, dropped where an earlier version made them: the
    # transfer reach's sparse index, whose queries the one with the list's
    # sort serves (issue 19: a report's writes paid for both).
    # The four clocks' own indexes too: one on NEXT_DUE serves the sweep;
    # and the lists' by reach (the company's, the police's, the admin's):
    # one on auth.REACH serves them all.
    DROPPED_INDEXES = {REPORTS: ["transfer.to_unit_path_1", "received_at_-1__id_-1",
                                 *OLD_CLOCK_INDEXES.values(), *OLD_REACH_INDEXES,
                                 OLD_KEY_INDEX]}

    def __init__(self, db, memory=None):
        self.db = db
        # Units, officers, companies: read from this process's copies while
        # unchanged (shared/kept.py; `memory`: another process's copies, for
        # a test of two instances). Every filing read its company, every
        # accept its officer, every alert its unit's people: four reads a
        # report for what changes when an admin adds someone (issue 19).
        self.kept = Kept(db, memory)

    # -- organisation ----------------------------------------------------
    def insert(self, collection, doc):
        """Insert; False when the id (or another unique key) exists."""
        try:
            self.db[collection].insert_one(doc)
        except DuplicateKeyError:
            return False
        if collection in KEPT:
            self.kept.changed()
        return True

    def unit(self, unit_id):
        return self._kept("units", unit_id)

    def officer(self, officer_id):
        return self._kept("officers", officer_id)

    def company(self, company_id):
        """A company as registered (its outbox left out: the relay's pulls
        change nothing kept)."""
        return self._kept(COMPANIES, company_id)

    def _kept(self, collection, _id):
        """get(), from this process's copy while the collection is unchanged."""
        return self.kept.get(collection, _id, lambda: self.get(collection, _id))

    def get(self, collection, _id):
        return self.db[collection].find_one({"_id": _id}, {"outbox": 0})

    def units(self):
        """The whole unit tree (a few hundred units at most), from this
        process's copy while no unit changed: every filing routes through
        it, and read each time it cost a read of every unit a report."""
        return self.kept.get("unit_tree", "all",
                             lambda: {u["_id"]: u for u in self.db.units.find({})})

    def officers_of(self, unit_id):
        return self.kept.get("unit_officers", unit_id, lambda: list(
            self.db.officers.find({"unit_id": unit_id}).sort("_id", 1)))

    def next_number(self, name):
        return next_number(self.db, name)

    def next_reference_number(self, name):
        """The next number of a report reference: unique (its index says
        so), not gapless (shared/mongo.py's blocks)."""
        return next_from_block(self.db, name, REFERENCE_BLOCK)

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

    # -- principals (principals.py): the admin's accounts, API keys --------
    def accounts_page(self, query, limit, after):
        return pages.read(self.db[ACCOUNTS], query, ACCOUNT_ORDER, limit, after, "accounts",
                          {"password_hash": 0})

    def officers_by_id(self, officer_ids):
        return {o["_id"]: o for o in self.db.officers.find({"_id": {"$in": list(officer_ids)}})}

    def update_account(self, username, fields):
        return self.db[ACCOUNTS].update_one({"_id": username}, {"$set": fields})

    def update_officer(self, officer_id, fields):
        result = self.db.officers.update_one({"_id": officer_id}, {"$set": fields})
        self.kept.changed(result.matched_count > 0)
        return result

    def set_active(self, username, active, now):
        """Deactivate or reactivate; False when it already was."""
        change = ({"$set": {"active": True}, "$unset": {"deactivated_at": ""}} if active
                  else {"$set": {"active": False, "deactivated_at": now}})
        return self.db[ACCOUNTS].update_one({"_id": username, "active": not active},
                                            change).modified_count == 1

    def insert_api_key(self, doc):
        """Insert a new key; on a repeated Idempotency-Key, the earlier one."""
        try:
            self.db[API_KEYS].insert_one(doc)
            return doc, True
        except DuplicateKeyError:
            if doc.get("idempotency_key"):
                earlier = self.db[API_KEYS].find_one({"idempotency_key": doc["idempotency_key"]})
                if earlier:
                    return earlier, False
            raise

    def live_api_keys(self, company_id):
        return self.db[API_KEYS].count_documents({"company_id": company_id, "revoked_at": None})

    def api_key(self, key_id):
        return self.db[API_KEYS].find_one({"_id": key_id})

    def api_keys_page(self, company_id, limit, after):
        return pages.read(self.db[API_KEYS], {"company_id": company_id}, API_KEY_ORDER, limit,
                          after, "api_keys")

    def use_api_key(self, key_id, secret_digest, now):
        """Mark a live key used now and answer it; None when it is unknown,
        revoked (even a moment ago) or its secret is not this one."""
        return self.db[API_KEYS].find_one_and_update(
            {"_id": key_id, "secret_digest": secret_digest, "revoked_at": None},
            {"$set": {"last_used_at": now}}, return_document=ReturnDocument.AFTER)

    def revoke_api_key(self, key_id, company_id, now, by):
        """Revoke a company's live key; None when it is unknown, another
        company's or revoked already."""
        return self.db[API_KEYS].find_one_and_update(
            {"_id": key_id, "company_id": company_id, "revoked_at": None},
            {"$set": {"revoked_at": now, "revoked_by": by}},
            return_document=ReturnDocument.AFTER)

    # -- reports ---------------------------------------------------------
    def insert_report(self, doc):
        """Insert a new report; on a repeated Idempotency-Key, the earlier one
        (the key makes the id: the insert is refused by it)."""
        doc = as_stored(doc)
        keyed = bool(doc.get("idempotency_key"))
        if keyed and KEYS_BEFORE.get(self.db.name, EARLIEST) > datetime.now(timezone.utc):
            alias = self.db[REPORT_KEYS].find_one({"_id": doc["_id"]})
            if alias is not None:   # filed before the key made the id
                earlier = self.db[REPORTS].find_one({"_id": alias["report_id"]}, {"outbox": 0})
                if earlier:
                    return earlier, False
        try:
            self.db[REPORTS].insert_one(doc)
            return doc, True
        except DuplicateKeyError:
            if keyed:
                earlier = self.db[REPORTS].find_one({"_id": doc["_id"]}, {"outbox": 0})
                if earlier:
                    return earlier, False
            raise

    def report(self, report_id, with_outbox=False):
        """The report; `with_outbox` for a change, whose write then hands
        the relay its outbox without reading it back."""
        return self.db[REPORTS].find_one({"_id": report_id},
                                         None if with_outbox else {"outbox": 0})

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
        """Companies registered before names were searchable get their key;
        reports stored before auth.REACH and NEXT_DUE get them, found while
        the indexes they replace stand (those go right after: mongo.py)."""
        for company in db[COMPANIES].find({"name_key": None}, {"name": 1}):
            db[COMPANIES].update_one({"_id": company["_id"]},
                                     {"$set": {"name_key": search.name_key(company["name"])}})
        backfill(db[REPORTS], OLD_REACH_INDEXES, {auth.REACH: {"$ne": "all"}},
                 ("company_id", "owner_unit_id", "owner_unit_path", "transfer"),
                 auth.REACH, auth.report_reach)
        indexed = {index["name"] for index in db[REPORTS].list_indexes()}
        if OLD_KEY_INDEX in indexed:
            # Once, while the key's own index stands: the keys a retry may
            # still bring, under the ids they make now.
            kept_from = datetime.now(timezone.utc) - idempotency_key.ANSWER_KEPT
            for report in db[REPORTS].find({"idempotency_key": {"$exists": True}},
                                           {"idempotency_key": 1, "received_at": 1}):
                received = report["received_at"]
                if received >= kept_from:
                    db[REPORT_KEYS].update_one(
                        {"_id": idempotency_key.created_id("report", report["idempotency_key"])},
                        {"$setOnInsert": {"report_id": report["_id"],
                                          "until": received + idempotency_key.ANSWER_KEPT}},
                        upsert=True)
        # Every instance, every start: until when those answer (a handful of
        # documents, the last day's keyed filings before the upgrade).
        now = datetime.now(timezone.utc)
        db[REPORT_KEYS].delete_many({"until": {"$lt": now}})
        untils = [k["until"] for k in db[REPORT_KEYS].find({}, {"until": 1})]
        if untils:
            KEYS_BEFORE[db.name] = max(untils)
        fields = {k: 1 for k in (*CLOCKS, NEXT_DUE, "version")}
        for clock, index in OLD_CLOCK_INDEXES.items():
            if index not in indexed:
                continue
            for report in db[REPORTS].find({clock: {"$gte": EARLIEST}}, fields):
                if NEXT_DUE not in report:
                    store_next_due(db[REPORTS], report)

    def duplicate_candidates(self, company_id, incident_type, amount, occurred_at, window):
        """Reports of the same company, type and amount, close in time; the
        merged ones are the domain's to leave out (likely_duplicates). The
        amount is in the query: without it a busy company's first reports
        of a type could hide the one that is a duplicate, and every report
        read all of its company's reports. The filter is exactly the
        index's fields: one field more (the status, as it was) and
        SecantusDB reads the whole collection instead — every filing read
        every report (issue 19)."""
        return list(self.db[REPORTS].find(
            {"company_id": company_id, "incident_type": incident_type,
             "estimated_loss": amount,
             "occurred_at": {"$gte": occurred_at - window, "$lte": occurred_at + window}},
            {"incident_type": 1, "estimated_loss": 1, "occurred_at": 1, "status": 1}
        ).limit(DUPLICATE_CANDIDATES))

    def save_report(self, report, source, change, now, also=(), merge=None):
        """Store a change (fields, entries, events) only if nobody changed the
        report since it was read, and no merge holds it — unless this is that
        merge (its `merge` id): then its hold ends and its link is due.
        What the relay needs of the write (aggregate.save), or None if it
        lost. A clock set to None is removed, and the one the sweep reads
        (NEXT_DUE) follows: the write is conditional on the version read,
        so the clocks it is worked out from are the stored ones."""
        fields, entries, events = change
        clocks = {k: fields.get(k, report.get(k)) for k in CLOCKS}
        if merge:
            clocks["merge_link_due_at"] = now
        fields = {k: v for k, v in fields.items() if k not in CLOCKS or v is not None}
        # (Every write: a report an upgrade missed mends at its next.)
        fields[auth.REACH] = auth.report_reach({**report, **fields})
        also = list(also) + [clocks_update(clocks)]
        if merge:
            also.append({"$unset": {"merge_hold": ""}})
            wheres = [{"merge_hold.merge": merge}]
        else:
            wheres = unheld(now)
        for where in wheres:
            written = aggregate.save(self.db[REPORTS], report, source,
                                     (fields, entries, events), now, also, where)
            if written is not None:
                return written
        return None

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
        hold = {"$set": {"merge_hold": {"merge": merge, "until": now + MERGE_HOLD}}}
        for report_id in sorted(set(report_ids)):
            if not any(self.db[REPORTS].update_one({"_id": report_id, **where}, hold
                                                   ).modified_count for where in unheld(now)):
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
        # A merged report's other clocks stopped with its merge's write.
        clocks = {k: report.get(k) for k in CLOCKS if k != "merge_link_due_at"}
        self.db[REPORTS].update_one({"_id": report["_id"]},
                                    clocks_update({**clocks, "merge_link_due_at": None}))

    def due(self, now):
        """Reports with a clock run out, the longest overdue first."""
        return list(self.db[REPORTS].find({NEXT_DUE: due(now)}, {"outbox": 0})
                    .sort(NEXT_DUE, 1).limit(SWEEP_BATCH))

    def mend_next_due(self, report):
        """A report in the sweep's due set with no clock run out."""
        store_next_due(self.db[REPORTS], report)

    # -- evidence files ----------------------------------------------------
    # Quota is taken before the bytes are kept, by conditional updates, so of
    # two uploads racing for the last slot or the last bytes exactly one gets
    # them. Each upload's share is held under its file id in the same
    # document (`held`) until it is settled (kept) or given back (failed):
    # exact even when the process dies mid-upload, for the sweep then gives
    # back what a stale upload still holds.
    def file_bytes(self, file_id, start=0, end=None):
        """A stored file's bytes [start, end), chunk by chunk, a few chunks
        fetched at a time (GridOut's cursor would fetch up to 16 MB at once).
        Raises MissingBytes when a chunk is missing or short."""
        found = self.db["fs.files"].find_one({"_id": file_id})
        if found is None:
            raise MissingBytes(f"no file {file_id}")
        size, end = found["chunkSize"], found["length"] if end is None else end
        n = start // size
        pos = n * size
        for doc in self.db["fs.chunks"].find({"files_id": file_id, "n": {"$gte": n}},
                                             sort=[("n", 1)], batch_size=4):
            if pos >= end:
                break
            if doc["n"] != n:
                raise MissingBytes(f"chunk {n} of {file_id} is missing")
            data = bytes(doc["data"])
            if len(data) != min(size, found["length"] - pos):
                raise MissingBytes(f"chunk {n} of {file_id} is short")
            lo, hi = max(start - pos, 0), min(end - pos, len(data))
            if lo < hi:
                yield data[lo:hi]
            pos, n = pos + len(data), n + 1
        if pos < end:
            raise MissingBytes(f"{file_id} ends before its length")

    def delete_file_bytes(self, file_id):
        """Only for an upload that failed: a kept file is never deleted."""
        self.db["fs.files"].delete_one({"_id": file_id})
        self.db["fs.chunks"].delete_many({"files_id": file_id})

    def file_writer(self, file_id, chunk_size, metadata):
        return ChunkWriter(self.db, file_id, chunk_size, metadata)

    def _quota_doc(self, _id, field):
        try:
            self.db[QUOTA].update_one({"_id": _id}, {"$setOnInsert": {field: 0, "held": {}}},
                                      upsert=True)
        except DuplicateKeyError:
            pass    # another upload made it at the same moment

    def take_item_slot(self, report_id, code, file_id, limit):
        """One more file for this item; False when it has `limit` already."""
        _id = f"{report_id}:{code}"
        self._quota_doc(_id, "files")
        return self.db[QUOTA].update_one(
            {"_id": _id, "files": {"$lt": limit}},
            {"$inc": {"files": 1, f"held.{file_id}": 1}}).modified_count == 1

    def take_bytes(self, report_id, file_id, n, limit):
        """`n` more bytes for this report; False when they would pass `limit`."""
        def take():
            return self.db[QUOTA].update_one(
                {"_id": report_id, "bytes": {"$lte": limit - n}},
                {"$inc": {"bytes": n, f"held.{file_id}": n}}).modified_count == 1
        # One write a batch: the document is made only the first time.
        if take():
            return True
        self._quota_doc(report_id, "bytes")
        return take()

    def settle_quota(self, report_id, code, file_id):
        """The upload is kept: what it took stays taken."""
        self.db[QUOTA].update_many({"_id": {"$in": [report_id, f"{report_id}:{code}"]}},
                                   {"$unset": {f"held.{file_id}": ""}})

    def give_back_quota(self, report_id, code, file_id):
        """The upload failed: what it holds is free again (once)."""
        for _id, field in ((report_id, "bytes"), (f"{report_id}:{code}", "files")):
            doc = self.db[QUOTA].find_one({"_id": _id})
            held = ((doc or {}).get("held") or {}).get(file_id)
            if held is not None:
                self.db[QUOTA].update_one({"_id": _id, f"held.{file_id}": held},
                                          {"$inc": {field: -held},
                                           "$unset": {f"held.{file_id}": ""}})

    def quota(self, report_id):
        return self.db[QUOTA].find_one({"_id": report_id}) or {"bytes": 0}

    def add_evidence(self, doc):
        """Insert a pending record; False when its Idempotency-Key has one."""
        try:
            self.db[EVIDENCE].insert_one(doc)
        except DuplicateKeyError:
            return False
        return True

    def evidence_by_key(self, key):
        return self.db[EVIDENCE].find_one({"idempotency_key": key})

    def set_evidence(self, file_id, fields, where=None):
        """Set fields of a record; False when `where` no longer holds."""
        return self.db[EVIDENCE].update_one({"_id": file_id, **(where or {})},
                                            {"$set": fields}).modified_count == 1

    def drop_pending_evidence(self, file_id):
        """A record whose upload failed: never a stored one."""
        self.db[EVIDENCE].delete_one({"_id": file_id, "state": "uploading"})

    def stale_uploads(self, before, limit=100):
        """Uploads begun before `before` and never finished: their process died.
        By state alone, the age judged here (the uploading are the few in
        flight, the oldest first in the index): with started_at in the
        filter SecantusDB fits no index and reads every file's record."""
        uploading = self.db[EVIDENCE].find({"state": "uploading"}).limit(limit)
        return [u for u in uploading if u.get("started_at") and u["started_at"] < before]

    def evidence(self, file_id):
        return self.db[EVIDENCE].find_one({"_id": file_id})

    def evidence_of(self, report_id):
        # By report alone (its index), the stored kept here: a report has
        # few files, and with the state in the filter SecantusDB would read
        # every file's record of every report (issue 19).
        return [e for e in self.db[EVIDENCE].find({"report_id": report_id})
                .sort("uploaded_at", 1) if e.get("state") == "stored"]

    def evidence_to_check(self, limit):
        """Stored files, those checked longest ago (or never) first."""
        return list(self.db[EVIDENCE].find({"state": "stored"})
                    .sort("checked_at", 1).limit(limit))

    def claim_sweep(self, name, now, every):
        """The sweep `name` is due and this instance runs it (one of many)."""
        try:
            self.db.counters.update_one({"_id": name}, {"$setOnInsert": {"next_at": now}},
                                        upsert=True)
        except DuplicateKeyError:
            pass
        return self.db.counters.update_one(
            {"_id": name, "next_at": {"$lte": now}},
            {"$set": {"next_at": now + every}}).modified_count == 1

    def record_failure(self, key, handler, kind, error, now):
        """A failure a person must look at, listed at GET /admin/failures
        (the inbox's dead letters) — written once per key."""
        self.db[inbox.COLLECTION].update_one({"_id": key}, {"$setOnInsert": {
            "status": "dead", "handler": handler, "event_id": key, "type": kind,
            "attempts": 0, "last_error": error[:2000], "received_at": now}}, upsert=True)


class MissingBytes(Exception):
    """A stored file's chunks do not add up to it."""


class ChunkWriter:
    """Writes one file into GridFS's default bucket as the GridFS spec lays
    it out (fs.chunks {files_id, n, data}, then its fs.files document), so
    any GridFS reader reads it. pymongo's own GridIn keeps up to 48 MB of
    chunks in memory before it inserts them: a 25 MB file would be held
    whole. This inserts the chunks of each write at once; the file document
    comes last, so a file without one is never read, and abort() removes
    whatever chunks were written."""

    def __init__(self, db, file_id, chunk_size, metadata):
        self.db, self.file_id, self.chunk_size, self.metadata = db, file_id, chunk_size, metadata
        self.n = 0
        self.length = 0
        self.rest = b""

    def write(self, data):
        data = self.rest + data
        whole = len(data) - len(data) % self.chunk_size
        self._insert([data[i:i + self.chunk_size] for i in range(0, whole, self.chunk_size)])
        self.rest = data[whole:]

    def close(self):
        self._insert([self.rest] if self.rest else [])
        self.rest = b""
        self.db["fs.files"].insert_one({
            "_id": self.file_id, "filename": self.file_id, "length": Int64(self.length),
            "chunkSize": self.chunk_size, "uploadDate": datetime.now(timezone.utc),
            "metadata": self.metadata})

    def abort(self):
        self.db["fs.chunks"].delete_many({"files_id": self.file_id})

    def _insert(self, pieces):
        if pieces:
            self.db["fs.chunks"].insert_many([
                {"files_id": self.file_id, "n": self.n + i, "data": Binary(piece)}
                for i, piece in enumerate(pieces)], ordered=True)
            self.n += len(pieces)
            self.length += sum(len(p) for p in pieces)
