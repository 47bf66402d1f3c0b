"""Alerts to police, raised: an event becomes an alert to each person the
rule table names (alerts.py), in each person's inbox and, through
alert_courier.py, on the channels they chose; an alert that asks for action and is not acknowledged
in time climbs to the next supervisors up the tree.

Who the people of a unit are, and its place in the tree, is intake's
(RPC `unit_people`); the duty roster, each person's settings and each
unit's robot are notify's own. Every alert is stored once per event and
person (its id derives from both), every delivery once per alert and
channel, so a retried event or a second instance adds nothing.

An event takes intake's answer from an ask begun after it occurred, if
one is under FRESH_FOR old (`_ASKED`, shared by this process's workers):
that answer saw every change of the directory completed before the event,
what could have led to it — the guarantee of kept.py's after(), and with
it its caveat (the producer's clock is the reference). Under load events
wait in their queue, and one ask serves those of a unit that occurred
before it began (issue 19: each alerting event asked, three broker
messages and a worker in notify and in intake).
"""
import copy
import logging
import time
from datetime import datetime, timedelta, timezone

from services.notify import alerts, roster
from services.notify.alert_store import alert_id
from shared.kept import serves_event

log = logging.getLogger(__name__)

# notify's database name -> {unit id: (intake's answer, when the ask began,
# wall clock)}: this process's, apart for each database as kept.py's copies.
_ASKED: dict = {}


def _instant(occurred_at):
    """An event's `occurred_at` as a timestamp; a naive datetime (as read
    back from the database) is UTC; anything else: None (ask intake)."""
    if not isinstance(occurred_at, datetime):
        return None
    return (occurred_at if occurred_at.tzinfo else occurred_at.replace(tzinfo=timezone.utc)
            ).timestamp()


