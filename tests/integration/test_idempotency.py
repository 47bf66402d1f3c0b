"""Idempotency-Key as the IETF draft answers it, on routes outside the report
and case documents (their stored first answer; shared/idempotency_key.py):
a retry gets the very first answer (an officer's token, a company's invite),
the same key with another body is 422, a retry while the first request still
runs is 409, and a first try that died frees its key."""
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone

from services.intake.service import IntakeService
from support.client import Client
from support.codes import credit_code
from support.organisation import Org
from tests.conftest import ADMIN_TOKEN

ANSWERS = "idempotency_answers"


def company_body(station, name):
    return {"name": name, "credit_code": credit_code(), "jurisdiction_unit_id": station,
            "language": "en",
            "contact": {"name": "Chen", "phone": "+86 591 0000", "email": "ops@example.com"}}


def test_a_retried_admin_create_answers_the_first_answer_token_and_invite(running):
    running.start(IntakeService)
    org = Org(running.urls["intake"], ADMIN_TOKEN)
    admin = Client(running.urls["intake"], ADMIN_TOKEN)
    tag = uuid.uuid4().hex[:6]
    body = {"officer_id": f"o-{tag}", "name": "Wu", "unit_id": org.station, "role": "officer"}
    key = {"Idempotency-Key": f"officer-{tag}"}
    first = admin.post("/admin/officers", body, key)
    again = admin.post("/admin/officers", body, key)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json() and first.json()["invite"] and first.json()["token"]
    assert again.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    # Without the key the same body is a new request, refused: the officer exists.
    assert admin.post("/admin/officers", body).status_code == 409
    other = admin.post("/admin/officers", dict(body, name="Sun"), key)
    assert other.status_code == 422 and "Idempotency-Key" in other.json()["detail"]
    # The same key on another route is another request: 422.
    kite = company_body(org.station, f"Kite {tag}")
    assert admin.post("/admin/companies", kite, key).status_code == 422
    # A company's owner invite, lost with the first answer, comes back the same.
    ckey = {"Idempotency-Key": f"company-{tag}"}
    company = admin.post("/admin/companies", kite, ckey)
    retried = admin.post("/admin/companies", kite, ckey)
    assert company.status_code == retried.status_code == 201
    assert retried.json()["invite"] == company.json()["invite"] and company.json()["invite"]
    assert retried.json()["token"] == company.json()["token"]


def test_a_retry_while_the_first_runs_is_409_and_a_dead_first_try_frees_the_key(running):
    running.start(IntakeService)
    org = Org(running.urls["intake"], ADMIN_TOKEN)
    admin = Client(running.urls["intake"], ADMIN_TOKEN)
    body = {"unit_id": f"u-{uuid.uuid4().hex[:6]}", "name": "East", "kind": "station",
            "parent_unit_id": org.bureau}
    key = {"Idempotency-Key": "unit-1"}
    assert admin.post("/admin/units", body, key).status_code == 201
    answers = running.db("intake")[ANSWERS]
    [stored] = list(answers.find({"state": "done"}))
    # As if the first request were still being handled: a retry is told so.
    now = datetime.now(timezone.utc)
    answers.update_one({"_id": stored["_id"]}, {"$set": {"state": "running", "started_at": now}})
    busy = admin.post("/admin/units", body, key)
    assert busy.status_code == 409 and busy.json()["code"] == "conflict"
    assert "Idempotency-Key" in busy.json()["detail"]
    # As if it had died a while ago: the retry runs itself (and the unit exists).
    answers.update_one({"_id": stored["_id"]},
                       {"$set": {"started_at": now - timedelta(minutes=5)}})
    took_over = admin.post("/admin/units", body, key)
    assert took_over.status_code == 409 and "Idempotency-Key" not in took_over.json()["detail"]
    assert admin.post("/admin/units", body, key).json() == took_over.json()   # stored too


def test_concurrent_tries_with_one_key_create_once(running):
    running.start(IntakeService)
    org = Org(running.urls["intake"], ADMIN_TOKEN)
    admin = Client(running.urls["intake"], ADMIN_TOKEN)
    body = company_body(org.station, f"Lantern {uuid.uuid4().hex[:6]}")
    key = {"Idempotency-Key": "company-at-once"}
    with ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(lambda _: admin.post("/admin/companies", body, key), range(4)))
    made = [a for a in answers if a.status_code == 201]
    assert made and all(a.status_code in (201, 409) for a in answers)
    assert len({a.json()["company_id"] for a in made}) == 1
    assert running.db("intake").companies.count_documents(
        {"credit_code": body["credit_code"]}) == 1


def test_a_ledger_resolve_retried_with_its_key_answers_again(world):
    w = world().start()
    w.running.db("cases").ledger.insert_one({
        "_id": "item-1", "kind": "deadline_missed", "unit_id": "st1",
        "unit_path": ["st1", "b1", "city"], "case_id": None, "case_number": None,
        "report_id": None, "reference": None, "detail": {},
        "created_at": datetime.now(timezone.utc), "status": "open", "resolution": None})
    head = w.as_(w.bureau_head)
    key = {"Idempotency-Key": "resolve-1"}
    first = head.post("/ledger/item-1/resolve", {"note": "talked to the team"}, key)
    again = head.post("/ledger/item-1/resolve", {"note": "talked to the team"}, key)
    assert first.status_code == again.status_code == 200 and again.json() == first.json()
    assert head.post("/ledger/item-1/resolve", {"note": "talked to the team"}).status_code == 409
    assert head.post("/ledger/item-1/resolve", {"note": "other"}, key).status_code == 422
