"""Notify: every disclosable step reaches the company, in order, once, by
its channels, in its language (案件偵辦結果及時告知, 定期回訪)."""
import os
from datetime import timedelta

from nameko.dependency_providers import Config
from nameko.events import event_handler
from nameko.timer import timer

from services.notify import channel_rules as rules
from services.notify.alert_policy_schema import AlertPolicy
from services.notify.alert_routes import AlertRoutes
from services.notify import domain
from services.notify import schemas as s
from services.notify.channels import Channels
from services.notify.channels.robot import Robot
from services.notify.courier import Courier
from services.notify.endpoints import WebhookRoutes
from services.notify.ordering import Sequencer
from services.notify.policy_schema import NotifyPolicy
from services.notify.repository import Repository
from services.notify.taking import Taking, one_at_a_time, write_left_marks
from services.notify import feed
from shared import clock, pages
from shared.errors import Conflict, Invalid, NotFound
from shared.events import CASE_EVENTS, REPORT_EVENTS, in_order
from shared.base import ServiceBase
from shared.idempotency_key import ANSWER
from shared.http import api
from shared.mongo import Mongo
from shared.outbox import OutboxRelay
from shared.policy import Policy
from shared.rpc import BoundedRpc
from shared.wakeup import Wakeup, wakeable_timer


