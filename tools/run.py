"""`make run`: broker, database, the three services, a demo organisation.

Stays in the foreground; Ctrl-C (or SIGTERM) stops everything it started.
"""
import json
import os
import secrets
import signal
import sys
import time
import urllib.error
import urllib.request

import jwt

from shared.quiet import quiet_eventlet

quiet_eventlet()  # before anything imports nameko, which imports eventlet

from services.intake.signing_keys import current_key  # noqa: E402
from shared import auth  # noqa: E402
from shared.mongo import connect, database_name  # noqa: E402
from tools.stack import SERVICES, Stack  # noqa: E402

# A demo district: a bureau, two stations, the economic-crime detachment.
DEMO_UNITS = [
    {"unit_id": "bureau-east", "name": "东城分局", "name_en": "East District Bureau",
     "kind": "bureau", "parent_unit_id": None},
    {"unit_id": "station-north", "name": "北街派出所", "name_en": "North Street Station",
     "kind": "station", "parent_unit_id": "bureau-east"},
    {"unit_id": "station-river", "name": "滨河派出所", "name_en": "Riverside Station",
     "kind": "station", "parent_unit_id": "bureau-east"},
    {"unit_id": "ecd-east", "name": "东城分局经侦支队",
     "name_en": "East District Economic-Crime Detachment", "kind": "detachment",
     "parent_unit_id": "bureau-east", "specialties": ["economic_crime"]},
]
DEMO_OFFICERS = [
    {"officer_id": "officer-li", "name": "李警官", "unit_id": "station-north", "role": "officer"},
    {"officer_id": "officer-wang", "name": "王警官", "unit_id": "ecd-east", "role": "officer"},
    {"officer_id": "supervisor-zhao", "name": "赵督办", "unit_id": "bureau-east",
     "role": "supervisor"},
]
DEMO_COMPANY = {
    "name": "滨河精密有限公司",
    "credit_code": "91350100M000100Y43",
    "jurisdiction_unit_id": "station-north",
    "contact": {"name": "陈经理", "phone": "+86 591 8888 0000", "email": "ops@riverside.example"},
    "language": "zh-CN",
}


def post(url, body, token):
    req = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                 headers={"Content-Type": "application/json",
                                          "Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, json.load(resp)
    except urllib.error.HTTPError as exc:
        return exc.code, json.load(exc)


def seed(intake_url, admin_token):
    """Create the demo organisation; answer the tokens it was given."""
    tokens = {}
    for unit in DEMO_UNITS:
        post(f"{intake_url}/admin/units", unit, admin_token)
    for officer in DEMO_OFFICERS:
        status, body = post(f"{intake_url}/admin/officers", officer, admin_token)
        if status == 201:
            tokens[officer["officer_id"]] = body["token"]
    status, body = post(f"{intake_url}/admin/companies", DEMO_COMPANY, admin_token)
    if status == 201:
        tokens["company"] = body["token"]
    return tokens


def _interrupt(*_):
    raise KeyboardInterrupt


def demo_tokens(stack, admin_token):
    """Seed once; each run then mints fresh tokens for the same principals
    (role, subject, unit path kept under var/), so they never go stale:
    signed with intake's current key, read from intake's database as the
    operator of this local stack may (no service but intake can)."""
    path = os.path.join(stack.var, "demo-principals.json")
    if not os.path.exists(path):
        minted = seed(stack.service_url("intake"), admin_token)
        principals = {who: jwt.decode(token, options={"verify_signature": False})
                      for who, token in minted.items()}
        with open(path, "w") as f:
            json.dump(principals, f, indent=1)
    with open(path) as f:
        principals = json.load(f)
    client = connect(stack.env["MONGO_URI"])
    try:
        signing_key = current_key(client[database_name(
            {"DB_PREFIX": stack.env.get("FASTTRACK_DB_PREFIX")}, "intake")])
    finally:
        client.close()
    return {who: auth.issue_token(signing_key, c["role"], c["sub"], c.get("unit"),
                                  c.get("units") or ())
            for who, c in principals.items()}


def main():
    env = os.environ
    env.setdefault("FASTTRACK_ADMIN_TOKEN", secrets.token_urlsafe(24))
    stack = Stack("run")
    env.setdefault("FASTTRACK_WEBHOOK_ALLOW_PRIVATE", "1")
    stack.env.update({k: env[k] for k in ("FASTTRACK_ADMIN_TOKEN",
                                          "FASTTRACK_WEBHOOK_ALLOW_PRIVATE")})
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        print("starting broker and database ...", flush=True)
        stack.start_infra()
        for name in SERVICES:
            print(f"starting {name} ...", flush=True)
            stack.start_service(name)
        tokens = demo_tokens(stack, env["FASTTRACK_ADMIN_TOKEN"])
        print("\nFastTrack is running.")
        for name in SERVICES:
            print(f"  {name:17} {stack.service_url(name)}  (/health /metrics /openapi.json /docs/)")
        print(f"  broker            {stack.env['AMQP_URI']}")
        print(f"  database          {stack.env['MONGO_URI']}")
        if env["FASTTRACK_WEBHOOK_ALLOW_PRIVATE"] == "1":
            print("  webhooks may target loopback and private addresses (demo only); "
                  "FASTTRACK_WEBHOOK_ALLOW_PRIVATE=0 make run turns that off")
        print(f"\nadmin token: {env['FASTTRACK_ADMIN_TOKEN']}")
        print("demo tokens (demo only; tokens are signed by intake's key):")
        for who, token in tokens.items():
            print(f"  {who:17} {token}")
        print("\nCtrl-C stops everything.", flush=True)
        while True:
            for name, proc in stack.services.items():
                if proc.poll() is not None:
                    print(f"{name} exited with {proc.returncode}; restarting", flush=True)
                    stack.start_service(name)
                    break
            time.sleep(1)
    except KeyboardInterrupt:
        pass
    finally:
        print("\nstopping ...", flush=True)
        stack.stop_all()
    return 0


if __name__ == "__main__":
    sys.exit(main())
