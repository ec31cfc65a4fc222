"""The request id follows a request into the Celery task it starts, on a real worker: the API
records an event with `X-Request-ID`, its recompute runs on the worker, and the worker's JSON log
lines for that task carry the same id (django-structlog's Celery support,
riskops/core/request_ids.py)."""

import json
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from decisions.models import ScoreSnapshot
from tests.api.factories import api_client_with
from tests.factories import CustomerFactory
from tests.support.waiting import wait_for
from tests.support.worker import worker_process

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.django_db(transaction=True)]


def test_the_worker_logs_the_task_with_the_request_id_of_the_request_that_started_it(tmp_path):
    log = tmp_path / "worker.log"
    customer = CustomerFactory(external_id="C-LOG")
    _, auth = api_client_with()
    with worker_process(concurrency=1, log_path=log, env={"RISKOPS_LOG_FORMAT": "json"}):
        response = Client().post(
            "/api/v1/transactions/", content_type="application/json", HTTP_X_REQUEST_ID="req-follow-1", **auth,
            data={"customer": "C-LOG", "external_id": "t-log", "kind": "purchase", "amount": "5.00", "currency": "CNY",
                  "occurred_at": (timezone.now() - timedelta(minutes=1)).isoformat()},
        )
        assert response.status_code == 201 and response["X-Request-ID"] == "req-follow-1"
        wait_for(lambda: ScoreSnapshot.objects.filter(customer=customer, trigger="transaction").exists(), timeout=60)
        lines = wait_for(lambda: [line for line in _json_lines(log) if line.get("event") == "task_succeeded"
                                  and line.get("request_id") == "req-follow-1"], timeout=30)
    assert lines[0]["task_id"] and lines[0]["level"] == "info"
    started = [line for line in _json_lines(log) if line.get("event") == "task_started" and line.get("request_id") == "req-follow-1"]
    assert started and started[0]["task"].startswith(("api.tasks.", "decisions.tasks."))


def _json_lines(path) -> list[dict]:
    lines = []
    for raw in path.read_text().splitlines():
        try:
            lines.append(json.loads(raw))
        except ValueError:
            continue  # a line Celery printed itself (its banner) is not ours to parse
    return lines
