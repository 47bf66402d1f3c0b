"""Outbound channel rules: retry delays, signing and rotation, SSRF guard."""
import json
from datetime import datetime, timedelta, timezone

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from services.notify import channel_rules as rules
from services.notify.channels.webhook import signed_request

NOW = datetime.now(timezone.utc).replace(microsecond=0)


def test_retries_back_off_exponentially_with_jitter_over_hours():
    delays = [rules.retry_delay(n, 10, 3600, 0.999).total_seconds() for n in range(1, 13)]
    assert delays[:4] == pytest.approx([10, 20, 40, 80], rel=1e-2)
    assert max(delays) <= 3600
    assert 3 * 3600 < sum(delays) < 6 * 3600  # twelve tries span hours
    low = rules.retry_delay(3, 10, 3600, 0.0).total_seconds()
    assert low == 20  # jitter spreads each delay over [half, full)


def test_the_last_failed_try_makes_a_dead_letter():
    assert rules.after_failure(3, 5, NOW, timedelta(seconds=4)) == {
        "status": "pending", "next_attempt_at": NOW + timedelta(seconds=4)}
    assert rules.after_failure(5, 5, NOW, timedelta(seconds=4))["status"] == "dead"


def test_a_webhook_verifies_with_the_standard_webhooks_library():
    # The library checks the timestamp against the real clock: sign with it.
    now = datetime.now(timezone.utc).replace(microsecond=0)
    secret = rules.new_secret(b"k" * 24)
    assert secret.startswith("whsec_")
    envelope = {"event_id": "e-1", "type": "case_closed", "data": {"amount": "¥21,000.00"}}
    body, headers = signed_request(envelope, [secret], now)
    assert headers["webhook-id"] == "e-1"
    assert headers["webhook-timestamp"] == str(int(now.timestamp()))
    assert Webhook(secret).verify(body.encode(), headers) == json.loads(body)
    with pytest.raises(WebhookVerificationError):
        Webhook(rules.new_secret(b"x" * 24)).verify(body.encode(), headers)


def test_a_rotated_secret_signs_beside_the_old_one_until_the_overlap_ends():
    now = datetime.now(timezone.utc).replace(microsecond=0)  # the library checks it
    old, new = rules.new_secret(b"o" * 24), rules.new_secret(b"n" * 24)
    sub = dict({"webhook_secret": old}, **rules.rotated({"webhook_secret": old}, new,
                                                          now, 3600))
    both = rules.signing_secrets(sub, now + timedelta(minutes=59))
    assert both == [new, old]
    body, headers = signed_request({"event_id": "e-2"}, both, now)
    assert len(headers["webhook-signature"].split(" ")) == 2
    for secret in (old, new):  # a verifier on either secret accepts it
        Webhook(secret).verify(body, headers)
    assert rules.signing_secrets(sub, now + timedelta(hours=1)) == [new]


@pytest.mark.parametrize("address", [
    "127.0.0.1", "10.1.2.3", "172.16.0.9", "192.168.1.1", "169.254.169.254", "100.64.0.1",
    "0.0.0.0", "224.0.0.1", "240.0.0.1", "::1", "fe80::1", "fc00::1", "::ffff:127.0.0.1",
    "::ffff:10.0.0.1"])
def test_private_loopback_link_local_and_reserved_targets_are_refused(address):
    assert rules.address_problem(address, False) is not None


def test_public_addresses_are_allowed_and_allow_private_opens_local_ones():
    assert rules.address_problem("93.184.216.34", False) is None
    assert rules.address_problem("2606:2800:220:1::1", False) is None
    assert rules.address_problem("127.0.0.1", True) is None
    assert rules.address_problem("224.0.0.1", True) is not None


def test_webhook_urls_must_be_https_and_resolve_only_to_public_addresses():
    ok = "https://hooks.example.com/fasttrack"
    assert rules.target_problem(ok, ["93.184.216.34"], False) is None
    # One private address among several is enough to refuse (DNS tricks).
    assert rules.target_problem(ok, ["93.184.216.34", "10.0.0.5"], False)
    assert rules.target_problem(ok, [], False) == "the host does not resolve"
    assert rules.target_problem("http://hooks.example.com/", ["93.184.216.34"], False)
    assert rules.target_problem("ftp://hooks.example.com/", ["93.184.216.34"], True)
    assert rules.target_problem("https://u:p@hooks.example.com/", ["93.184.216.34"], False)
    # allow-private lets plain http reach a local receiver, never a public one.
    assert rules.target_problem("http://127.0.0.1:9/", ["127.0.0.1"], True) is None
    assert rules.target_problem("http://hooks.example.com/", ["93.184.216.34"], True)
