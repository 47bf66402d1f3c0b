"""schemathesis against each service's own /openapi.json, with a valid token
of every role (and none): no 5xx, and every answer matches the spec —
status, content type and body schema."""
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
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
                case.call_and_validate(base_url=base, headers=headers, checks=CHECKS)
        run()
