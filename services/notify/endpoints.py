"""Webhook endpoints for integrators (notify's routes, mixed into NotifyService).

A company may have several endpoints (collection `endpoints`, at most
MAX_ENDPOINTS), each with its own URL, its own Standard Webhooks secret
(shown when made and when rotated, never again), an event-type filter
(a list, or null for every event) and an on/off state. Each endpoint is its
own lane: it carries a case's notices in order, whatever the others do.

The subscription's webhook (PUT /subscription) is unchanged and shows here
as the endpoint `subscription`: every event, managed by PUT /subscription.

A receiver that answers 410 Gone has its endpoint disabled at once (its
delivery is dead, no more tries) and the company finds a notice in its
feed, in its language; enabling the endpoint again (PATCH, or a PUT
/subscription for the subscription's) resumes. 429 or 503 with Retry-After
is honoured by the courier (endpoint_rules.after_failure_of).

A company reads each endpoint's delivery log, replays a dead delivery and
sends a signed test ping (rate-limited). Another company's endpoint or
delivery is as unknown as none: every read is scoped to the caller.
"""
import os
import time
from typing import Any

from werkzeug.wrappers import Response

from services.notify import channel_rules as rules
from services.notify import domain
from services.notify import endpoint_schemas as es
from services.notify.endpoint_rules import (MAX_ENDPOINTS, SUBSCRIPTION, as_subscription,
                                            changed, generation_key, gone_notice,
                                            new_endpoint, ping_envelope,
                                            subscription_endpoint)
from services.notify.ordering import notice_id
from shared import clock, idempotency_key, pages
from shared.errors import Conflict, Invalid, NotFound
from shared.http import Call, api

UNKNOWN = "no such webhook endpoint"


