"""The routes and timers of alerts to police, mixed into NotifyService: the
inbox (GET /alerts, read, ack), a person's alert settings, a unit's duty
roster (值班) and group robot.

The roster lives here, in notify, rather than in intake beside the units:
notify alone reads it, at the moment of every alert that names "the unit",
so it is read from notify's own database with no question to another
service on that path, and its shape is the alerting's business. Intake is
asked only whether the officers a roster names belong to the unit.
"""
from typing import Any

from datetime import timedelta

from nameko.timer import timer

from services.notify import alert_schemas as a
from services.notify import roster
from services.notify.alert_courier import AlertCourier
from services.notify.alert_order import AlertOrder
from services.notify.alert_store import ALERTS
from services.notify.alerting import Alerter
from services.notify.channels.robot import robot_format
from shared import auth, clock, pages
from shared.errors import Conflict, Forbidden, Invalid, NotFound
from shared.http import Call, api


class AlertRoutes:
    repo: Any
    alert_policy: Any
    intake: Any
    channels: Any
    robot: Any
    inbox: Any
    policy: Any
    relay: Any
    taken: Any

    def alerter(self):
        return Alerter(self.repo.alerts, self.alert_policy, self.intake, self.channels,
                       self.robot, clock.now)

    def alert_order(self, marks=None):
        hold = timedelta(seconds=float(self.policy["order_max_hold_seconds"]))
        return AlertOrder(self.repo, self.alerter(), hold, clock.now, marks=marks)

    def raise_alerts(self, event):
        """An event that asks a person to act becomes their alerts
        (policy/alerts.yml), in the order of its report's or case's events.
        The event is stored by the notices' consumer of the same handling;
        here only if that one failed before storing it."""
        taking, fresh = self.taken(event)
        order = self.alert_order(taking.marks)
        if "alerts" in taking.moved:   # again, after the shared move (taking.py)
            order.went_on(event, taking.stored, taking.moved["alerts"], taking.nothing_after)
        else:
            order.take(event, taking.stored, taking.cursor, taking)
        return fresh

    @timer(interval=2)
    def release_overdue_alerts(self):
        self.alert_order().release_overdue()

    @timer(interval=1)
    def climb_unacknowledged(self):
        for alert_id in self.alerter().climb_due():
            self.relay.flush(ALERTS, alert_id)

    @timer(interval=3)
    def relay_alert_events(self):
        """Re-send what a crash or a broker outage left in an alert's outbox."""
        self.relay.sweep([ALERTS])

    @timer(interval=0.5)
    def deliver_alerts(self):
        AlertCourier(self.repo.alerts, self.channels, self.robot, clock.now).deliver_due()

    @timer(interval=5)
    def wake_stranded_alerts(self):
        AlertCourier(self.repo.alerts, self.channels, self.robot, clock.now).wake_stranded()

    # -- the inbox -------------------------------------------------------------------
    @api("GET", "/alerts", action="alert.read", query=a.AlertQuery, answer=a.AlertPage)
    def list_alerts(self, call: Call) -> Any:
        """The signed-in person's own alerts, newest first, and how many are unread."""
        store = self.repo.alerts
        found, nxt = store.inbox(call.who.subject, call.query["limit"], call.query.get("after"))
        page = pages.Page(call, found, nxt)
        page["unread"] = store.unread(call.who.subject)
        return page

    @api("POST", "/alerts/<alert_id>/read", action="alert.read", answer=a.AlertOut)
    def read_alert(self, call: Call, alert_id: str) -> Any:
        self._own_alert(call, alert_id)
        self.repo.alerts.mark(alert_id, call.who.subject, {"read_at": clock.now()}, "read_at")
        return self._own_alert(call, alert_id)

    @api("POST", "/alerts/<alert_id>/ack", action="alert.read", answer=a.AlertOut)
    def ack_alert(self, call: Call, alert_id: str) -> Any:
        """Acknowledged: it climbs no further (and counts as read)."""
        alert = self._own_alert(call, alert_id)
        now = clock.now()
        fields = {"acked_at": now, "read_at": alert["read_at"] or now}
        if not alert.get("climbed_at"):
            fields["climb_due_at"] = None
        self.repo.alerts.mark(alert_id, call.who.subject, fields, "acked_at")
        return self._own_alert(call, alert_id)

    def _own_alert(self, call, alert_id):
        alert = self.repo.alerts.get(alert_id, call.who.subject)
        if alert is None:   # another person's alert is no more found than a missing one
            raise NotFound("no such alert")
        return alert

    @api("GET", "/alert-deliveries", action="delivery.read", query=a.AlertDeliveryQuery,
         answer=a.AlertDeliveryList)
    def list_alert_deliveries(self, call: Call) -> Any:
        """Admin: alert deliveries and their dead letters, newest first."""
        q = dict(call.query)
        limit, after = q.pop("limit"), q.pop("after", None)
        found, nxt = self.repo.alerts.deliveries.listing(q, limit, after)
        return pages.Page(call, found, nxt)

    @api("POST", "/alert-deliveries/<delivery_id>/replay", action="delivery.replay",
         answer=a.AlertDeliveryOut)
    def replay_alert_delivery(self, call: Call, delivery_id: str) -> Any:
        """A dead letter gets a fresh round of tries (its robot or gateway recovered)."""
        store = self.repo.alerts.deliveries
        if not store.replay(delivery_id, clock.now()):
            if store.get(delivery_id) is None:
                raise NotFound("no such delivery")
            raise Conflict("only a dead letter can be replayed")
        return store.get(delivery_id)

    # -- a person's channels -----------------------------------------------------------
    @api("PUT", "/alerts/settings", action="alert.settings", body=a.AlertSettings,
         answer=a.AlertSettingsOut)
    def put_alert_settings(self, call: Call) -> Any:
        self.repo.alerts.save_profile(call.who.subject, dict(call.body, updated_at=clock.now()))
        return self.repo.alerts.profile(call.who.subject)

    @api("GET", "/alerts/settings", action="alert.settings", answer=a.AlertSettingsOut)
    def get_alert_settings(self, call: Call) -> Any:
        return self.repo.alerts.profile(call.who.subject) or {
            "_id": call.who.subject, "email": None, "phone": None, "channels": {}}

    # -- a unit's duty roster and robot ---------------------------------------------------
    @api("GET", "/units/<unit_id>/roster", action="roster.read", answer=a.RosterOut)
    def get_roster(self, call: Call, unit_id: str) -> Any:
        self._unit_for(call, unit_id, "roster.read")
        found = self.repo.alerts.roster(unit_id) or {"_id": unit_id, "weekly": {},
                                                    "overrides": []}
        return dict(found, on_duty_now=roster.on_duty(found, clock.now()))

    @api("PUT", "/units/<unit_id>/roster", action="roster.manage", body=a.RosterIn,
         answer=a.RosterOut)
    def put_roster(self, call: Call, unit_id: str) -> Any:
        unit = self._unit_for(call, unit_id, "roster.manage")
        body = dict(call.body, overrides=[dict(o, date=o["date"].isoformat())
                                          for o in call.body["overrides"]])
        theirs = {p["officer_id"] for p in unit["people"]}
        strangers = sorted(roster.officers_named(body) - theirs)
        if strangers:
            raise Invalid("the roster names officers of another unit",
                          {"officers": [f"not of this unit: {', '.join(strangers)}"]})
        self.repo.alerts.save_roster(unit_id, dict(body, updated_by=call.who.subject,
                                                   updated_at=clock.now()))
        return self.get_roster(call, unit_id)

    @api("PUT", "/units/<unit_id>/robot", action="roster.manage", body=a.RobotIn,
         answer=a.RobotOut)
    def put_robot(self, call: Call, unit_id: str) -> Any:
        self._unit_for(call, unit_id, "roster.manage")
        problem = self.robot.refused(call.body["url"])
        if problem:
            raise Invalid("the robot URL is refused", {"url": [problem]})
        self.repo.alerts.save_robot(unit_id, dict(call.body, updated_by=call.who.subject))
        return self.get_robot(call, unit_id)

    @api("GET", "/units/<unit_id>/robot", action="roster.read", answer=a.RobotOut)
    def get_robot(self, call: Call, unit_id: str) -> Any:
        self._unit_for(call, unit_id, "roster.read")
        found = self.repo.alerts.robot(unit_id)
        if found is None:
            raise NotFound("this unit has no robot")
        # A WeCom robot is never signed: the key in its URL is its credential.
        return dict(found, signed=bool(found.get("secret"))
                    and robot_format(found) == "dingtalk")

    def _unit_for(self, call, unit_id, action):
        unit = self.intake.call("unit_people", unit_id)
        if unit is None:
            raise NotFound("no such unit")
        if not auth.allows(call.who, action, unit["path"]):
            raise Forbidden("you may not do this for this unit")
        return unit
