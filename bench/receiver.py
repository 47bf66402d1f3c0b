"""A local Standard Webhooks receiver for the latency run: it verifies
every signature and keeps when each event arrived."""
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks.webhooks import Webhook


class WebhookReceiver:
    """A local Standard Webhooks receiver: verifies each signature and keeps
    the arrival time of every event it accepts."""

    def __init__(self):
        self.secrets = {}          # company_id -> whsec_
        self.arrived = {}          # (type, subject) -> time.time()
        self.bad = 0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):
                at = time.time()
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                ok = receiver.take(self.path.rsplit("/", 1)[-1], body, self.headers, at)
                self.send_response(204 if ok else 400)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def url(self, company_id):
        return f"http://127.0.0.1:{self.port}/hooks/{company_id}"

    def take(self, company_id, body, headers, at):
        secret = self.secrets.get(company_id)
        try:
            event = Webhook(secret).verify(body, {k.lower(): v for k, v in headers.items()})
        except Exception:
            self.bad += 1
            return False
        self.arrived.setdefault((event["type"], event["subject"]), at)
        return True

    def close(self):
        self.server.shutdown()
