"""Pure rules of a company's webhook endpoints (endpoints.py serves them):
which notices an endpoint gets, its deliveries and their lanes, what a
receiver's answer means for the next try (410 Gone, Retry-After), the test
ping, and the feed notice that tells a company an endpoint was disabled.

An endpoint is stored with the subscription's own field names for its
target and secrets (`webhook_url`, `webhook_secret`, `previous_secret`,
`previous_secret_expires_at`), so the webhook channel and the secret rules
(channel_rules.py) serve both alike.

No clock, no ids, no I/O: those come in as arguments.
"""
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime

from services.notify import domain
from services.notify.channel_rules import after_failure
from shared import clock

# The subscription's webhook (PUT /subscription) shows as this endpoint.
SUBSCRIPTION = "subscription"
MAX_ENDPOINTS = 20           # per company: each one a lane of every case
PING = "webhook.ping"
DISABLED = "webhook_endpoint_disabled"   # the feed notice's event_type
GONE_TEXT = "_webhook_gone"              # its text in templates.yml
GONE = 410
THROTTLED = (429, 503)


def event_types(templates):
    """The event types a company can hear of, and so filter on."""
    return sorted(k for k in templates if not k.startswith("_"))


def wants(endpoint, event_type):
    """An endpoint with no filter (null) takes every notice."""
    chosen = endpoint.get("event_types")
    return chosen is None or event_type in chosen


def endpoint_deliveries(notice, endpoints, lanes, now):
    """One webhook delivery per enabled endpoint whose filter takes the notice,
    each after the endpoint's previous delivery of this subject."""
    out = []
    for endpoint in endpoints:
        if not endpoint.get("enabled") or not wants(endpoint, notice["event_type"]):
            continue
        key = f"webhook:{endpoint['_id']}"
        delivery = domain.deliveries_for(notice, ["webhook"], {"webhook": lanes.get(key)},
                                         now)[0]
        delivery.update(_id=f"{notice['_id']}:{key}", endpoint_id=endpoint["_id"], lane=key)
        out.append(delivery)
    return out


def as_subscription(endpoint, force=False):
    """What the webhook channel reads for this endpoint: no target while it
    is disabled (its waiting deliveries are skipped), unless `force` (a ping)."""
    if endpoint is None:
        return None
    if endpoint.get("enabled") or force:
        return endpoint
    return dict(endpoint, webhook_url=None)


def new_endpoint(company_id, body, endpoint_id, secret, now):
    """An endpoint as stored, from POST /webhooks. `generation` counts its
    enablings (a 410 disables one generation once); `v` its changes."""
    on = body["enabled"]
    return {"_id": endpoint_id, "company_id": company_id, "webhook_url": body["url"],
            "webhook_secret": secret, "event_types": body["event_types"], "enabled": on,
            "description": body.get("description"),
            "disabled_reason": None if on else "company", "disabled_at": None if on else now,
            "generation": 0, "v": 0, "created_at": now, "updated_at": now}


def changed(endpoint, body, now):
    """($set, $inc) of a PATCH. Enabling it again after a 410 starts a new
    generation: a later 410 disables it (and tells) anew."""
    changes, inc = dict(body), {}
    if "url" in changes:
        changes["webhook_url"] = changes.pop("url")
    if changes.get("enabled") is True and not endpoint["enabled"]:
        changes.update(disabled_reason=None, disabled_at=None)
        inc["generation"] = 1
    elif changes.get("enabled") is False and endpoint["enabled"]:
        changes.update(disabled_reason="company", disabled_at=now)
    return changes, inc


# -- a receiver's answer -------------------------------------------------------
def retry_after_seconds(value, now):
    """RFC 9110 Retry-After: delay-seconds or an HTTP-date; None if absent or
    unreadable (the usual backoff then holds)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value[:9])
    try:
        at = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    return max(0.0, (clock.utc(at) - now).total_seconds())


def after_failure_of(tries, max_tries, now, backoff, status_code, retry_after, max_delay):
    """The delivery's $set after a failed try. 410 Gone: dead at once (the
    receiver says it will never take more). 429/503 with Retry-After: not
    before the time it names, nor later than the longest delay."""
    if status_code == GONE:
        return {"status": "dead", "dead_at": now, "next_attempt_at": None, "gone": True}
    if status_code in THROTTLED and retry_after is not None:
        wait = min(max(backoff.total_seconds(), retry_after), max_delay)
        backoff = timedelta(seconds=wait)
    return after_failure(tries, max_tries, now, backoff)


# -- the test ping --------------------------------------------------------------
def ping_envelope(endpoint_id, event_id, now):
    """A signed test event: the same envelope shape as every webhook."""
    return {"event_id": event_id, "specversion": "1.0", "type": PING, "source": "notify",
            "subject": endpoint_id, "sequence": 0, "occurred_at": now.isoformat(),
            "data": {"endpoint_id": endpoint_id}}


# -- the feed notice of a disabled endpoint --------------------------------------
def gone_notice(endpoint, language, templates, notice_id, event_id, now):
    """The notice in the company's feed (its language) that a receiver
    answered 410 Gone and its endpoint is disabled: no more webhooks go to
    it until the company enables it again."""
    data = {"url": endpoint.get("webhook_url") or "",
            "description": endpoint.get("description") or "",
            "disabled_at": now}
    language, title, body = domain.render(templates, GONE_TEXT, language, data)
    envelope = {"event_id": event_id, "specversion": "1.0", "type": DISABLED,
                "source": "notify", "subject": endpoint["_id"], "sequence": 0,
                "occurred_at": now.isoformat(),
                "data": {"endpoint_id": endpoint["_id"], "url": data["url"]}}
    return {"_id": notice_id, "company_id": endpoint["company_id"], "event_id": event_id,
            "event_type": DISABLED, "subject": endpoint["_id"], "sequence": 0, "order": 0.0,
            "language": language, "title": title, "body": body, "created_at": now,
            "envelope": envelope}


def subscription_endpoint(sub):
    """The subscription's webhook as an endpoint: every event, managed by
    PUT /subscription (which also enables it again after a 410)."""
    return {"_id": SUBSCRIPTION, "company_id": sub["_id"], "webhook_url": sub["webhook_url"],
            "webhook_secret": sub.get("webhook_secret"),
            "previous_secret": sub.get("previous_secret"),
            "previous_secret_expires_at": sub.get("previous_secret_expires_at"),
            "event_types": None, "enabled": not sub.get("webhook_gone_at"),
            "disabled_reason": "gone" if sub.get("webhook_gone_at") else None,
            "disabled_at": sub.get("webhook_gone_at"), "description": None,
            "managed_by": "subscription", "created_at": sub.get("updated_at"),
            "updated_at": sub.get("updated_at")}


def generation_key(endpoint):
    """What makes one disabling of an endpoint distinct from the next: its
    enabling count (the subscription's: when it was last PUT)."""
    stamp = endpoint.get("generation")
    if stamp is None:
        at = endpoint.get("updated_at")
        stamp = at.isoformat() if isinstance(at, datetime) else str(at)
    return f"gone:{endpoint['company_id']}:{endpoint['_id']}:{stamp}"
