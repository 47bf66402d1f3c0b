"""A company's webhook receiver for the chaos run: verifies each delivery
with the standardwebhooks library and records what arrived, on 127.0.0.1."""
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks.webhooks import Webhook, WebhookVerificationError


class Receiver:
    def __init__(self):
        self.secrets = {}        # company id -> whsec_ secret
        self.arrivals = []       # (company id, webhook-id, envelope) in arrival order
        self.bad = []            # deliveries that did not verify
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                receiver.take(self.path.strip("/"), dict(self.headers), raw)
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def take(self, company_id, headers, raw):
        headers = {k.lower(): v for k, v in headers.items()}
        try:
            envelope = Webhook(self.secrets[company_id]).verify(raw, headers)
        except (KeyError, WebhookVerificationError) as exc:
            with self.lock:
                self.bad.append((company_id, headers.get("webhook-id"), repr(exc)))
            return
        with self.lock:
            self.arrivals.append((company_id, headers["webhook-id"], envelope))

    def close(self):
        self.server.shutdown()