class Alerter:
    def __init__(self, store, policy, intake, channels, robot, now, wall=time.time,
                 asked=None):
        self.store = store
        self.policy = policy
        self.intake = intake        # BoundedRpc to intake, asked only when needed
        self.channels = channels    # the company channels' objects: email and sms reused
        self.robot = robot
        self.now = now
        self.wall = wall
        self.asked = _ASKED.setdefault(store.db.name, {}) if asked is None else asked
        self.since: float | None = None   # when the event taken occurred (None: a timer's)
        self._units: dict = {}
        self.lanes: dict = {}

    def unit(self, unit_id):
        """{"path", "people"} of a unit, asked of intake once per event."""
        if unit_id not in self._units:
            self._units[unit_id] = self._answer(unit_id) or {
                "unit_id": unit_id, "path": [unit_id], "people": []}
        return self._units[unit_id]

    def _answer(self, unit_id):
        """intake's answer: one asked after the event occurred, if under
        FRESH_FOR old, or asked now. While intake or the broker cannot
        answer, the last answer kept in the database serves: a page must
        not wait for the directory (with none kept, the event fails and the
        inbox retries it)."""
        last = self.asked.get(unit_id)
        if last and serves_event(self.since, last[1], self.wall()):
            return copy.deepcopy(last[0])
        began = self.wall()
        try:
            found = self.intake.call("unit_people", unit_id, self.since)
        except Exception:
            found = self.store.known_unit(unit_id)
            if found is None:
                raise
            log.warning("intake did not answer: unit %s as last known", unit_id)
            return found
        self.asked[unit_id] = (copy.deepcopy(found), began)
        if found:
            self.store.keep_unit(found)
        return found

    # -- events in ---------------------------------------------------------------
    def take(self, event, lanes=None):
        """Raise the alerts an event asks for. `lanes` (channel lane -> the
        last delivery on it for this subject, alert_order.py) is moved on
        in place, so each delivery waits for the one before it."""
        self.lanes = {} if lanes is None else lanes
        self.since = _instant(event.get("occurred_at"))
        rule = alerts.rule_for(self.policy, event)
        if rule is None:
            return
        reached = self.reach(event, rule, rule["to"])
        if not reached and rule.get("otherwise"):
            reached = self.reach(event, rule, rule["otherwise"])
        if not reached:
            log.warning("%s %s: the rule table names nobody to alert", event["type"],
                        event["subject"])

    def reach(self, event, rule, entries):
        """Alert everyone the entries name; how many people that was."""
        data, key = event["data"], event["event_id"]
        told = 0
        for kind, value in alerts.targets(entries, data):
            if kind == "case_lead":
                kind, value = "officer", self.store.lead_of(value)
                if not value:
                    continue
            if kind == "officer":
                unit_id = data.get("unit_id") or data.get("owner_unit_id")
                path = data.get("unit_path") or data.get("owner_unit_path") or [unit_id]
                told += self.raise_for(event, key, rule["severity"], rule.get("needs_ack"),
                                       [(value, "officer")], unit_id, path)
            elif kind == "supervisors":
                found = self.supervisors_from(value)
                if found:
                    unit_id, path, people = found
                    told += self.raise_for(event, key, rule["severity"],
                                           rule.get("needs_ack"), people, unit_id, path)
            elif kind == "on_duty":
                told += self.on_duty(event, key, rule, value)
        return told

    def on_duty(self, event, key, rule, unit_id):
        """The unit's officers on duty now; nobody on duty: every officer of
        the unit, and its supervisors are told nobody was."""
        unit = self.unit(unit_id)
        duty = roster.on_duty(self.store.roster(unit_id), self.now())
        people = [(p, "officer") for p in duty]
        if not people:
            people = [(p["officer_id"], p["role"]) for p in unit["people"]
                      if p["role"] == "officer"]
            heads = [(p["officer_id"], p["role"]) for p in unit["people"]
                     if p["role"] == "supervisor"]
            if heads:
                self.raise_for(event, f"{key}:nobody_on_duty", "warning", False, heads,
                               unit_id, unit["path"], kind="nobody_on_duty")
        return self.raise_for(event, key, rule["severity"], rule.get("needs_ack"), people,
                              unit_id, unit["path"])

    def supervisors_from(self, unit_id):
        """(unit, path, supervisors) of the first unit from `unit_id` up the
        tree that has a supervisor, or None at the top with nobody."""
        path = self.unit(unit_id)["path"]
        for step in path:
            heads = [(p["officer_id"], "supervisor") for p in self.unit(step)["people"]
                     if p["role"] == "supervisor"]
            if heads:
                return step, path[path.index(step):], heads
        return None

    def raise_for(self, event, key, severity, needs_ack, people, unit_id, path,
                  kind=None, also=None, words=None):
        """One alert per person (stored once), in that person's language,
        then its deliveries. `words(language)` is the (title, body) when
        the event's own text is not it (a climb)."""
        now = self.now()
        kind = kind or event["type"]
        facts = {k: event["data"].get(k) for k in alerts.TEXT_FIELDS}
        words = words or (lambda language: alerts.text(kind, facts, language))
        profiles = self.store.profiles(p for p, _ in people)
        ack_due = now + timedelta(seconds=self.policy["ack_within_seconds"]) \
            if needs_ack else None
        made = []
        for person_id, role in people:
            language = alerts.language_of(profiles.get(person_id))
            title, body = words(language)
            made.append({
                "_id": alert_id(key, person_id), "key": key, "person_id": person_id,
                "person_role": role, "unit_id": unit_id, "unit_path": list(path),
                "event_id": event["event_id"], "event_type": event["type"], "kind": kind,
                "subject": event["subject"], "severity": severity,
                **{k: event["data"].get(k) for k in alerts.CARRIED},
                "rung": event["data"].get("rung"),
                "title": title, "body": body, "language": language, "facts": facts,
                "needs_ack": bool(needs_ack),
                "ack_due_at": ack_due, "climb_due_at": ack_due, "created_at": now,
                "read_at": None, "acked_at": None, "climbed_at": None, **(also or {})})
        for alert in made:
            self.store.add(alert)
        self.store.add_deliveries(self.deliveries(made, unit_id, now, profiles,
                                                  words(alerts.DEFAULT_LANGUAGE)), now)
        return len(made)

    def deliveries(self, made, unit_id, now, profiles, group_words):
        """Email and SMS per alert, and one robot message for the unit that
        @-s everyone who chose it, in the group's Simplified Chinese; ids
        derive from the alert, so a retry adds none."""
        robot = self.store.robot(unit_id)
        out, mentions, to_robot = [], [], False
        for alert in made:
            profile = profiles.get(alert["person_id"]) or {}
            have = {"email"} if profile.get("email") and self.channels.by_name[
                "email"].enabled else set()
            have |= {"sms"} if profile.get("phone") else set()
            have |= {"robot"} if robot else set()
            chosen = alerts.channels_for(profile, alert["severity"],
                                         self.policy["default_channels"], have)
            for channel in ("email", "sms"):
                if channel in chosen:
                    out.append(self._in_lane(
                        self._delivery(f"{channel}:{alert['_id']}", channel, alert, now,
                                       person_id=alert["person_id"]),
                        f"{channel}:{alert['person_id']}"))
            if "robot" in chosen:
                to_robot = True
                if profile.get("phone") or profile.get("wecom_userid"):
                    mentions.append({"person_id": alert["person_id"],
                                     "mobile": profile.get("phone"),
                                     "wecom_userid": profile.get("wecom_userid")})
        if to_robot:
            first = made[0]
            group = dict(first, title=group_words[0], body=group_words[1],
                         language=alerts.DEFAULT_LANGUAGE)
            out.append(self._in_lane(
                self._delivery(f"robot:{first['key']}:{unit_id}", "robot", group, now,
                               unit_id=unit_id, mentions=mentions,
                               mobiles=sorted({m["mobile"] for m in mentions if m["mobile"]})),
                f"robot:{unit_id}"))
        return out

    def _in_lane(self, delivery, lane):
        """Behind the subject's last delivery on this lane (a retried event
        finds itself there: it is not its own predecessor)."""
        before = self.lanes.get(lane)
        if before and before != delivery["_id"]:
            delivery.update(after=before, next_attempt_at=None)
        self.lanes[lane] = delivery["_id"]
        return delivery

    @staticmethod
    def _delivery(delivery_id, channel, alert, now, **extra):
        return {"_id": delivery_id, "channel": channel, "alert_id": alert["_id"],
                "event_id": alert["event_id"], "title": alert["title"], "body": alert["body"],
                "language": alert["language"],
                "status": "pending", "tries": 0, "next_attempt_at": now, "after": None,
                "created_at": now, "attempts": [], **extra}

    # -- acknowledge, or it climbs -------------------------------------------------------
    def climb_due(self):
        """Climb every alert whose time to be acknowledged ran out; the ids of
        the alerts whose climb put an event in their outbox (to flush)."""
        now, recorded = self.now(), []
        for alert in self.store.climbs_due(now):
            if not self.store.claim_climb(alert, now):
                continue            # another instance took this step
            if self.store.acked_any(alert["key"]):
                self.store.climbed(alert, now, None, [])   # a colleague acknowledged it
                continue
            up = alerts.next_unit(alert["unit_path"], alert["unit_id"],
                                  alert["person_role"] == "supervisor")
            found = up and self.supervisors_from(up)
            unit_id, people = None, []
            if found:
                unit_id, path, people = found
                event = {"event_id": alert["event_id"], "type": alert["event_type"],
                         "subject": alert["subject"],
                         "data": dict(alert.get("facts") or {},
                                      **{k: alert.get(k) for k in alerts.CARRIED})}
                self.lanes = {}   # a climb follows its own alert, not the subject's lanes
                self.raise_for(event, f"{alert['event_id']}>{unit_id}", "critical", True,
                               people, unit_id, path, kind="climbed",
                               also={"from_alert_id": alert["_id"],
                                     "from_person_id": alert["person_id"],
                                     "origin_kind": alert.get("origin_kind") or alert["kind"],
                                     "rung": None},   # a climb is no rung of the case's ladder
                               words=lambda language: alerts.climbed_text(alert, language))
            # Unacknowledged, whether it reached someone or the top of the
            # ladder: the ledger records it (case_supervision takes the event).
            told = [p for p, _ in people]
            if self.store.climbed(alert, now, unit_id, told,
                                  [alerts.climbed_event(alert, unit_id, told, now)]):
                recorded.append(alert["_id"])
        return recorded
