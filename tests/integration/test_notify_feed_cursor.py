"""A reader who follows GET /notices with its cursor must get every notice,
including one a slow worker stamped before, but wrote after, a notice the
reader has already passed."""
from datetime import datetime, timedelta, timezone

import pytest

from services.notify import repository
from services.notify.service import NotifyService
from tests.integration.notify_world import Company


@pytest.fixture(autouse=True, params=["one read", "read apart"])
def span_room(request, monkeypatch):
    """Every test here, on each of a page's two ways to read: the look-back
    span and the page in one read, and (a span too busy for that) apart."""
    if request.param == "read apart":
        monkeypatch.setattr(repository, "SPAN_ROOM", -10**6)


def notice(company, _id, created_at):
    return {"_id": _id, "company_id": company.id, "event_id": f"event-{_id}",
            "event_type": "case_progressed", "subject": f"case-{_id}", "sequence": 1,
            "title": _id, "body": _id, "language": "en", "created_at": created_at,
            "envelope": {}}


def follow(company, after):
    page = company.client.get("/notices", **({"after": after} if after else {}),
                              limit=1).json()
    return page["items"], page["next"] or after


def race(running, settle):
    """The quick worker's notice is written; a reader polls at once and is
    shown it; then the slow worker writes the notice it stamped half a
    second earlier."""
    running.start(NotifyService, FEED_SETTLE_SECONDS=settle)
    company = Company(running)
    notices = running.db("notify").notices
    now = datetime.now(timezone.utc)
    notices.insert_one(notice(company, "quick", now))
    seen, after = follow(company, None)
    notices.insert_one(notice(company, "slow", now - timedelta(milliseconds=500)))
    return company, seen, after


def test_a_notice_shows_at_once_and_one_written_late_is_not_skipped(running):
    company, seen, after = race(running, settle=2)
    assert [n["title"] for n in seen] == ["quick"]   # at once: no wait
    items, after = follow(company, after)
    assert [n["title"] for n in items] == ["slow"]   # the late one, on the next page
    for _ in range(3):   # and each only once
        items, after = follow(company, after)
        assert items == []


def test_without_the_look_back_a_cursor_would_skip_it(running):
    """The same race with FEED_SETTLE_SECONDS=0: the failure the look-back prevents."""
    company, seen, after = race(running, settle=0)
    items, after = follow(company, after)
    assert [n["title"] for n in seen + items] == ["quick"]


def test_late_notices_past_the_page_limit_come_on_the_pages_after(running):
    running.start(NotifyService, FEED_SETTLE_SECONDS=2)
    company = Company(running)
    notices = running.db("notify").notices
    now = datetime.now(timezone.utc)
    notices.insert_one(notice(company, "quick", now))
    seen, after = follow(company, None)
    # Three slow workers, then one more notice stamped after the quick one.
    notices.insert_many([notice(company, f"slow{i}", now - timedelta(milliseconds=300 - i))
                         for i in range(3)])
    notices.insert_one(notice(company, "next", now + timedelta(milliseconds=5)))
    for _ in range(6):
        items, after = follow(company, after)   # a page of one
        seen += items
    assert [n["title"] for n in seen] == ["quick", "slow0", "slow1", "slow2", "next"]


def test_a_long_feed_reads_in_pages_each_notice_once_in_order(running):
    """Notices a second, a day and a year apart, and several at one instant:
    followed four at a time, the feed gives each once, oldest first."""
    running.start(NotifyService)
    company = Company(running)
    now = datetime.now(timezone.utc)
    ages = [timedelta(days=400), timedelta(days=30), timedelta(hours=5, seconds=1),
            timedelta(hours=5), timedelta(minutes=3), timedelta(seconds=10)]
    stamped = [now - age for age in ages for _ in range(3)]  # three at each instant
    running.db("notify").notices.insert_many(
        [notice(company, f"n{i:02}", at) for i, at in enumerate(stamped)])
    seen, after = [], None
    while True:
        page = company.client.get("/notices", limit=4,
                                  **({"after": after} if after else {})).json()
        seen += [n["title"] for n in page["items"]]
        after = page["next"]   # given at the end too: the feed grows there
        if len(page["items"]) < 4:
            break
    assert seen == [f"n{i:02}" for i in range(len(stamped))]


def test_a_cursor_without_its_time_zone_is_refused(running):
    import base64
    running.start(NotifyService)
    company = Company(running)
    forged = base64.urlsafe_b64encode(b"2026-01-01T00:00:00|x").decode()
    r = company.client.get("/notices", after=forged)
    # The company in this harness registered no language: told in zh-CN.
    assert r.status_code == 400 and "游标" in r.json()["error"]["message"]
