"""Notify's storage for alerts to police, apart from everything a company
reads: the alerts (each person's inbox), their deliveries, each unit's duty
roster and group robot, each person's alert settings, and each case's lead.
The one module that speaks pymongo for them.

An alert is stored once per event and person (unique key); a climb is
claimed by an update_one on {_id, climb_due_at} whose modified_count says
which instance won, as the sweeps claim their steps.
"""
import copy
import time
import uuid
from datetime import timedelta

from pymongo.errors import DuplicateKeyError

from services.notify.delivery_store import DeliveryStore
from shared import clock, events, outbox, pages
from shared.kept import Kept

ALERTS = "alerts"
ALERT_DELIVERIES = "alert_deliveries"
ROSTERS = "rosters"
ROBOTS = "robots"
PROFILES = "alert_profiles"
CASE_LEADS = "case_leads"   # each case's lead as kept before issue 19: read only
UNITS = "known_units"     # intake's last answer per unit, for when it cannot answer
# Per report or case, the last sequence its alerts were raised for: kept on
# the subject's document beside the notices' cursor (repository.py), under
# `alerts`, with a version of its own, so one write can move both (issue 19).
SUBJECTS = "subjects"
CURSORS = "alert_cursors"  # where it was kept before: moved at start (Repository.upgrade)
ALERT_ORDER = [("created_at", -1), ("_id", -1)]
CLAIM_LEASE = timedelta(seconds=60)   # a climb a crashed instance left is taken again
# intake's answer per (database, unit) this process last wrote to UNITS, and
# when (monotonic): the same answer is not written again for every alert
# (issue 19: 1.8 writes a report), yet written again after KEEP_AGAIN in case
# another instance wrote an older one since.
KEEP_AGAIN = 300.0
_kept: dict[tuple[str, str], tuple[dict, float]] = {}


