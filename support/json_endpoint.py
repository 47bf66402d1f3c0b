"""A local HTTP endpoint that answers each POST with JSON: the common part
of the group robots' receivers (support/robot.py, support/wecom_robot.py),
which say only what a body earns (`take(path, body)` → the JSON answer)."""
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class JsonEndpoint:
    def __init__(self):
        self.lock = threading.Lock()
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                raw = json.dumps(endpoint.take(self.path, body)).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"

    def take(self, path, body):
        raise NotImplementedError

    def close(self):
        self.server.shutdown()
        self.server.server_close()
