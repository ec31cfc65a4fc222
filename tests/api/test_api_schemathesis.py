"""A property-based run of schemathesis against the OpenAPI schema, through the WSGI app.

Bounded: at most `EXAMPLES` generated requests per operation (derandomised, so CI reruns the same
ones), no per-example deadline, the whole run under the test's timeout. Checks: no 5xx, and every
status code, content type and body as the schema documents them. A client with every scope
calls; a few known customers and a consent text exist, so some generated requests reach the
services (most are refused with a documented 4xx).

schemathesis's pytest plugin (`from_fixture`) does not run under pytest 9, so the operations are
walked with its Python API, each as a Hypothesis strategy.
"""

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import FailureGroup, ServerError, not_a_server_error
from schemathesis.specs.openapi.checks import content_type_conformance, response_schema_conformance, status_code_conformance

from accounts.models import Disclosure
from tests.factories import CreditLineFactory, CustomerFactory, DisclosureFactory

from .factories import api_client_with

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
EXAMPLES = 12
pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _keep_the_test_connection():
    """Django closes the database connection at the end of every request it serves through WSGI;
    inside a test's transaction that would close the test's own connection (PostgreSQL). The
    test client disconnects the same handler for the same reason."""
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def auth_headers():
    for n in range(3):
        CreditLineFactory(customer=CustomerFactory(external_id=f"C-{n}"))
    DisclosureFactory(kind=Disclosure.Kind.CONSENT_TEXT, version=1)
    _, auth = api_client_with(throttle_rate="100000/min")
    return {"Authorization": auth["HTTP_AUTHORIZATION"]}


def operations(headers):
    from riskops.wsgi import application

    schema = schemathesis.openapi.from_wsgi("/api/schema/", application, headers=headers)  # the schema needs a token
    return [result.ok() for result in schema.get_all_operations()]


@pytest.mark.timeout(900)
def test_every_operation_conforms_to_the_schema(auth_headers):
    ops = operations(auth_headers)
    assert len(ops) >= 15
    for operation in ops:

        @given(case=operation.as_strategy())
        @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True, database=None)
        def run(case):
            case.call_and_validate(headers=auth_headers, checks=CHECKS)

        run()


def test_the_run_would_catch_a_server_error(auth_headers, monkeypatch):
    """The run above can fail: a view that breaks (here the decision read) is reported."""
    import api.views

    def broken(**kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(api.views, "effective_decision", broken)
    operation = next(op for op in operations(auth_headers) if op.path.endswith("/decision"))

    @given(case=operation.as_strategy())
    @settings(max_examples=3, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True, database=None)
    def run(case):
        case.path_parameters["external_id"] = "C-1"
        case.call_and_validate(headers=auth_headers, checks=CHECKS)

    with pytest.raises(FailureGroup) as failed:
        run()
    assert any(isinstance(f, ServerError) for f in failed.value.exceptions)