def alert_id(key, person_id):
    """The same event and person always make the same id (a retry adds nothing)."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"alert:{key}:{person_id}"))


class AlertStore:
    INDEXES = {
        ALERTS: [([("key", 1), ("person_id", 1)], {"unique": True}),
                 ([("person_id", 1), ("created_at", -1), ("_id", -1)], {}),
                 ([("person_id", 1), ("read_at", 1)], {}),
                 # Only alerts with a climb to come (partial): one that needs no
                 # acknowledgement, or has climbed, stores null, and each of its
                 # writes skips the index (issue 19). clock.due implies it.
                 ([("climb_due_at", 1)],
                  {"partialFilterExpression": {"climb_due_at": {"$gte": clock.EARLIEST}}}),
                 *outbox.INDEXES],
        ALERT_DELIVERIES: DeliveryStore.INDEXES["deliveries"],
        CASE_LEADS: [([("case_id", 1)], {})],
    }

    def __init__(self, db, kept=None):
        self.db = db
        self.kept = kept or Kept(db)   # rosters, robots, settings (shared/kept.py)
        self.alerts = db[ALERTS]
        self.deliveries = DeliveryStore(db, ALERT_DELIVERIES)

    # -- alerts ----------------------------------------------------------------
    def add(self, alert):
        """False when this person has this alert already."""
        try:
            self.alerts.insert_one(alert)
            return True
        except DuplicateKeyError:
            return False

    def inbox(self, person_id, limit, after):
        return pages.read(self.alerts, {"person_id": person_id}, ALERT_ORDER, limit, after,
                          "alerts")

    def unread(self, person_id):
        return self.alerts.count_documents({"person_id": person_id, "read_at": None})

    def get(self, alert_id_, person_id):
        return self.alerts.find_one({"_id": alert_id_, "person_id": person_id})

    def mark(self, alert_id_, person_id, fields, unset_field):
        """Set `fields` once: only where `unset_field` is still null."""
        self.alerts.update_one({"_id": alert_id_, "person_id": person_id,
                                unset_field: None}, {"$set": fields})

    def acked_any(self, key):
        """Whether anyone acknowledged an alert of this key. Read by the key
        alone (its index; a key pages a handful of people) and the
        acknowledgement looked at here: a filter naming `acked_at` too is one
        SecantusDB answers by reading every alert (bench/scans.py)."""
        return any(alert.get("acked_at") is not None
                   for alert in self.alerts.find({"key": key}, {"acked_at": 1}))

    def climbs_due(self, now, limit=50):
        return list(self.alerts.find({"climb_due_at": clock.due(now)}).limit(limit))

    def claim_climb(self, alert, now):
        """True for the one instance that takes this climb."""
        return self.alerts.update_one(
            {"_id": alert["_id"], "climb_due_at": alert["climb_due_at"]},
            {"$set": {"climb_due_at": now + CLAIM_LEASE}}).modified_count == 1

    def climbed(self, alert, now, to_unit, people, events=()):
        """The climb on record, once, with the events it causes in the same
        write (the alert is their outbox): an instance whose claim ran out
        and was taken again writes nothing a second time."""
        update = {"$set": {"climb_due_at": None, "climbed_at": now, "climbed_to_unit": to_unit,
                           "climbed_to": people}}
        if events:
            envs = outbox.record("notify", alert["_id"], alert.get("seq", 0), events, now)
            update = outbox.merge(update, outbox.push(alert.get("seq", 0), envs, now))
        return self.alerts.update_one({"_id": alert["_id"], "climbed_at": None},
                                      update).modified_count == 1

    # -- the order alerts are raised in, per report or case ----------------------
    def cursor(self, subject_id):
        found = self.db[SUBJECTS].find_one({"_id": subject_id}, {"alerts": 1})
        return cursor_of(subject_id, found)

    def advance_cursor(self, cursor, state):
        """Write the subject's next alert cursor if nobody moved it since it
        was read (the notices' cursor on the same document is not touched)."""
        if cursor["v"] == 0:
            try:   # the document may hold the notices' cursor already
                self.db[SUBJECTS].update_one({"_id": cursor["_id"], "alerts": {"$exists": False}},
                                             {"$set": {"alerts": {"v": 1, **state}}}, upsert=True)
                return True
            except DuplicateKeyError:
                return False
        return self.db[SUBJECTS].update_one(
            {"_id": cursor["_id"], "alerts.v": cursor["v"]},
            {"$set": {f"alerts.{k}": v for k, v in state.items()}, "$inc": {"alerts.v": 1}}
        ).modified_count == 1

    # -- deliveries ---------------------------------------------------------------
    def add_deliveries(self, deliveries, now):
        self.deliveries.add(deliveries, now)

    # -- rosters, robots, settings, leads -----------------------------------------
    def roster(self, unit_id):
        return self.kept.get(ROSTERS, unit_id,
                             lambda: self.db[ROSTERS].find_one({"_id": unit_id}))

    def save_roster(self, unit_id, roster):
        self.db[ROSTERS].replace_one({"_id": unit_id}, {"_id": unit_id, **roster}, upsert=True)
        self.kept.changed()

    def robot(self, unit_id):
        return self.kept.get(ROBOTS, unit_id,
                             lambda: self.db[ROBOTS].find_one({"_id": unit_id}))

    def save_robot(self, unit_id, robot):
        self.db[ROBOTS].replace_one({"_id": unit_id}, {"_id": unit_id, **robot}, upsert=True)
        self.kept.changed()

    def profile(self, person_id):
        return self.profiles([person_id])[person_id]

    def profiles(self, person_ids):
        """{person id: their alert settings, or None when they chose none}."""
        return self.kept.get_many(PROFILES, list(dict.fromkeys(person_ids)), lambda ids: {
            p["_id"]: p for p in self.db[PROFILES].find({"_id": {"$in": ids}})})

    def save_profile(self, person_id, profile):
        self.db[PROFILES].replace_one({"_id": person_id}, {"_id": person_id, **profile},
                                      upsert=True)
        self.kept.changed()

    def keep_unit(self, unit):
        key = (self.db.name, unit["unit_id"])
        last = _kept.get(key)
        if last and last[0] == unit and time.monotonic() - last[1] < KEEP_AGAIN:
            return   # kept already, unchanged
        self.db[UNITS].replace_one({"_id": unit["unit_id"]}, {"_id": unit["unit_id"], **unit},
                                   upsert=True)
        _kept[key] = (copy.deepcopy(unit), time.monotonic())

    def known_unit(self, unit_id):
        return self.db[UNITS].find_one({"_id": unit_id}, {"_id": 0})

    def lead_of(self, report_id):
        """The lead officer of the case opened from a report: on the case's
        alert cursor (alerts.lead_in), its subject's document found by the
        case's id, which the report's id makes (events.case_id_for: no index
        on the cursor's report, written by every write of a subject; issue
        19); or, for a case whose lead was kept before it was, in the
        case_leads collection."""
        found = self.db[SUBJECTS].find_one({"_id": events.case_id_for(report_id)},
                                           {"alerts.report_id": 1, "alerts.lead_officer_id": 1})
        lead = (found or {}).get("alerts") or {}
        if lead.get("report_id") == report_id and lead.get("lead_officer_id"):
            return lead["lead_officer_id"]
        found = self.db[CASE_LEADS].find_one({"_id": report_id})
        return found and found["lead_officer_id"]

    @staticmethod
    def upgrade(db):
        """Alert cursors kept in a collection of their own (before issue 19's
        one document per subject) move onto their subjects' documents."""
        for cursor in db[CURSORS].find():
            subject_id = cursor.pop("_id")
            try:
                db[SUBJECTS].update_one({"_id": subject_id, "alerts": {"$exists": False}},
                                        {"$set": {"alerts": cursor}}, upsert=True)
            except DuplicateKeyError:
                pass   # moved already (another instance starting, or a start cut short)
            db[CURSORS].delete_one({"_id": subject_id})


def cursor_of(subject_id, document):
    """The alert cursor on a subject's document (None: no document yet)."""
    alerts = (document or {}).get("alerts")
    return {"_id": subject_id, **alerts} if alerts else {"_id": subject_id, "v": 0, "released": 0}
