"""The pure rules of webhook endpoints: filters and lanes, what a receiver's
410 and Retry-After mean for the next try, and the disabled notice's text."""
from datetime import datetime, timedelta, timezone

from services.notify import domain
from services.notify import endpoint_rules as rules

NOW = datetime(2026, 11, 30, 2, 0, tzinfo=timezone.utc)
TEMPLATES = domain.load_templates()


def notice(event_type="case_opened", notice_id="n1"):
    return {"_id": notice_id, "company_id": "c1", "subject": "case-1", "event_id": "e1",
            "event_type": event_type, "sequence": 1}


def endpoint(endpoint_id, event_types=None, enabled=True):
    return {"_id": endpoint_id, "company_id": "c1", "event_types": event_types,
            "enabled": enabled, "webhook_url": f"https://{endpoint_id}.example/hook"}


def test_each_enabled_endpoint_whose_filter_takes_the_notice_gets_one_delivery_in_its_lane():
    ends = [endpoint("all"), endpoint("opened", ["case_opened"]),
            endpoint("closed", ["case_closed"]), endpoint("off", enabled=False)]
    out = rules.endpoint_deliveries(notice(), ends, {"webhook:all": "n0:webhook:all"}, NOW)
    assert [(d["_id"], d["endpoint_id"], d["channel"]) for d in out] == [
        ("n1:webhook:all", "all", "webhook"), ("n1:webhook:opened", "opened", "webhook")]
    waits, first = out
    assert waits["after"] == "n0:webhook:all" and waits["next_attempt_at"] is None
    assert first["after"] is None and first["next_attempt_at"] == NOW
    assert domain.lane_of(waits) == "webhook:all"
    state = domain.released({"_id": "case-1", "lanes": {"webhook": "x"}},
                            {"sequence": 1, "source": "intake", "data": {}}, None, out, 60)
    assert state["lanes"] == {"webhook": "x", "webhook:all": "n1:webhook:all",
                              "webhook:opened": "n1:webhook:opened"}


def test_a_filter_names_only_event_types_a_company_can_hear_of():
    types = rules.event_types(TEMPLATES)
    assert "case_opened" in types and "case_follow_up" in types
    assert not [t for t in types if t.startswith("_")]


def test_retry_after_is_seconds_or_an_http_date():
    assert rules.retry_after_seconds("120", NOW) == 120
    assert rules.retry_after_seconds("Mon, 30 Nov 2026 02:00:30 GMT", NOW) == 30
    assert rules.retry_after_seconds("Mon, 30 Nov 2026 01:00:00 GMT", NOW) == 0
    for unreadable in (None, "", "soon", "-5", "1.5e9x"):
        assert rules.retry_after_seconds(unreadable, NOW) is None


def test_410_is_dead_at_once_and_retry_after_sets_the_next_try_within_the_cap():
    backoff = timedelta(seconds=1)
    gone = rules.after_failure_of(1, 12, NOW, backoff, 410, None, 3600)
    assert gone["status"] == "dead" and gone["gone"] and gone["next_attempt_at"] is None
    later = rules.after_failure_of(1, 12, NOW, backoff, 429, 30, 3600)
    assert later == {"status": "pending", "next_attempt_at": NOW + timedelta(seconds=30)}
    capped = rules.after_failure_of(1, 12, NOW, backoff, 503, 86400, 600)
    assert capped["next_attempt_at"] == NOW + timedelta(seconds=600)
    sooner = rules.after_failure_of(1, 12, NOW, timedelta(seconds=60), 429, 5, 3600)
    assert sooner["next_attempt_at"] == NOW + timedelta(seconds=60)  # never before the backoff
    plain = rules.after_failure_of(1, 12, NOW, backoff, 500, 30, 3600)
    assert plain["next_attempt_at"] == NOW + backoff   # Retry-After only on 429 and 503
    assert rules.after_failure_of(12, 12, NOW, backoff, 429, 30, 3600)["status"] == "dead"


def test_a_disabled_endpoint_has_no_target_but_a_ping_still_reaches_it():
    off = endpoint("a", enabled=False)
    assert rules.as_subscription(off)["webhook_url"] is None
    assert rules.as_subscription(off, force=True)["webhook_url"] == "https://a.example/hook"
    assert rules.as_subscription(None) is None


def test_the_disabled_notice_speaks_the_companys_language():
    zh = rules.gone_notice(dict(endpoint("a"), description="旧系统"), "zh-CN", TEMPLATES,
                           "n9", "e9", NOW)
    assert zh["title"] == "Webhook 接收端点已停用" and "旧系统" in zh["body"]
    assert "2026-11-30 10:00" in zh["body"]   # Beijing time
    en = rules.gone_notice(endpoint("a"), "en", TEMPLATES, "n9", "e9", NOW)
    assert en["language"] == "en" and "410 Gone" in en["body"]
    assert en["event_type"] == rules.DISABLED and en["subject"] == "a"


def test_enabling_again_starts_a_new_generation_and_disabling_says_who():
    off = dict(endpoint("a", enabled=False), disabled_reason="gone", disabled_at=NOW)
    changes, inc = rules.changed(off, {"enabled": True, "url": "https://b.example/x"}, NOW)
    assert changes == {"enabled": True, "webhook_url": "https://b.example/x",
                       "disabled_reason": None, "disabled_at": None}
    assert inc == {"generation": 1}
    changes, inc = rules.changed(endpoint("a"), {"enabled": False}, NOW)
    assert changes["disabled_reason"] == "company" and inc == {}
    assert rules.changed(endpoint("a"), {"event_types": None}, NOW) == ({"event_types": None}, {})
    made = rules.new_endpoint("c1", {"url": "https://a.example", "event_types": None,
                                     "enabled": False}, "wh_1", "whsec_x", NOW)
    assert made["disabled_reason"] == "company" and made["generation"] == 0
