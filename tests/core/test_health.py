"""`/healthz` and `/readyz` (riskops/core/health.py, health_views.py): JSON with 200/503, reachable
without a login or an HTTPS redirect, details (each check, the failing ones named) only for the
monitoring token or a monitoring network; tested with the broker down, the database down (mocked
in-process, and for real in a subprocess pointed at a closed port), migrations missing, a failed or
stale nightly run and a broken audit chain."""

import json
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import OperationalError, connection
from django.utils import timezone

from compliance.models import AuditVerification
from decisions.models import RecomputeRun, Trigger
from riskops.core import health
from tests.factories import RecomputeRunFactory

pytestmark = pytest.mark.django_db

TOKEN = "monitor-" + "x" * 40
ALL_CHECKS = ["database", "migrations", "broker", "worker", "nightly_run", "audit_chain"]


@pytest.fixture(autouse=True)
def _monitoring(settings, monkeypatch, request):
    if request.node.get_closest_marker("redis") is None:
        # Tasks in-process, whatever the environment says (CI sets a broker but runs no worker for
        # these tests); the broker's and the worker's own tests set theirs.
        settings.CELERY_BROKER_URL = ""
    settings.RISKOPS_MONITORING_TOKEN = TOKEN
    settings.RISKOPS_MONITORING_NETWORKS = []  # the test client is 127.0.0.1: no network by default here
    monkeypatch.setattr(health, "_migrations_applied", False)


def _ready(client, *, token=TOKEN, **extra):
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token else {}
    response = client.get("/readyz", **headers, **extra)
    assert response["Content-Type"] == "application/json"
    return response, response.json()


def _nightly(*, status=RecomputeRun.Status.SUCCEEDED, hours_ago=2.0):
    finished = timezone.now() - timedelta(hours=hours_ago)
    return RecomputeRunFactory(trigger=Trigger.NIGHTLY, status=status, started_at=finished - timedelta(minutes=5), finished_at=finished)


def _verification(status, **extra):
    now = timezone.now()
    return AuditVerification.objects.create(trigger="beat", requested_at=now, started_at=now, finished_at=now, status=status, **extra)


# --- /healthz -------------------------------------------------------------------------------------


