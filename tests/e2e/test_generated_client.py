"""A client generated from the merged OpenAPI 3.1 document with
openapi-python-client, at test time into a temporary folder (never
committed), does the path an integrator would: a company files a report,
an officer accepts it, the company reads its feed. And each service serves
the docs page with its own files, nothing from another host."""
import importlib
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from shared.openapi import merged
from support.front_door import FrontDoor
from support.reports import report_body
from tests.helpers import eventually

GENERATOR = Path(sys.executable).parent / "openapi-python-client"
SERVICES = ("intake", "case_supervision", "notify")


@pytest.fixture
def generated(tmp_path, system):
    """The client package generated from the live services' documents,
    merged as the front door routes them; importable as `fasttrack_client`."""
    system.start()
    docs = {name: requests.get(system.stack.service_url(name) + "/openapi.json",
                               timeout=15).json() for name in SERVICES}
    spec = tmp_path / "openapi.json"
    spec.write_text(json.dumps(merged(docs)))
    config = tmp_path / "config.yml"
    config.write_text("post_hooks: []\n")   # no formatter needed to run it
    done = subprocess.run([str(GENERATOR), "generate", "--path", str(spec), "--meta", "none",
                           "--config", str(config),
                           "--output-path", str(tmp_path / "fasttrack_client")],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    sys.path.insert(0, str(tmp_path))
    try:
        yield importlib.import_module("fasttrack_client")
    finally:
        sys.path.remove(str(tmp_path))
        for name in [m for m in sys.modules if m.split(".")[0] == "fasttrack_client"]:
            del sys.modules[name]


def test_a_generated_client_files_a_report_an_officer_accepts_it_and_the_feed_tells(
        system, generated):
    from fasttrack_client import AuthenticatedClient
    from fasttrack_client.api.cases import list_cases
    from fasttrack_client.api.notices import list_notices
    from fasttrack_client.api.reports import accept_report, file_report, get_report
    from fasttrack_client.models import Problem, ReportIn

    org = system.org()
    door = {name: system.stack.service_url(name) for name in SERVICES}

    def client(token):
        return AuthenticatedClient(base_url="http://front-door.test", token=token,
                                   httpx_args={"transport": FrontDoor(door)})

    company, officer = client(org.company_token), client(org.officer_token)
    filed = file_report.sync_detailed(client=company, body=ReportIn.from_dict(report_body()),
                                      idempotency_key="gen-1")
    assert filed.status_code == 201, filed.content
    report_id = filed.parsed.report_id
    assert filed.parsed.status == "received" and filed.parsed.estimated_loss == "21000.00"
    again = file_report.sync_detailed(client=company, body=ReportIn.from_dict(report_body()),
                                      idempotency_key="gen-1")
    assert again.status_code == 200 and again.parsed.report_id == report_id

    accepted = accept_report.sync_detailed(report_id, client=officer, idempotency_key="acc-1")
    assert accepted.status_code == 200, accepted.content
    assert accepted.parsed.status == "accepted"

    # An error is parsed as the problem it is.
    missing = get_report.sync_detailed("no-such-report", client=company)
    assert missing.status_code == 404 and isinstance(missing.parsed, Problem)
    assert missing.parsed.code == "not_found" and missing.parsed.status == 404

    def feed():
        page = list_notices.sync(client=company)
        return [n.event_type for n in page.items] if page else []
    assert eventually(lambda: len(feed()) == 3 and feed(), what="three notices") == [
        "report_received", "report_accepted", "case_opened"]
    cases = list_cases.sync(client=company, report_id=report_id)
    assert [c.report_id for c in cases.items] == [report_id]


def test_every_service_serves_the_docs_page_with_its_own_files(system):
    system.start()
    for name in SERVICES:
        base = system.stack.service_url(name)
        first = requests.get(base + "/docs", allow_redirects=False, timeout=15)
        assert first.status_code == 301 and first.headers["Location"] == "docs/"
        page = requests.get(base + "/docs", timeout=15)
        assert page.status_code == 200 and page.url == base + "/docs/"
        assert page.headers["Content-Type"].startswith("text/html")
        assert not re.search(r"(?i)\b(https?:)?//", page.text), "a URL to another host"
        refs = re.findall(r'(?:src|href|data-spec)="([^"]+)"', page.text)
        assert set(refs) == {"swagger-ui.css", "swagger-ui-bundle.js", "init.js",
                             "openapi.json"}
        for ref in refs:
            got = requests.get(page.url + ref, timeout=15)
            assert got.status_code == 200, (name, ref, got.text[:200])
        assert "SwaggerUIBundle" in requests.get(page.url + "swagger-ui-bundle.js",
                                                 timeout=15).text
        own = requests.get(page.url + "openapi.json", timeout=15).json()
        assert own == requests.get(base + "/openapi.json", timeout=15).json()
        assert own["openapi"] == "3.1.0"
        assert requests.get(page.url + "..%2Fopenapi.py", timeout=15).status_code == 404
