"""A service's HTTP API as a user calls it: JSON, a bearer token, a timeout."""
import requests

TIMEOUT = 15


class Client:
    def __init__(self, base, token=None):
        self.base = base.rstrip("/")
        self.token = token

    def _headers(self, headers):
        h = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        h.update(headers or {})
        return h

    def get(self, path, **params):
        return requests.get(self.base + path, params=params, headers=self._headers(None),
                            timeout=TIMEOUT)

    def post(self, path, body=None, headers=None):
        return requests.post(self.base + path, json=body, headers=self._headers(headers),
                             timeout=TIMEOUT)

    def put(self, path, body=None, headers=None):
        return requests.put(self.base + path, json=body, headers=self._headers(headers),
                            timeout=TIMEOUT)

    def patch(self, path, body=None, headers=None):
        return requests.patch(self.base + path, json=body, headers=self._headers(headers),
                              timeout=TIMEOUT)

    def as_(self, token):
        """The same service, called by someone else."""
        return Client(self.base, token)
