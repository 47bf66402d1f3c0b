"""A company's webhook endpoints as an integrator uses them (notify's
/webhooks routes), for the tests on the real broker and database."""
import requests

from support.client import TIMEOUT


class Endpoints:
    """The /webhooks routes with one company's token."""

    def __init__(self, company):
        self.base = company.client.base
        self.token = company.token

    def call(self, method, path, body=None, headers=None, **params):
        h = {"Authorization": f"Bearer {self.token}", **(headers or {})}
        return requests.request(method, self.base + path, json=body, params=params or None,
                                headers=h, timeout=TIMEOUT)

    def create(self, url, **fields):
        r = self.call("POST", "/webhooks", dict(url=url, **fields))
        assert r.status_code == 201, r.text
        return r.json()

    def log(self, endpoint_id, **params):
        r = self.call("GET", f"/webhooks/{endpoint_id}/deliveries", **params)
        assert r.status_code == 200, r.text
        return r.json()
