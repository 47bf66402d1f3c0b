"""The front door's nginx configuration, written from one template for both
places it runs: the project-local nginx of `make run`/`make test` (ports on
loopback, pid, logs and temp files under var/<profile>/nginx/) and the
`nginx` image of docker-compose.yml (deploy/nginx.conf, rendered by
`python -m tools.frontdoor > deploy/nginx.conf`; a unit test keeps the two
in step).

One origin for the browser: the web app at `/`, the three APIs under
`/api/intake/`, `/api/cases/`, `/api/notify/` (API.md: the path after the
prefix is the service's own route). Each upstream is a list of servers, so
a second instance of a service is one more line.
"""
import sys

# The upstream names and the prefix each API answers under.
APIS = (("intake", "/api/intake/"), ("case_supervision", "/api/cases/"),
        ("notify", "/api/notify/"))

# The web app's own CSP travels with its pages; these go on every answer,
# the APIs' included (`always`: error answers too).
SECURITY_HEADERS = (
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),
    ("Referrer-Policy", "same-origin"),
    ("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=()"),
    ("Cross-Origin-Opener-Policy", "same-origin"),
    ("Cross-Origin-Resource-Policy", "same-origin"),
)
# Each service refuses a JSON body above FASTTRACK_MAX_BODY_BYTES; the door
# stops anything far larger first. An evidence upload (API.md "Files") may
# be 25 MB (policy/intake.yml): its route alone takes that much, streamed to
# intake as it arrives, not buffered at the door.
MAX_BODY = "20m"
MAX_UPLOAD = "26m"
UPLOAD = r"^/api/intake(/reports/[^/]+/materials/[^/]+/files)$"
# The web app's own form for one file (the business's report page).
WEB_UPLOAD = r"^/(business|officer)/reports/[^/]+/materials/[^/]+/files$"


def _headers(indent):
    pad = " " * indent
    return "".join(f'{pad}add_header {name} "{value}" always;\n'
                   for name, value in SECURITY_HEADERS)


def render(listen, upstreams, paths=None, user=None):
    """The nginx.conf text. `listen`: "127.0.0.1:8000" or "8000";
    `upstreams`: {"web"|"intake"|"case_supervision"|"notify": ["host:port", ...]};
    `paths`: {"pid", "error_log", "access_log", "temp", "mime", "docs"} (None:
    the image's defaults; docs: the API docs page's folder, docs/api/); `user`: the user the workers run as (None: nginx's
    default, or, unprivileged, whoever started it)."""
    p = paths or {"pid": "/tmp/nginx.pid", "error_log": "/dev/stderr",
                  "access_log": "/dev/stdout", "temp": "/tmp", "mime": "/etc/nginx/mime.types",
                  "docs": "/usr/share/nginx/api-docs"}
    temp = p["temp"]
    out = []
    w = out.append
    w("# The FastTrack front door (tools/frontdoor.py writes this file).\n")
    if user:
        w(f"user {user};\n")
    w("worker_processes auto;\n"
      f"pid {p['pid']};\n"
      f"error_log {p['error_log']} warn;\n"
      "events { worker_connections 1024; }\n\n"
      "http {\n"
      f"    include {p['mime']};\n"
      "    default_type application/octet-stream;\n"
      "    server_tokens off;\n"
      "    charset utf-8;\n"
      # The client's address, as the services and their logs should see it.
      "    log_format door '$remote_addr [$time_iso8601] \"$request\" $status "
      "$body_bytes_sent $request_time \"$upstream_addr\" $upstream_response_time';\n"
      f"    access_log {p['access_log']} door;\n")
    for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
        w(f"    {kind}_temp_path {temp}/{kind};\n")
    w("\n"
      "    gzip on;\n"
      "    gzip_vary on;\n"
      "    gzip_proxied any;\n"
      "    gzip_min_length 512;\n"
      "    gzip_types text/css application/javascript application/json\n"
      "               application/problem+json text/plain image/svg+xml;\n\n"
      # Slow clients and slow upstreams cannot hold the door open.
      f"    client_max_body_size {MAX_BODY};\n"
      "    client_body_timeout 15s;\n"
      "    client_header_timeout 15s;\n"
      "    send_timeout 30s;\n"
      "    keepalive_timeout 30s;\n"
      "    proxy_connect_timeout 5s;\n"
      "    proxy_send_timeout 30s;\n"
      "    proxy_read_timeout 30s;\n"
      "    proxy_http_version 1.1;\n"
      "    proxy_next_upstream error timeout;\n"
      "    proxy_next_upstream_tries 2;\n\n")
    for name in ("web", *(n for n, _ in APIS)):
        w(f"    upstream {name} {{\n")
        for server in upstreams[name]:
            w(f"        server {server} max_fails=3 fail_timeout=10s;\n")
        w("        keepalive 16;\n    }\n")
    w("\n    server {\n"
      f"        listen {listen};\n"
      "        server_name _;\n"
      + _headers(8) +
      "        proxy_set_header Host $http_host;\n"
      "        proxy_set_header X-Real-IP $remote_addr;\n"
      "        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;\n"
      "        proxy_set_header X-Forwarded-Proto $scheme;\n"
      "        proxy_set_header X-Forwarded-Host $http_host;\n"
      '        proxy_set_header Connection "";\n\n'
      # Operators' read-outs stay on the services' own ports.
      "        location ~ ^/api/[a-z]+/(metrics|admin/failures)$ { return 404; }\n"
      f"        location ~ {UPLOAD} {{\n"
      f"            client_max_body_size {MAX_UPLOAD};\n"
      "            proxy_request_buffering off;\n"
      "            proxy_read_timeout 120s;\n"
      "            rewrite ^/api/intake(/.*)$ $1 break;\n"
      "            proxy_pass http://intake;\n"
      "        }\n"
      f"        location ~ {WEB_UPLOAD} {{\n"
      f"            client_max_body_size {MAX_UPLOAD};\n"
      "            proxy_read_timeout 120s;\n"
      "            proxy_pass http://web;\n"
      "        }\n"
      # The API docs page (Swagger UI, served by us) and the merged document.
      "        location = /api/docs { return 301 /api/docs/; }\n"
      "        location /api/docs/ {\n"
      f"            alias {p['docs']}/;\n"
      "        }\n")
    for name, prefix in APIS:
        # The trailing slash of proxy_pass replaces the prefix: /api/cases/cases/1 -> /cases/1.
        w(f"        location {prefix} {{\n"
          f"            proxy_pass http://{name}/;\n"
          "        }\n")
    w("        location / {\n"
      "            proxy_pass http://web;\n"
      "        }\n"
      "    }\n"
      "}\n")
    return "".join(out)


def compose_config():
    """deploy/nginx.conf: the image's paths, the compose services' names."""
    return render("8000", {"web": ["web:8004"], "intake": ["intake:8001"],
                           "case_supervision": ["case_supervision:8002"],
                           "notify": ["notify:8003"]})


if __name__ == "__main__":
    sys.stdout.write(compose_config())
