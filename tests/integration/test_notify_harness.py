"""Notify's subscription and admin routes on the real broker and database."""
import requests
from standardwebhooks.webhooks import Webhook

from support.client import Client
from tests.conftest import ADMIN_TOKEN
from tests.integration.notify_world import Company


def test_a_company_subscribes_and_gets_a_standard_webhooks_secret(running, notify, receivers):
    notify()
    company = Company(running)
    sub = company.subscribe(webhook_url=receivers().url, email="ops@x.cn", language="en")
    assert sub["webhook_secret"].startswith("whsec_")
    assert Webhook(sub["webhook_secret"])  # a secret the library takes
    again = company.subscribe(webhook_url=None, phone="+86 591 1234")
    assert again["webhook_secret"] == sub["webhook_secret"]  # kept across updates
    assert again["webhook_url"] is None and again["phone"] == "+86 591 1234"
    assert company.client.get("/subscription").json()["phone"] == "+86 591 1234"
    r = requests.put(company.client.base + "/subscription", json={"language": "fr"},
                     headers={"Authorization": f"Bearer {company.token}"}, timeout=15)
    assert r.status_code == 422 and "language" in r.json()["error"]["fields"]


def test_deliveries_are_for_the_admin_only(running, notify):
    notify()
    company = Company(running)
    assert company.client.get("/deliveries").status_code == 403
    assert company.client.post("/deliveries/x:webhook/replay").status_code == 403
    admin = Client(running.urls["notify"], ADMIN_TOKEN)
    assert admin.get("/deliveries").json() == {"items": [], "next": None}
    assert admin.post("/deliveries/nope:webhook/replay").status_code == 404
    assert admin.get("/subscription").status_code == 403