class NotifyService(ServiceBase, AlertRoutes, WebhookRoutes):
    name = "notify"

    repo = Mongo("notify", Repository)
    policy = Policy("notify", NotifyPolicy())
    channels = Channels()
    config = Config()
    templates = domain.load_templates()
    # Alerts to police (alert_routes.py): their rule table, the people of a
    # unit (intake's), and the units' group robots.
    alert_policy = Policy("alerts", AlertPolicy())
    intake = BoundedRpc("intake")
    robot = Robot()
    courier_wakeup = Wakeup()
    # notify's own events (an unacknowledged alert's climb, for the ledger),
    # kept in the alert's outbox until sent.
    relay = OutboxRelay()

    # The handling of one event by its two consumers (taking.py); set per
    # worker by handle_event: a consumer called on its own makes its own.
    taking: Taking | None = None

    def sequencer(self, marks=None):
        return Sequencer(self.repo, self.templates, self.policy, clock.now,
                         channels_of=self.channels.of,
                         endpoints_of=self.repo.endpoints.enabled_for, marks=marks,
                         alert_order=self.alert_order(marks))

    def taken(self, event):
        """The event stored, once per handling, and the handling it is in;
        with it, whether it was new (False: a redelivery, for the inbox)."""
        taking = self.taking or Taking(self.repo, clock.now, once=False)
        return taking, taking.store(event)

    # -- events in ---------------------------------------------------------
    @event_handler("intake", "company_registered")
    def handle_company_registered(self, body):
        self.inbox.consume(body, self.remember_company)

    def remember_company(self, event):
        self.repo.save_company(event["data"], event["sequence"])

    # Every event of a report or a case, told or not: each fills its place
    # in the subject's sequence, so the ones after it can be released.
    # From one queue, as sent (shared/events.py IN_ORDER).
    @in_order({"intake": REPORT_EVENTS, "case_supervision": CASE_EVENTS})
    def handle_event(self, body):
        # Two consumers of one event, each failing and retried on its own
        # (the police's alerts from it do not wait for its notices). Both
        # are folded: an event in order is kept told by the subject's two
        # cursors, moved past it in one write; any other is stored, held,
        # and that record is both consumers' inbox record (taking.py).
        with one_at_a_time(body):
            self.repo.kept.after(self.inbox.occurred_at(body))   # what led to it (kept.py)
            self.taking = Taking(self.repo, clock.now, max_hold=timedelta(
                seconds=float(self.policy["order_max_hold_seconds"])))
            self.inbox.consume(body, self.add_notice, folded=True)
            self.inbox.consume(body, self.raise_alerts, folded=True)
            if self.taking.move():
                # An event in order: both told, both cursors moved in one
                # write; each consumer goes on from there, failing and
                # retried on its own.
                self.inbox.consume(body, self.add_notice, folded=True, counted=False)
                self.inbox.consume(body, self.raise_alerts, folded=True, counted=False)
            self.inbox.decided(self.taking.write())

    def add_notice(self, event):
        """Take the event in and release what is next for its subject; the
        deliveries it wrote are tried at once, not on the courier's next tick.
        Called again after the shared move of an event in order (taking.py)."""
        taking, fresh = self.taken(event)
        sequencer = self.sequencer(taking.marks)
        if "notices" in taking.moved:
            written = sequencer.went_on(event, taking.stored, taking.moved["notices"])
            if "alerts" in taking.moved:   # moved on with the notices' since
                taking.moved["alerts"] = sequencer.alert_cursors.get(
                    event["subject"], taking.moved["alerts"])
                taking.nothing_after = sequencer.nothing_after.get(event["subject"])
        else:
            written = sequencer.take(event, taking.stored, taking.subject, taking)
        if written:
            self.courier_wakeup.wake()
        return fresh

    # -- timers ------------------------------------------------------------
    @wakeable_timer(interval=0.5, wakeup="courier_wakeup", setting="COURIER_TICK_SECONDS")
    def deliver_due(self):
        Courier(self.repo, self.channels, clock.now, on_gone=self.endpoint_gone).deliver_due()

    @timer(interval=5)
    def wake_stranded(self):
        Courier(self.repo, self.channels, clock.now).wake_stranded()

    @timer(interval=1)
    def send_follow_ups(self):
        self.sequencer().send_follow_ups()

    @timer(interval=2)
    def write_marks(self):
        """The release marks the handlings of the last two seconds left
        (taking.py): they tell the sweeps, which look after 30 s at the
        soonest, what is done."""
        write_left_marks(self.repo, clock.now())

    @timer(interval=2)
    def release_overdue(self):
        self.sequencer().release_overdue()

    # -- the feed ----------------------------------------------------------
    @api("GET", "/notices", action="notice.read", query=s.NoticeQuery,
         answer=s.NoticePage)
    def list_notices(self, call):
        # A notice shows at once; the cursor looks back FEED_SETTLE_SECONDS
        # for one written late with an earlier time (feed.py).
        settle = timedelta(seconds=float(self.config.get("FEED_SETTLE_SECONDS", 2)))
        items, nxt = feed.read(self.repo, call.who.subject, call.query.get("after"),
                               call.query["limit"], clock.now(), settle)
        return pages.Page(call, items, nxt)

    # -- the company's channels --------------------------------------------
    @api("PUT", "/subscription", action="subscription.manage",
         body=s.SubscriptionIn, answer=s.SubscriptionOut)
    def put_subscription(self, call):
        refusal = self.channels.refusal(call.body)
        if refusal:  # a webhook URL that reaches inside someone's network
            channel, problem = refusal
            label = channel.label
            raise Invalid(f"the {label} is refused",
                          fields={channel.subscription_field: [problem]})
        company_id = call.who.subject
        # A PUT turns the webhook on again after its receiver answered 410.
        fields = dict(call.body, updated_at=clock.now(), webhook_gone_at=None)
        if not self.repo.create_subscription(company_id, dict(
                fields, webhook_secret=rules.new_secret(os.urandom(24)))):
            self.repo.update_subscription(company_id, fields)
        return self.repo.subscription(company_id)

    @api("GET", "/subscription", action="subscription.manage",
         answer=s.SubscriptionOut)
    def get_subscription(self, call):
        return self._subscription(call.who.subject)

    @api("POST", "/subscription/rotate-secret", action="subscription.manage",
         answer=s.SubscriptionOut, keyed=ANSWER)
    def rotate_secret(self, call):
        """A new secret; the old one signs beside it during the overlap."""
        sub = self._subscription(call.who.subject)
        self.repo.update_subscription(sub["_id"], rules.rotated(
            sub, rules.new_secret(os.urandom(24)), clock.now(),
            self.policy["secret_overlap_seconds"]))
        return self.repo.subscription(sub["_id"])

    def _subscription(self, company_id):
        sub = self.repo.subscription(company_id)
        if sub is None:
            raise NotFound("no subscription yet: PUT /subscription first")
        return sub

    # -- deliveries (admin) -------------------------------------------------
    @api("GET", "/deliveries", action="delivery.read", query=s.DeliveryQuery,
         answer=s.DeliveryList)
    def list_deliveries(self, call):
        q = dict(call.query)
        limit, after = q.pop("limit"), q.pop("after", None)
        found, nxt = self.repo.deliveries.listing(q, limit, after)
        return pages.Page(call, found, nxt)

    @api("GET", "/deliveries/<delivery_id>", action="delivery.read",
         answer=s.DeliveryOut)
    def get_delivery(self, call, delivery_id):
        return self._delivery(delivery_id)

    @api("POST", "/deliveries/<delivery_id>/replay", action="delivery.replay",
         answer=s.DeliveryOut, keyed=ANSWER)
    def replay_delivery(self, call, delivery_id):
        """A dead letter gets a fresh round of tries (its receiver recovered)."""
        if not self.repo.deliveries.replay(delivery_id, clock.now()):
            self._delivery(delivery_id)
            raise Conflict("only a dead letter can be replayed")
        return self._delivery(delivery_id)

    def _delivery(self, delivery_id):
        delivery = self.repo.deliveries.get(delivery_id)
        if delivery is None:
            raise NotFound("no such delivery")
        return delivery

