"""A company's webhook endpoint: a local HTTP server that verifies every
request with the standardwebhooks library, as a company's own would, and
records what arrived and when."""
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks.webhooks import Webhook, WebhookVerificationError

ONE = "fasttrack"  # the path of a receiver that serves one company


class Receiver:
    """Endpoints on 127.0.0.1, one path per company (`url_for`), each
    verified against that company's secrets (`trust`). A receiver for a
    single company uses `url` and `secrets`, a list: two while the company
    rotates its secret.

    It answers 204 to a request one of the secrets verifies, 400 to one none
    does, and 500 to its first `fail_first` requests and while `down`: a
    company's server failing. While `gone` it answers 410 Gone (the endpoint
    is no more); `script` is a list of (status, headers) answered first, one
    per request, before any of that (a 429 with Retry-After). `hits` keeps
    (when, path's last part, status) of every request, answered or not."""

    def __init__(self, fail_first=0):
        self.fail_first, self.down, self.gone = fail_first, False, False
        self.script = []        # (status, {header: value}) answered first, in order
        self.hits = []          # (at, company, status) of every request
        self.keys = {ONE: []}   # company id (the path's last part) -> its whsec_ secrets
        self.calls = 0
        self.accepted = []      # {company, payload, headers, verified_by, at}, in arrival order
        self.unverified = []    # {company, headers, body} of each request no secret verified
        self.arrived = {}       # (type, subject) -> when the first verified one arrived
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as a company's server would

            def do_POST(self):
                at = time.time()  # before the body: what the sender's latency ends at
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                company_id = self.path.rsplit("/", 1)[-1]
                status, extra = receiver.answer(company_id, dict(self.headers), body, at)
                self.send_response(status)
                for name, value in extra.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def url_for(self, company_id):
        return f"http://127.0.0.1:{self.port}/hooks/{company_id}"

    def trust(self, company_id, *secrets):
        self.keys[company_id] = list(secrets)

    url = property(lambda self: self.url_for(ONE))

    @property
    def secrets(self):
        return self.keys[ONE]

    @secrets.setter
    def secrets(self, secrets):
        self.trust(ONE, *secrets)

    def answer(self, company_id, headers, body, at):
        """(status, headers) for one request: a scripted answer, 410 while
        gone, else what `take` says."""
        with self.lock:
            scripted = self.script.pop(0) if self.script else None
        if scripted is None and self.gone:
            scripted = (410, {})
        status, extra = scripted or (self.take(company_id, headers, body, at), {})
        with self.lock:
            self.hits.append((at, company_id, status))
        return status, extra

    def take(self, company_id, headers, body, at):
        """The answer to one request; what it was is recorded."""
        headers = {k.lower(): v for k, v in headers.items()}
        with self.lock:
            self.calls += 1
            if self.down or self.calls <= self.fail_first:
                return 500
            secrets = list(self.keys.get(company_id, ()))
        payload, verified_by = None, []
        for secret in secrets:
            try:
                payload = Webhook(secret).verify(body, headers)
                verified_by.append(secret)
            except WebhookVerificationError:
                pass
        with self.lock:
            if not verified_by:
                self.unverified.append({"company": company_id, "headers": headers,
                                        "body": body})
                return 400
            self.accepted.append({"company": company_id, "payload": payload,
                                  "headers": headers, "body": body,
                                  "verified_by": verified_by, "at": at})
            self.arrived.setdefault((payload["type"], payload["subject"]), at)
        return 204

    def ids(self):
        """The event ids accepted, in arrival order."""
        return [a["payload"]["event_id"] for a in self.accepted]

    def close(self):
        self.server.shutdown()
        self.server.server_close()
