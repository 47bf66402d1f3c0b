"""schemathesis against each service's own /openapi.json (OpenAPI 3.1, which
schemathesis 4 reads natively), with a valid token of every role (and
none): no 5xx, and every answer matches the spec — status (each route
documents the errors it can answer, not all of them), content type and
body schema."""
import json
import re
from datetime import datetime, timedelta, timezone

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import (content_type_conformance, not_a_server_error,
                                 response_schema_conformance, status_code_conformance)

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance]
EXAMPLES = 12


def tokens(system):
    org = system.org()
    return {"none": None, "company": org.company_token, "officer": org.officer_token,
            "supervisor": org.supervisor_token,
            "admin": system.stack.env["FASTTRACK_ADMIN_TOKEN"]}


@pytest.mark.parametrize("service", ["intake", "case_supervision", "notify"])
def test_every_operation_answers_as_its_spec_says_for_every_role(running_system, service):
    base = running_system.stack.service_url(service)
    schema = schemathesis.openapi.from_url(base + "/openapi.json")
    assert schema.raw_schema["openapi"] == "3.1.0"    # read as 3.1: type lists, examples
    roles = tokens(running_system)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 5
    for operation in operations:
        @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck))
        @given(case=operation.as_strategy())
        def run(case):
            for role, token in roles.items():
                headers = {"Authorization": f"Bearer {token}"} if token else {}
                if not token and case.headers:
                    # "none" is no token: schemathesis draws a bearer value from
                    # the security scheme otherwise (bad tokens: test_hostile_input.py).
                    case.headers.pop("Authorization", None)
                case.call_and_validate(base_url=base, headers=headers, checks=CHECKS)
        run()


# -- boundary values --------------------------------------------------------
# The fuzzing above passed while year 9999, offsets of +14:00, lone
# surrogates and trailing newlines each answered 500. Every date-time the
# documents declare is now also drawn from the edges, and every text in a
# generated body is sent again with each of the suffixes below.
EDGE_TIMES = ["0001-01-01T00:00:00Z", "0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59Z",
              "9999-12-31T23:59:59-14:00", "9999-12-31T10:00Z", "1969-12-31T23:59:59Z",
              "2199-12-31T23:59:59+08:00"]
SUFFIXES = ["\ud800", "\n", "\u2028"]
DATE_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")
schemathesis.openapi.format("date-time", st.one_of(
    st.sampled_from(EDGE_TIMES),
    st.datetimes(datetime(2000, 1, 1), datetime(2100, 1, 1),
                 timezones=st.integers(-14 * 60, 14 * 60).map(
                     lambda m: timezone(timedelta(minutes=m)))).map(datetime.isoformat)))


def replaced(value, change):
    """`value` with `change` applied to every text in it."""
    if isinstance(value, str):
        return change(value)
    if isinstance(value, dict):
        return {k: replaced(v, change) for k, v in value.items()}
    if isinstance(value, list):
        return [replaced(v, change) for v in value]
    return value


def variants(case):
    """(query, body) pairs: each text with each suffix, then each date-time
    the case holds (in its query or body) at each edge."""
    query, body = case.query or {}, case.body if isinstance(case.body, dict) else None
    if body is not None:
        for suffix in SUFFIXES:
            yield query, replaced(body, lambda v, s=suffix: v + s)
    for edge in EDGE_TIMES:
        def at_edge(v, edge=edge):
            return edge if DATE_TIME.match(v) else v
        if DATE_TIME.search(json.dumps([query, body], default=str)):
            yield replaced(query, at_edge), replaced(body, at_edge)


@pytest.mark.parametrize("service", ["intake", "case_supervision", "notify"])
def test_boundary_values_in_every_field_never_answer_a_server_error(running_system, service):
    base = running_system.stack.service_url(service)
    schema = schemathesis.openapi.from_url(base + "/openapi.json")
    roles = {k: v for k, v in tokens(running_system).items() if v}
    operations = [result.ok() for result in schema.get_all_operations()]
    for operation in operations:
        @settings(max_examples=6, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck))
        @given(case=operation.as_strategy())
        def run(case):
            for token in roles.values():
                auth = {"Authorization": f"Bearer {token}"}
                response = case.call(base_url=base, headers=auth)
                assert response.status_code < 500, (operation.label, response.text)
                for query, body in variants(case):
                    # Sent as JSON spells it ("\\ud800"): the client library
                    # cannot encode a lone surrogate itself.
                    response = requests.request(
                        case.method, base + case.formatted_path, params=query,
                        data=None if body is None else json.dumps(body), timeout=30,
                        headers=dict(auth, **{"Content-Type": "application/json"}))
                    assert response.status_code < 500, (operation.label, query, body,
                                                        response.text)
        run()
