"""A reader who follows GET /notices with its cursor must get every notice,
including one a slow worker stamped before, but wrote after, a notice the
reader has already passed."""
from datetime import datetime, timedelta, timezone

from services.notify.service import NotifyService
from tests.integration.test_notify_harness import Company


def notice(company, _id, created_at):
    return {"_id": _id, "company_id": company.id, "event_id": f"event-{_id}",
            "event_type": "case_progressed", "subject": f"case-{_id}", "sequence": 1,
            "title": _id, "body": _id, "language": "en", "created_at": created_at,
            "envelope": {}}


def follow(company, after):
    page = company.client.get("/notices", **({"after": after} if after else {}),
                              limit=1).json()
    return page["items"], page["next"] or after


def test_a_notice_written_late_with_an_earlier_time_is_not_skipped(running):
    running.start(NotifyService, FEED_SETTLE_SECONDS=2)
    company = Company(running)
    notices = running.db("notify").notices
    now = datetime.now(timezone.utc)
    notices.insert_one(notice(company, "quick", now))
    # The reader polls at once: the quick worker's notice is not shown yet.
    seen, after = follow(company, None)
    assert seen == []
    # The slow worker writes the notice it stamped a moment earlier.
    notices.insert_one(notice(company, "slow", now - timedelta(milliseconds=500)))
    while datetime.now(timezone.utc) < now + timedelta(seconds=2.5):
        items, after = follow(company, after)
        seen += items
    items, after = follow(company, after)
    seen += items
    assert [n["title"] for n in seen] == ["slow", "quick"]


def test_without_the_settling_time_a_cursor_would_skip_it(running):
    """The same race with FEED_SETTLE_SECONDS=0: the failure the wait prevents."""
    running.start(NotifyService, FEED_SETTLE_SECONDS=0)
    company = Company(running)
    notices = running.db("notify").notices
    now = datetime.now(timezone.utc)
    notices.insert_one(notice(company, "quick", now))
    seen, after = follow(company, None)
    notices.insert_one(notice(company, "slow", now - timedelta(milliseconds=500)))
    items, after = follow(company, after)
    assert [n["title"] for n in seen + items] == ["quick"]