def test_healthz_answers_without_the_database_or_a_login(client, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = client.get("/healthz")
    assert response.status_code == 200 and response.json() == {"status": "ok"}
    assert "no-store" in response["Cache-Control"]


def test_healthz_answers_while_the_database_is_down(client, monkeypatch):
    monkeypatch.setattr(connection, "cursor", _refused_cursor)
    assert client.get("/healthz").json() == {"status": "ok"}


def test_probes_are_not_redirected_to_https_in_the_production_profile(client, settings):
    # The production profile's own settings (riskops/settings.py): a probe over plain HTTP gets its answer.
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
    assert client.get("/healthz").status_code == 200
    assert client.get("/readyz").status_code == 200
    assert client.get("/login/").status_code == 301  # the rest still is


def test_the_production_profile_exempts_the_probes_from_the_https_redirect():
    env = {k: v for k, v in os.environ.items() if k != "DEBUG"} | {"SECRET_KEY": "s" * 50, "DJANGO_SETTINGS_MODULE": "riskops.settings"}
    out = subprocess.run(
        [sys.executable, "-c", "from django.conf import settings as s; print(s.SECURE_SSL_REDIRECT, s.SECURE_REDIRECT_EXEMPT)"],
        env=env, cwd=Path(__file__).resolve().parents[2], capture_output=True, text=True, check=True,
    ).stdout
    assert out.strip() == "True ['^healthz$', '^readyz$', '^metrics$']"


def test_only_get_and_head(client):
    assert client.post("/healthz").status_code == 405
    assert client.head("/readyz").status_code == 200


# --- /readyz: who sees what -----------------------------------------------------------------------


def test_readyz_is_ready_and_the_token_sees_every_check(client):
    response, body = _ready(client)
    assert response.status_code == 200 and body["status"] == "ok" and body["failing"] == []
    assert list(body["checks"]) == ALL_CHECKS
    assert all(check["ok"] for check in body["checks"].values())
    # No broker in the unit tests: tasks run in-process, which is ready, and says so.
    assert "in-process" in body["checks"]["broker"]["detail"]
    assert body["checks"]["nightly_run"]["detail"] == "no nightly run has finished yet"


@pytest.mark.parametrize("authorization", [None, "Bearer wrong", f"Token {TOKEN}", f"Bearer {TOKEN}x", TOKEN, "Bearer "])
def test_without_the_token_only_the_status(client, authorization):
    _verification("broken", broken_event_id=7)
    headers = {"HTTP_AUTHORIZATION": authorization} if authorization is not None else {}
    response = client.get("/readyz", **headers)
    assert response.status_code == 503 and response.json() == {"status": "unavailable"}


def test_the_bearer_scheme_is_case_insensitive(client):
    response = client.get("/readyz", HTTP_AUTHORIZATION=f"bearer {TOKEN}")
    assert "checks" in response.json()


def test_no_token_configured_means_no_token_opens_the_details(client, settings):
    settings.RISKOPS_MONITORING_TOKEN = ""
    assert client.get("/readyz", HTTP_AUTHORIZATION="Bearer ").json() == {"status": "ok"}


def test_a_monitoring_network_sees_the_details_without_a_token(client, settings):
    settings.RISKOPS_MONITORING_NETWORKS = ["10.0.0.0/8", "fd00::/8"]
    assert "checks" in client.get("/readyz", REMOTE_ADDR="10.20.30.40").json()
    assert "checks" in client.get("/readyz", REMOTE_ADDR="fd00::1").json()
    assert client.get("/readyz", REMOTE_ADDR="192.168.1.5").json() == {"status": "ok"}
    assert client.get("/readyz", REMOTE_ADDR="not-an-address").json() == {"status": "ok"}


def test_a_bad_network_setting_stops_the_start_up():
    env = os.environ | {"DEBUG": "true", "RISKOPS_MONITORING_NETWORKS": "10.0.0.0/8,office", "DJANGO_SETTINGS_MODULE": "riskops.settings"}
    run = subprocess.run([sys.executable, "-c", "import django; django.setup()"], env=env,
                         cwd=Path(__file__).resolve().parents[2], capture_output=True, text=True)
    assert run.returncode != 0 and "RISKOPS_MONITORING_NETWORKS: 'office' is not a network" in run.stderr


# --- /readyz: what fails --------------------------------------------------------------------------


def _refused_cursor(*args, **kwargs):
    raise OperationalError('connection to server at "db.internal" (10.0.0.9), port 5432 failed: Connection refused')


def test_the_database_down_is_a_503_naming_it(client, monkeypatch):
    monkeypatch.setattr(connection, "cursor", _refused_cursor)
    response, body = _ready(client)
    assert response.status_code == 503 and body["status"] == "unavailable"
    assert body["failing"] == ["database", "migrations", "nightly_run", "audit_chain"]
    assert body["checks"]["database"]["detail"].startswith("OperationalError: connection to server")
    assert body["checks"]["nightly_run"]["detail"] == "not checked: the database is unavailable"
    assert body["checks"]["broker"]["ok"] and body["checks"]["worker"]["ok"]


def test_an_unreachable_database_for_real_is_a_503_naming_it(tmp_path):
    """A process whose DATABASE_URL points at a closed port: /readyz answers 503, /healthz 200."""
    script = (
        "import json, django; django.setup()\n"
        "from django.test import Client\n"
        "c = Client()\n"
        "h = c.get('/healthz')\n"
        f"r = c.get('/readyz', HTTP_AUTHORIZATION='Bearer {TOKEN}')\n"
        "print(json.dumps([h.status_code, r.status_code, r.json()]))\n"
    )
    env = os.environ | {
        "DEBUG": "true", "DJANGO_SETTINGS_MODULE": "riskops.settings", "RISKOPS_MONITORING_TOKEN": TOKEN,
        "DATABASE_URL": "postgres://postgres@127.0.0.1:9/riskops_nowhere", "RISKOPS_DB_CONNECT_TIMEOUT": "2",
        "CELERY_BROKER_URL": "",
    }
    run = subprocess.run([sys.executable, "-c", script], env=env, cwd=Path(__file__).resolve().parents[2],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr[-2000:]
    healthz, readyz, body = json.loads(run.stdout.strip().splitlines()[-1])
    assert (healthz, readyz, body["status"]) == (200, 503, "unavailable")
    assert body["failing"][0] == "database" and "OperationalError" in body["checks"]["database"]["detail"]


def test_the_broker_down_is_a_503_naming_it(client, settings):
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:9/0"  # nothing listens there
    settings.RISKOPS_READYZ_BROKER_TIMEOUT = 1
    response, body = _ready(client)
    assert response.status_code == 503
    assert body["failing"] == ["broker", "worker"]
    assert "Error" in body["checks"]["broker"]["detail"]
    assert body["checks"]["worker"]["detail"] == "not checked: the broker is unavailable"
    assert body["checks"]["database"]["ok"]


def test_no_worker_answering_is_a_503_naming_it(client, settings, monkeypatch):
    from riskops.celery import app

    settings.CELERY_BROKER_URL = "redis://127.0.0.1:9/0"
    monkeypatch.setattr(health, "_broker", lambda: "answers")
    monkeypatch.setattr(app.control, "ping", lambda timeout: [])
    response, body = _ready(client)
    assert response.status_code == 503 and body["failing"] == ["worker"]
    assert body["checks"]["worker"]["detail"] == "no worker answered a ping within 1 s"
    monkeypatch.setattr(app.control, "ping", lambda timeout: [{"celery@a": {"ok": "pong"}}, {"celery@b": {"ok": "pong"}}])
    response, body = _ready(client)
    assert response.status_code == 200 and body["checks"]["worker"]["detail"] == "2 answered"


@pytest.mark.redis
def test_a_real_broker_answers(client):
    _, body = _ready(client)
    assert body["checks"]["broker"] == {**body["checks"]["broker"], "ok": True, "detail": "answers"}


def test_migrations_not_applied_are_named(client, monkeypatch):
    from django.db.migrations.executor import MigrationExecutor

    class Pending:
        app_label, name = "decisions", "0099_future"

    monkeypatch.setattr(MigrationExecutor, "migration_plan", lambda self, targets: [(Pending, False)])
    response, body = _ready(client)
    assert response.status_code == 503 and body["failing"] == ["migrations"]
    assert body["checks"]["migrations"]["detail"] == "1 not applied: decisions.0099_future"


def test_the_nightly_run_must_have_succeeded_within_26_hours(client):
    _nightly(hours_ago=30)
    response, body = _ready(client)
    assert response.status_code == 503 and body["failing"] == ["nightly_run"]
    assert "succeeded 30.0 h ago (more than 26 h)" in body["checks"]["nightly_run"]["detail"]

    _nightly(hours_ago=2)
    response, body = _ready(client)
    assert response.status_code == 200 and "succeeded 2.0 h ago" in body["checks"]["nightly_run"]["detail"]

    failed = _nightly(status=RecomputeRun.Status.FAILED, hours_ago=1)
    response, body = _ready(client)
    assert response.status_code == 503 and body["failing"] == ["nightly_run"]
    assert f"run, {failed.pk}, finished 1.0 h ago with status failed" in body["checks"]["nightly_run"]["detail"]


def test_a_manual_run_does_not_stand_in_for_the_nightly_one(client):
    _nightly(hours_ago=40)
    RecomputeRunFactory(succeeded=True)  # a manual run, just now
    response, body = _ready(client)
    assert response.status_code == 503 and body["failing"] == ["nightly_run"]


def test_a_broken_audit_chain_is_a_503_until_a_later_verification_finds_it_intact(client):
    broken = _verification("broken", broken_event_id=41)
    response, body = _ready(client)
    assert response.status_code == 503 and body["failing"] == ["audit_chain"]
    assert f"verification {broken.pk}" in body["checks"]["audit_chain"]["detail"] and "broken at event 41" in body["checks"]["audit_chain"]["detail"]

    _verification("ok", events_checked=12)
    response, body = _ready(client)
    assert response.status_code == 200 and body["checks"]["audit_chain"]["detail"].startswith("intact: 12 events")


def test_a_verification_that_could_not_finish_fails_the_check(client):
    _verification("failed")
    response, body = _ready(client)
    assert response.status_code == 503 and body["failing"] == ["audit_chain"]


def test_readyz_reads_the_database_in_a_fixed_number_of_queries(client, django_assert_max_num_queries):
    _nightly(), _verification("ok")
    client.get("/readyz")  # the migration check reads the graph once per process, then remembers
    # SELECT 1; the nightly run; the last verification; and around each of the three database
    # checks its transaction (a savepoint and its release inside the test's own transaction) and,
    # on PostgreSQL, its statement timeout.
    with django_assert_max_num_queries(12 if connection.vendor == "postgresql" else 9):
        assert client.get("/readyz").status_code == 200
