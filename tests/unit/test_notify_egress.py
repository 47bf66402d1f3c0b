"""DNS rebinding: a webhook host that resolved to a public address when it
was checked, and to an internal one when the connection was made, gets not a
byte — not even a TLS hello. A real socket on loopback stands for the
internal service; the first DNS answer is the only thing stood in for."""
import socket
import threading
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace

import pytest
import requests

from services.notify.channels import Channels, webhook
from services.notify.channels.base import DeliveryFailed
from services.notify.egress import webhook_session


@pytest.fixture
def internal():
    """A listener on loopback that records what each connection sent it."""
    server = socket.create_server(("127.0.0.1", 0))
    received = []

    def serve():
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            with conn:
                conn.settimeout(2)
                data = b""
                try:
                    data = conn.recv(65536)
                    if data.startswith(b"POST"):
                        conn.sendall(b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n")
                except OSError:
                    pass
                received.append(data)
    threading.Thread(target=serve, daemon=True).start()
    yield server.getsockname()[1], received
    server.close()


def wait_for(received, n):
    for _ in range(100):
        if len(received) >= n:
            return
        threading.Event().wait(0.02)


def test_a_connection_that_reaches_an_internal_address_sends_nothing(internal):
    port, received = internal
    with pytest.raises(requests.ConnectionError, match="connected address refused"):
        webhook_session(False).post(f"https://127.0.0.1:{port}/hook", data=b"{}", timeout=5)
    wait_for(received, 1)
    assert received == [b""]  # connected, then closed before the TLS handshake


def test_the_courier_refuses_a_host_rebound_after_its_check(internal, monkeypatch):
    port, received = internal
    ch = Channels()
    ch.container = SimpleNamespace(config={})
    ch.setup()
    # The check's DNS answer is public; the connection's (the real one) is loopback.
    monkeypatch.setattr(webhook, "resolve", lambda url: ["93.184.216.34"])
    envelope = {"event_id": "e1", "type": "case_opened", "subject": "c1", "sequence": 1,
                "data": {}}
    subscription = {"webhook_secret": "whsec_" + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}
    with pytest.raises(DeliveryFailed, match="127.0.0.1 is not a public address"):
        ch.send("webhook", f"https://localhost:{port}/hook", {"envelope": envelope},
                subscription, datetime.now(timezone.utc), "d1")
    wait_for(received, 1)
    assert received == [b""]


def test_allowed_private_receivers_still_get_their_webhooks(internal):
    port, received = internal
    r = webhook_session(True).post(f"http://127.0.0.1:{port}/hook", data=b"{}", timeout=5)
    assert r.status_code == 204
    assert received[0].startswith(b"POST /hook HTTP/1.1")


def test_a_cookie_one_receiver_sets_travels_with_no_later_webhook():
    seen = []

    class Receiver(BaseHTTPRequestHandler):
        def do_POST(self):
            seen.append(self.headers.get("Cookie"))
            self.rfile.read(int(self.headers["Content-Length"]))
            self.send_response(204)
            self.send_header("Set-Cookie", "session=company-a; Path=/")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    session = webhook_session(True)
    for company in ("a", "b"):
        url = f"http://127.0.0.1:{server.server_port}/{company}"
        assert session.post(url, data=b"{}", timeout=5).status_code == 204
    server.shutdown()
    assert seen == [None, None] and len(session.cookies) == 0
