"""Structured logs (riskops/core/structured_logs.py, request_ids.py): one JSON object a line, a
request id from X-Request-ID (or made up) on every line of the request and in the tasks it
starts, and no personal data: the flows that handle national ids and phone numbers run with
everything logged captured, and the capture holds none of them."""

import io
import json
import logging
import re
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from accounts.models import Customer
from riskops.core.structured_logs import logging_config
from tests.api.factories import api_client_with

pytestmark = pytest.mark.django_db


@pytest.fixture
def captured_logs():
    """Everything any logger emits, at DEBUG, rendered by the production (JSON) formatter."""
    config = logging_config(json_lines=True, level="DEBUG")
    formatter = config["formatters"]["structured"]["()"](
        processors=config["formatters"]["structured"]["processors"],
        foreign_pre_chain=config["formatters"]["structured"]["foreign_pre_chain"],
    )
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    previous = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield stream
    finally:
        root.removeHandler(handler)
        root.setLevel(previous)


def _lines(stream) -> list[dict]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]


def test_every_line_is_one_json_object_with_the_request_id(client, captured_logs):
    response = client.get("/healthz", HTTP_X_REQUEST_ID="probe-42.a:b")
    assert response["X-Request-ID"] == "probe-42.a:b"
    lines = _lines(captured_logs)
    finished = [line for line in lines if line["event"] == "request_finished"]
    assert finished and finished[-1]["request_id"] == "probe-42.a:b" and finished[-1]["code"] == 200
    assert {"timestamp", "level", "logger"} <= set(finished[-1])


@pytest.mark.parametrize("offered", ["", "has space", "x" * 129, "new\nline", "<script>"])
def test_a_malformed_request_id_is_replaced_by_a_fresh_one(client, offered):
    response = client.get("/healthz", HTTP_X_REQUEST_ID=offered)
    assert re.fullmatch(r"[0-9a-f]{32}", response["X-Request-ID"])
    assert client.get("/healthz")["X-Request-ID"] != response["X-Request-ID"]


def test_the_query_string_is_not_logged(client, captured_logs):
    client.get("/healthz?q=5551234")
    assert "5551234" not in captured_logs.getvalue() and '"GET /healthz"' in captured_logs.getvalue()


def test_a_line_from_the_standard_library_carries_the_bound_context(captured_logs):
    # What a request's (or a task's) `logging` calls get: the context django-structlog bound.
    import structlog

    with structlog.contextvars.bound_contextvars(request_id="std-1", user_id=3):
        logging.getLogger("riskops.test").warning("inside %s", "a view")
    line = _lines(captured_logs)[-1]
    assert (line["event"], line["request_id"], line["user_id"], line["logger"]) == ("inside a view", "std-1", 3, "riskops.test")


def test_personal_fields_are_blanked_should_one_be_bound(captured_logs):
    import structlog

    structlog.get_logger("riskops.test").info("oops", national_id="11000000001", phone="+15550000001", customer=7)
    line = _lines(captured_logs)[-1]
    assert (line["national_id"], line["phone"], line["customer"]) == ("[redacted]", "[redacted]", 7)


def test_representative_flows_log_no_national_id_or_phone(captured_logs, risk_admin, django_capture_on_commit_callbacks):
    # A small seeded book: its national ids and phones are what the logs must never hold.
    call_command("seed_demo", customers=6, seed=17, as_of=(timezone.now() - timedelta(days=1)).date().isoformat(), no_progress=True)
    customers = list(Customer.objects.order_by("pk"))
    secrets = [c.national_id for c in customers] + [c.phone for c in customers] + [c.phone.lstrip("+") for c in customers]
    at = (timezone.now() - timedelta(minutes=1)).isoformat()
    _, auth = api_client_with()
    api = Client()

    with django_capture_on_commit_callbacks(execute=True):
        for n, customer in enumerate(customers):
            # Events through the API, one of them refused, with personal data in the body.
            api.post("/api/v1/transactions/", data={"customer": customer.external_id, "external_id": f"t-{n}", "kind": "purchase",
                                                    "amount": "12.50", "currency": "CNY", "occurred_at": at}, content_type="application/json", **auth)
            api.post("/api/v1/transactions/", data={"customer": customer.national_id, "external_id": f"x-{n}", "kind": "purchase",
                                                    "amount": "1.00", "currency": "CNY", "occurred_at": at}, content_type="application/json", **auth)
            api.post("/api/v1/consents/", data={"customer": customer.external_id, "purpose": "scoring",
                                                "evidence": {"phone": customer.phone, "national_id": customer.national_id}},
                     content_type="application/json", **auth)
            api.post("/api/v1/draw-checks/", data={"customer": customer.external_id, "amount": "10.00", "currency": "CNY", "channel": "app"},
                     content_type="application/json", **auth)
            api.post("/api/v1/draw-checks/", data={"customer": customer.phone, "amount": "10.00", "currency": "CNY", "channel": "app"},
                     content_type="application/json", **auth)

    # Staff pages: a profile with the identity shown in full, the header search by phone digits and id.
    staff = Client()
    staff.force_login(risk_admin)
    for customer in customers[:3]:
        assert staff.get(f"/customers/{customer.external_id}/").status_code == 200
        staff.get("/search/", {"q": customer.phone[-4:]})
        staff.get("/search/", {"q": customer.national_id})
    staff.get("/queue/", {"q": customers[0].phone[-5:]})

    logged = captured_logs.getvalue()
    lines = _lines(captured_logs)
    # The capture did see the flows (so an empty capture cannot pass)...
    assert sum(1 for line in lines if line["event"] == "request_finished") >= 6 * 5 + 3 * 3
    assert any(line.get("code") == 400 for line in lines)
    # ...and none of their personal data.
    leaked = [secret for secret in secrets if secret in logged]
    assert leaked == []
