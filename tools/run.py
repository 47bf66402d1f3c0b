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
from tools.stack import PROCESSES, SERVICES, Stack  # noqa: E402

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
    "username": "binhe",
    "credit_code": "91350100M000100Y43",
    "jurisdiction_unit_id": "station-north",
    "contact": {"name": "陈经理", "phone": "+86 591 8888 0000", "email": "ops@riverside.example"},
    "language": "zh-CN",
}


# The demo's people and their passwords: DEMO ONLY, printed by `make run` so
# the system can be tried on this machine. The admin and the supervisor sign
# in with a second factor (policy), whose TOTP secret is printed as well.
DEMO_ADMIN = "admin-demo"
DEMO_PEOPLE = [
    (DEMO_ADMIN, "admin", "demo-granite-falcon-27"),
    ("officer-li", "officer", "demo-harbour-lantern-41"),
    ("officer-wang", "officer", "demo-maple-quartz-58"),
    ("supervisor-zhao", "supervisor", "demo-violet-anchor-93"),
    (DEMO_COMPANY["username"], "company owner", "demo-river-cedar-64"),
]


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
    """Create the demo organisation; answer the tokens it was given (the
    people's passwords are set by `demo_people`)."""
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


def demo_people(stack, admin_token):
    """Give each demo person a password (and, where policy asks, a second
    factor) once; kept under var/ with the TOTP secrets, which intake shows
    only once. The admin account is made with the break-glass token."""
    path = os.path.join(stack.var, "demo-people.json")
    people = {}
    if os.path.exists(path):
        with open(path) as f:
            people = json.load(f)
    url = stack.service_url("intake")
    for username, role, password in DEMO_PEOPLE:
        if username in people:
            continue
        status, body = 0, {}
        if role == "admin":
            status, body = post(f"{url}/admin/admins", {"username": username}, admin_token)
        if status != 201:   # an existing account: a new invite (a reset)
            status, body = post(f"{url}/admin/accounts/{username}/invite", {}, admin_token)
        if status != 201:
            print(f"  (could not invite demo account {username}: {status} {body})")
            continue
        status, body = post(f"{url}/accounts/password",
                            {"invite": body["invite"], "password": password}, admin_token)
        if status != 200:
            print(f"  (could not set the password of {username}: {status} {body})")
            continue
        factor = body.get("second_factor") or {}
        people[username] = {"role": role, "password": password,
                            "totp_secret": factor.get("secret")}
        with open(path, "w") as f:
            json.dump(people, f, indent=1)
    return people


def print_people(people, intake_url):
    print("\ndemo people — DEMO ONLY: these passwords and TOTP secrets are printed so "
          "the demo can be tried on this machine; never use them anywhere else:")
    for username, p in people.items():
        totp = f"  TOTP secret {p['totp_secret']}" if p.get("totp_secret") else ""
        print(f"  {username:19} {p['role']:14} password {p['password']}{totp}")
    print("sign in (add -d otp=<code> for those with a TOTP secret; a code now:\n"
          "  .venv/bin/python -c \"import pyotp; print(pyotp.TOTP('<secret>').now())\"):")
    print(f"  curl -s -X POST {intake_url}/oauth/token -d grant_type=password "
          f"-d username=officer-li -d password={people.get('officer-li', {}).get('password')}")


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
    tokens = {who: auth.issue_token(signing_key, c["role"], c["sub"], c.get("unit"),
                                    c.get("units") or (),
                                    account=c["sub"] if c["role"] != "company" else None)
              for who, c in principals.items()}
    # The demo admin account's token: an admin without the break-glass token.
    tokens[DEMO_ADMIN] = auth.issue_token(signing_key, "admin", DEMO_ADMIN,
                                          account=DEMO_ADMIN)
    return tokens


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
        for name in PROCESSES:
            print(f"starting {name} ...", flush=True)
            stack.start_service(name)
        print("starting the front door (nginx) ...", flush=True)
        stack.start_frontdoor()
        tokens = demo_tokens(stack, env["FASTTRACK_ADMIN_TOKEN"])
        people = demo_people(stack, env["FASTTRACK_ADMIN_TOKEN"])
        print("\nFastTrack is running.")
        print(f"\n  front door        {stack.front_url()}/   <- open this in a browser")
        print("                    the APIs there too: /api/intake/, /api/cases/, /api/notify/")
        print("  demo sign-in      the demo people below (business: binhe; officers: "
              "officer-li, officer-wang; supervisor: supervisor-zhao; admin: admin-demo)\n")
        for name in SERVICES:
            print(f"  {name:17} {stack.service_url(name)}  (/health /metrics /openapi.json /docs/)")
        print(f"  web               {stack.service_url('web')}  (the pages, behind the front door)")
        print(f"  broker            {stack.env['AMQP_URI']}")
        print(f"  database          {stack.env['MONGO_URI']}")
        if env["FASTTRACK_WEBHOOK_ALLOW_PRIVATE"] == "1":
            print("  webhooks may target loopback and private addresses (demo only); "
                  "FASTTRACK_WEBHOOK_ALLOW_PRIVATE=0 make run turns that off")
        print(f"\nbreak-glass admin token (FASTTRACK_ADMIN_TOKEN; every use is audited): "
              f"{env['FASTTRACK_ADMIN_TOKEN']}")
        print("demo tokens (demo only; tokens are signed by intake's key):")
        for who, token in tokens.items():
            print(f"  {who:19} {token}")
        print_people(people, stack.service_url("intake"))
        print("\nCtrl-C stops everything.", flush=True)
        while True:
            for name, proc in stack.services.items():
                if proc.poll() is not None:
                    print(f"{name} exited with {proc.returncode}; restarting", flush=True)
                    stack.start_service(name)
                    break
            if stack.front_proc is not None and stack.front_proc.poll() is not None:
                print("nginx exited; restarting", flush=True)
                stack.start_frontdoor()
            time.sleep(1)
    except KeyboardInterrupt:
        pass
    finally:
        print("\nstopping ...", flush=True)
        stack.stop_all()
    return 0


if __name__ == "__main__":
    sys.exit(main())