class WebhookRoutes:
    """The webhook endpoint routes; NotifyService supplies these."""
    repo: Any
    policy: Any
    channels: Any
    templates: Any

    # -- the endpoints -----------------------------------------------------
    @api("POST", "/webhooks", action="webhook.manage", body=es.EndpointIn,
         answer=es.EndpointWithSecret, status=201, keyed=True)
    def create_webhook(self, call: Call):
        company_id, body, now = call.who.subject, call.body, clock.now()
        earlier = call.key and self.repo.endpoints.by_key(call.key.key)
        if earlier:  # a retry: the first answer again, secret included
            idempotency_key.same_creation(earlier, call.key)
            return 200, earlier
        self._refuse_target(body["url"])
        if self.repo.endpoints.count(company_id) >= MAX_ENDPOINTS:
            raise Conflict(f"a company has at most {MAX_ENDPOINTS} webhook endpoints")
        doc = new_endpoint(company_id, body, "wh_" + clock.new_id().replace("-", ""),
                           rules.new_secret(os.urandom(24)), now)
        doc.update(idempotency_key.on_create(call.key, now))
        saved, created = self.repo.endpoints.create(doc)
        if not created:
            idempotency_key.same_creation(saved, call.key)
        return (201 if created else 200), saved

    @api("GET", "/webhooks", action="webhook.manage", query=pages.PageQuery,
         answer=es.EndpointPage)
    def list_webhooks(self, call: Call):
        """The company's endpoints, oldest first; the first page begins with
        the subscription's webhook when it has one."""
        company_id = call.who.subject
        items, nxt = self.repo.endpoints.page(company_id, call.query["limit"],
                                              call.query.get("after"))
        sub = self.repo.subscription(company_id)
        if not call.query.get("after") and sub and sub.get("webhook_url"):
            items = [subscription_endpoint(sub), *items]
        return pages.Page(call, items, nxt)

    @api("GET", "/webhooks/<endpoint_id>", action="webhook.manage", answer=es.EndpointView)
    def get_webhook(self, call: Call, endpoint_id):
        return self._endpoint(call.who.subject, endpoint_id)

    @api("PATCH", "/webhooks/<endpoint_id>", action="webhook.manage",
         body=es.EndpointChange, answer=es.EndpointView)
    def change_webhook(self, call: Call, endpoint_id):
        """Its URL, filter, description, or on/off. Enabling it again after a
        410 starts a new generation: a later 410 disables it (and tells) anew."""
        endpoint, now = self._own_endpoint(call.who.subject, endpoint_id), clock.now()
        if "url" in call.body:
            self._refuse_target(call.body["url"])
        changes, inc = changed(endpoint, call.body, now)
        if not self.repo.endpoints.change(endpoint, changes, None, now, inc):
            raise Conflict("the webhook endpoint changed meanwhile; read it again")
        return self._endpoint(call.who.subject, endpoint_id)

    @api("DELETE", "/webhooks/<endpoint_id>", action="webhook.manage", status=204)
    def delete_webhook(self, call: Call, endpoint_id):
        """Gone for good: its waiting deliveries are skipped, its log goes too."""
        self._own_endpoint(call.who.subject, endpoint_id)
        self.repo.endpoints.delete(call.who.subject, endpoint_id)
        return Response(status=204)

    @api("POST", "/webhooks/<endpoint_id>/rotate-secret", action="webhook.manage",
         answer=es.EndpointWithSecret, keyed=True)
    def rotate_webhook_secret(self, call: Call, endpoint_id):
        """A new secret, shown once; the old one signs beside it during the
        policy's overlap. A retry with the same key answers the same secret."""
        endpoint, now = self._own_endpoint(call.who.subject, endpoint_id), clock.now()
        if idempotency_key.seen(endpoint, call.key):
            return endpoint
        fields = rules.rotated(endpoint, rules.new_secret(os.urandom(24)), now,
                               self.policy["secret_overlap_seconds"])
        if not self.repo.endpoints.change(endpoint, fields, call.key, now):
            raise Conflict("the webhook endpoint changed meanwhile; read it again")
        return self._endpoint(call.who.subject, endpoint_id)

    # -- its deliveries ------------------------------------------------------
    @api("GET", "/webhooks/<endpoint_id>/deliveries", action="webhook.manage",
         query=es.DeliveryLogQuery, answer=es.DeliveryLogPage)
    def list_webhook_deliveries(self, call: Call, endpoint_id):
        """The endpoint's deliveries, newest first, every try on each."""
        scope = self._scope(self._endpoint(call.who.subject, endpoint_id))
        items, nxt = self.repo.deliveries.log(scope, call.query.get("status"),
                                              call.query["limit"], call.query.get("after"))
        return pages.Page(call, items, nxt)

    @api("GET", "/webhooks/<endpoint_id>/deliveries/<delivery_id>",
         action="webhook.manage", answer=es.EndpointDeliveryOut)
    def get_webhook_delivery(self, call: Call, endpoint_id, delivery_id):
        return self._own_delivery(self._scope(self._endpoint(call.who.subject, endpoint_id)),
                                  delivery_id)

    @api("POST", "/webhooks/<endpoint_id>/deliveries/<delivery_id>/replay",
         action="webhook.manage", answer=es.EndpointDeliveryOut, keyed=True)
    def replay_webhook_delivery(self, call: Call, endpoint_id, delivery_id):
        """A dead delivery gets a fresh round of tries (the receiver is back);
        the same Idempotency-Key again answers it without a second round."""
        endpoint = self._endpoint(call.who.subject, endpoint_id)
        scope = self._scope(endpoint)
        delivery = self._own_delivery(scope, delivery_id)
        if idempotency_key.seen(delivery, call.key):
            return delivery
        if not endpoint["enabled"]:
            raise Conflict("the webhook endpoint is disabled; enable it first")
        if not self.repo.deliveries.replay(delivery_id, clock.now(), scope,
                                           idempotency_key.remember(call.key, clock.now())):
            raise Conflict("only a dead letter can be replayed")
        return self._own_delivery(scope, delivery_id)

    @api("POST", "/webhooks/<endpoint_id>/ping", action="webhook.manage",
         limit="webhook.ping", answer=es.PingOut)
    def ping_webhook(self, call: Call, endpoint_id):
        """A signed `webhook.ping` now, disabled or not, and what the receiver
        answered; it is not a delivery and is not retried."""
        endpoint, now = self._endpoint(call.who.subject, endpoint_id), clock.now()
        event_id = clock.new_id()
        attempt = {"at": now, "target": endpoint["webhook_url"], "status_code": None}
        started = time.monotonic()
        try:
            status = self.channels.by_name["webhook"].post(
                endpoint["webhook_url"], ping_envelope(endpoint["_id"], event_id, now),
                as_subscription(endpoint, force=True), now)
            attempt.update(ok=True, detail=f"receiver answered {status}", status_code=status)
        except Exception as exc:  # the receiver's failure is the answer, not ours
            attempt.update(ok=False, error=str(exc)[:500] or type(exc).__name__,
                           status_code=getattr(exc, "status_code", None))
        attempt["ms"] = int((time.monotonic() - started) * 1000)
        return {"event_id": event_id, "ok": attempt["ok"], "attempt": attempt}

    # -- a 410 from a receiver (the courier calls this) ------------------------
    def endpoint_gone(self, delivery, source):
        """Disable the endpoint a receiver said is gone, and tell the company.
        The notice is written first, under an id fixed by this endpoint's
        generation: a crash before the disabling is mended by the next 410,
        whose notice is then a no-op."""
        now = clock.now()
        if delivery.get("endpoint_id"):
            endpoint = source
        else:
            endpoint = subscription_endpoint(source)
        company_id = endpoint["company_id"]
        language = domain.language_of(self.repo.subscription(company_id),
                                      self.repo.company(company_id))
        key = generation_key(endpoint)
        self.repo.add_notice(gone_notice(endpoint, language, self.templates, notice_id(key),
                                         notice_id(key + ":event"), now))
        if delivery.get("endpoint_id"):
            self.repo.endpoints.disable_gone(endpoint, now)
        else:
            self.repo.subscription_webhook_gone(source, now)

    # -- helpers ------------------------------------------------------------------
    def _refuse_target(self, url):
        refusal = self.channels.refusal({"webhook_url": url})
        if refusal:  # a URL that reaches inside someone's network
            channel, problem = refusal
            raise Invalid(f"the {channel.label} is refused", fields={"url": [problem]})

    def _endpoint(self, company_id, endpoint_id):
        if endpoint_id == SUBSCRIPTION:
            sub = self.repo.subscription(company_id)
            if sub and sub.get("webhook_url"):
                return subscription_endpoint(sub)
            raise NotFound(UNKNOWN)
        endpoint = self.repo.endpoints.get(company_id, endpoint_id)
        if endpoint is None:
            raise NotFound(UNKNOWN)
        return endpoint

    def _own_endpoint(self, company_id, endpoint_id):
        """An endpoint these routes manage (not the subscription's)."""
        endpoint = self._endpoint(company_id, endpoint_id)
        if endpoint_id == SUBSCRIPTION:
            raise Conflict("the subscription's webhook is managed under /subscription")
        return endpoint

    @staticmethod
    def _scope(endpoint):
        """The filter of an endpoint's deliveries (the caller's own endpoint)."""
        if endpoint["_id"] == SUBSCRIPTION:
            return {"company_id": endpoint["company_id"], "channel": "webhook",
                    "endpoint_id": None}
        return {"company_id": endpoint["company_id"], "endpoint_id": endpoint["_id"]}

    def _own_delivery(self, scope, delivery_id):
        delivery = self.repo.deliveries.get_within(scope, delivery_id)
        if delivery is None:
            raise NotFound("no such delivery")
        return delivery

