"""`/metrics` for Prometheus: who may read it, what it says, and that the work moves it.

The protection is `/readyz`'s (a monitoring token or network); the domain's in-process metrics move
with a draw check, an event's recompute and a Celery task; the database gauges are read at scrape
time in a fixed number of queries; the shipped alert rules and dashboard name only metrics the
app exports."""

import json
import re
import shutil
import socket
import subprocess
import urllib.request
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
import yaml
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from prometheus_client import REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from accounts.events import transaction_record
from accounts.models import CustomerChangeMark
from compliance.models import AuditVerification
from decisions.engine.services.batches import marked_customers_recompute
from decisions.models import PolicyVersion, RecomputeChunk, Trigger
from draws.services import draw_check
from modelling.models import ModelHealth
from riskops.celery import app as celery_app
from riskops.core import task_metrics
from riskops.monitoring import collector
from riskops.monitoring.collector import DomainCollector
from tests.decisions.scenarios import make_customer
from tests.factories import CreditLineFactory, CustomerFactory, RecomputeChunkFactory, RecomputeRunFactory, RiskAlertFactory
from webhooks.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint, WebhookEvent

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "metrics-token-for-tests"
DOMAIN_NAMES = [
    "riskops_draw_check_duration_seconds", "riskops_draw_checks_total", "riskops_event_to_decision_seconds",
    "riskops_celery_task_duration_seconds", "riskops_celery_task_failures_total",
    "riskops_alerts_open", "riskops_alerts_past_sla", "riskops_change_marks_pending", "riskops_webhook_deliveries",
    "riskops_webhook_endpoints", "riskops_nightly_run_last_success_timestamp_seconds", "riskops_nightly_run_status",
    "riskops_audit_verification_status", "riskops_model_score_psi", "riskops_metrics_collector_errors",
]


@pytest.fixture
def monitoring(settings):
    settings.RISKOPS_MONITORING_TOKEN = TOKEN
    settings.RISKOPS_MONITORING_NETWORKS = []
    return settings


def scrape(client, **headers):
    return client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}", **headers)


def sample(name: str, **labels) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def domain_samples(now=None) -> dict[tuple[str, tuple], float]:
    registry = CollectorRegistry()
    registry.register(DomainCollector(now=now))
    found = {}
    for family in text_string_to_metric_families(generate_latest(registry).decode()):
        for s in family.samples:
            found[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return found


# --- who may read it ------------------------------------------------------------------------------


def test_refused_without_the_token_or_a_monitoring_network(client, monitoring):
    assert client.get("/metrics").status_code == 404
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 404
    assert client.get("/metrics", HTTP_AUTHORIZATION=f"Basic {TOKEN}").status_code == 404
    monitoring.RISKOPS_MONITORING_TOKEN = ""  # no token configured: no token opens it
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer ").status_code == 404


def test_the_token_reads_the_text_format_with_the_domain_metrics(client, monitoring):
    response = scrape(client)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    assert "no-store" in response["Cache-Control"]
    text = response.content.decode()
    for name in DOMAIN_NAMES:
        assert f"# TYPE {name} " in text, name
    # django-prometheus: requests by view and status, and the database's queries.
    assert "django_http_requests_total_by_method_total" in text
    assert "django_db_execute_total" in text
    assert client.post("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}").status_code == 405


def test_a_monitoring_network_reads_it_without_a_token(client, monitoring):
    monitoring.RISKOPS_MONITORING_NETWORKS = ["127.0.0.0/8"]
    assert client.get("/metrics").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="10.1.2.3").status_code == 404


def test_requests_are_counted_by_view_and_status(client, monitoring):
    before = sample("django_http_responses_total_by_status_view_method_total", status="200", view="healthz", method="GET")
    client.get("/healthz")
    assert sample("django_http_responses_total_by_status_view_method_total", status="200", view="healthz", method="GET") == before + 1


# --- the work moves the in-process metrics -------------------------------------------------------


def test_a_draw_check_moves_the_latency_histogram_and_the_decision_counter():
    line = CreditLineFactory(limit_amount=Decimal("500.00"))
    count = sample("riskops_draw_check_duration_seconds_count")
    allowed, denied = sample("riskops_draw_checks_total", decision="allow"), sample("riskops_draw_checks_total", decision="deny")
    draw_check(data={"customer": line.customer.external_id, "amount": "100.00", "currency": "CNY", "channel": "app"})
    draw_check(data={"customer": line.customer.external_id, "amount": "9999.00", "currency": "CNY", "channel": "app"})
    assert sample("riskops_draw_check_duration_seconds_count") == count + 2
    assert sample("riskops_draw_checks_total", decision="allow") == allowed + 1
    assert sample("riskops_draw_checks_total", decision="deny") == denied + 1


def test_an_event_moves_the_event_to_decision_histogram_when_its_recompute_takes_the_mark(django_capture_on_commit_callbacks):
    customer = make_customer()
    CustomerChangeMark.objects.all().delete()
    before = sample("riskops_event_to_decision_seconds_count", path="single")
    with django_capture_on_commit_callbacks(execute=True):
        transaction_record(
            customer=customer, external_id="met-1", kind="purchase", amount=Decimal("12.00"), occurred_at=timezone.now() - timedelta(minutes=1)
        )
    assert sample("riskops_event_to_decision_seconds_count", path="single") == before + 1
    assert not CustomerChangeMark.objects.filter(customer=customer).exists()


def test_a_batch_of_events_observes_each_mark_with_its_wait(django_capture_on_commit_callbacks):
    customers = [make_customer() for _ in range(2)]
    CustomerChangeMark.objects.all().delete()
    past = timezone.now() - timedelta(seconds=40)
    CustomerChangeMark.objects.bulk_create([CustomerChangeMark(customer=c, trigger="transaction", marked_at=past) for c in customers])
    before = sample("riskops_event_to_decision_seconds_count", path="batch")
    slow = sample("riskops_event_to_decision_seconds_bucket", path="batch", le="30.0")
    with django_capture_on_commit_callbacks(execute=True):
        marked_customers_recompute(customer_ids=[c.pk for c in customers], trigger=Trigger.TRANSACTION)
    assert sample("riskops_event_to_decision_seconds_count", path="batch") == before + 2
    assert sample("riskops_event_to_decision_seconds_bucket", path="batch", le="30.0") == slow  # both waited 40 s


@celery_app.task(name="tests.metrics.fine")
def _fine_task():
    return 1


@celery_app.task(name="tests.metrics.boom")
def _boom_task():
    raise LookupError("boom")


def test_celery_tasks_record_their_duration_and_failures():
    fine = sample("riskops_celery_task_duration_seconds_count", task="tests.metrics.fine", state="SUCCESS")
    failures = sample("riskops_celery_task_failures_total", task="tests.metrics.boom")
    _fine_task.apply()
    # As a worker runs it: the failure recorded, not raised (eager tasks raise before the signal).
    assert _boom_task.apply(throw=False).failed()
    assert sample("riskops_celery_task_duration_seconds_count", task="tests.metrics.fine", state="SUCCESS") == fine + 1
    assert sample("riskops_celery_task_failures_total", task="tests.metrics.boom") == failures + 1
    assert sample("riskops_celery_task_duration_seconds_count", task="tests.metrics.boom", state="FAILURE") >= 1


def test_a_worker_serves_its_task_metrics_on_its_port(settings):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    settings.RISKOPS_WORKER_METRICS_PORT = port
    settings.RISKOPS_WORKER_METRICS_ADDR = "127.0.0.1"
    _fine_task.apply()
    task_metrics.serve_worker_metrics()
    body = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    assert 'riskops_celery_task_duration_seconds_count{state="SUCCESS",task="tests.metrics.fine"}' in body
    assert "riskops_alerts_open" not in body  # a worker never reads the database for a scrape


# --- gauges read from the database at scrape time -------------------------------------------------


def _populate(now):
    RiskAlertFactory(severity=5, raised_at=now - timedelta(days=30))  # past any SLA
    RiskAlertFactory(severity=5)
    RiskAlertFactory(severity=2, status="resolved")
    customer = CustomerFactory()
    CustomerChangeMark.objects.create(customer=customer, trigger="transaction", marked_at=now - timedelta(minutes=10))
    endpoint = WebhookEndpoint.objects.create(url="https://hooks.example.com/riskops", event_types=["alert.raised"])
    for i, status in enumerate([DeliveryStatus.PENDING, DeliveryStatus.FAILED, DeliveryStatus.DEAD, DeliveryStatus.SUCCEEDED]):
        event = WebhookEvent.objects.create(id=f"msg_met{i}", type="alert.raised", payload={}, created_at=now - timedelta(minutes=5))
        WebhookDelivery.objects.create(
            event=event, endpoint=endpoint, status=status, created_at=now - timedelta(minutes=5),
            delivered_at=now if status == DeliveryStatus.SUCCEEDED else None,
        )
    RecomputeRunFactory(trigger=Trigger.NIGHTLY, succeeded=True, total_customers=600, done_customers=600, started_at=now - timedelta(days=1, minutes=10), finished_at=now - timedelta(days=1))
    stalled = RecomputeRunFactory(trigger=Trigger.NIGHTLY, running=True, started_at=now - timedelta(hours=1), total_customers=600, done_customers=100)
    RecomputeChunkFactory(run=stalled, status=RecomputeChunk.Status.FAILED, finished_at=now - timedelta(hours=1))
    AuditVerification.objects.create(status="broken", trigger="beat", requested_at=now, finished_at=now, broken_event_id=7, events_checked=10)
    active = PolicyVersion.objects.get(state="active")
    ModelHealth.objects.create(policy_version=active, day=date(2026, 3, 2), score_psi=0.31, rows=100, level="alert", computed_at=now)


def test_the_database_gauges_say_what_the_rows_say():
    now = timezone.now()
    _populate(now)
    found = domain_samples(now)
    assert found[("riskops_alerts_open", (("severity", "5"),))] == 2
    assert found[("riskops_alerts_past_sla", (("severity", "5"),))] == 1
    assert found[("riskops_alerts_open", (("severity", "2"),))] == 0
    assert found[("riskops_change_marks_pending", ())] == 1
    assert found[("riskops_change_marks_oldest_age_seconds", ())] == pytest.approx(600, abs=1)
    for status in ("pending", "failed", "dead"):
        assert found[("riskops_webhook_deliveries", (("status", status),))] == 1
    assert found[("riskops_webhook_endpoints", (("state", "active"),))] == 1
    assert found[("riskops_nightly_run_status", (("status", "running"),))] == 1
    assert found[("riskops_nightly_run_stalled", ())] == 1
    assert found[("riskops_nightly_run_chunks_failed", ())] == 1
    assert found[("riskops_nightly_run_duration_seconds", ())] == pytest.approx(3600, abs=1)
    assert found[("riskops_nightly_run_last_success_timestamp_seconds", ())] == pytest.approx((now - timedelta(days=1)).timestamp(), abs=1)
    assert found[("riskops_audit_verification_status", (("status", "broken"),))] == 1
    assert found[("riskops_audit_verification_status", (("status", "ok"),))] == 0
    assert found[("riskops_model_score_psi", (("policy_version", "1"),))] == pytest.approx(0.31)
    assert all(value == 0 for (name, _), value in found.items() if name == "riskops_metrics_collector_errors")


def test_a_finished_nightly_run_reports_its_customers_per_second():
    now = timezone.now()
    RecomputeRunFactory(
        trigger=Trigger.NIGHTLY, succeeded=True, total_customers=600, done_customers=600, started_at=now - timedelta(seconds=120), finished_at=now
    )
    found = domain_samples(now)
    assert found[("riskops_nightly_run_customers_per_second", ())] == pytest.approx(5.0)
    assert found[("riskops_nightly_run_stalled", ())] == 0


def test_the_collector_reads_in_a_fixed_number_of_queries_whatever_the_data():
    domain_samples()  # warm the process's caches (the active policy)
    with CaptureQueriesContext(connection) as empty:
        domain_samples()
    _populate(timezone.now())
    for i in range(3):
        RiskAlertFactory(severity=1 + i)
        RecomputeRunFactory(trigger=Trigger.NIGHTLY, succeeded=True)
    domain_samples()
    with CaptureQueriesContext(connection) as full:
        domain_samples()
    statements = [q["sql"] for q in full.captured_queries if not q["sql"].startswith(("SAVEPOINT", "RELEASE SAVEPOINT"))]
    budget = collector.QUERIES + (1 if connection.vendor == "postgresql" else 0)
    assert len(full.captured_queries) == len(empty.captured_queries)
    assert len(statements) <= budget, statements


def test_a_failed_read_leaves_its_gauges_out_and_says_so(client, monitoring, monkeypatch):
    def broken(now):
        raise RuntimeError("relation does not exist")

    monkeypatch.setitem(collector.READS, "webhooks", broken)
    response = scrape(client)
    assert response.status_code == 200
    text = response.content.decode()
    assert 'riskops_metrics_collector_errors{read="webhooks"} 1.0' in text
    assert "riskops_webhook_deliveries{" not in text
    assert 'riskops_metrics_collector_errors{read="outbox"} 0.0' in text


def test_the_database_down_is_a_scrape_with_every_read_failed(client, monitoring, monkeypatch):
    from django.db import OperationalError

    def refused(*args, **kwargs):
        raise OperationalError("connection refused")

    monkeypatch.setattr("riskops.monitoring.collector.transaction.atomic", refused)
    response = scrape(client)
    assert response.status_code == 200
    assert 'riskops_metrics_collector_errors{read="alerts"} 1.0' in response.content.decode()


# --- the shipped alert rules and dashboard --------------------------------------------------------

PROMETHEUS_OWN = {"up"}  # series Prometheus makes itself


def exported_names() -> set[str]:
    """Every series name /metrics can carry: the process registry's families (their counters'
    `_total`, histograms' `_bucket`, `_count`, `_sum`) and the database gauges, with rows behind
    every one of them (a running nightly run, model health)."""
    _populate(timezone.now())
    names: set[str] = set()
    families = list(REGISTRY.collect()) + list(DomainCollector().collect())
    for family in families:
        names.add(family.name)
        names.update(s.name for s in family.samples)
        if family.type == "counter":
            names.add(f"{family.name}_total")
        if family.type == "histogram":
            names.update(f"{family.name}{suffix}" for suffix in ("_bucket", "_count", "_sum"))
    return names


def metric_names(expr: str) -> set[str]:
    return set(re.findall(r"\b((?:riskops|django)_[a-z0-9_]+)\b", expr)) | ({"up"} & set(re.findall(r"\b([a-z_]+)\{", expr)))


def test_every_alert_rule_names_a_metric_the_app_exports():
    rules = yaml.safe_load((ROOT / "ops/prometheus/alerts.yml").read_text())
    known = exported_names() | PROMETHEUS_OWN
    alerts = [rule for group in rules["groups"] for rule in group["rules"]]
    names = {rule["alert"] for rule in alerts}
    for wanted in (
        "RiskOpsNightlyRunFailed", "RiskOpsNightlyRunStalled", "RiskOpsAuditChainBroken", "RiskOpsAlertsPastSla",
        "RiskOpsWebhookDeliveriesDead", "RiskOpsModelDrift", "RiskOpsDrawCheckLatencyHigh", "RiskOpsWorkerDown",
    ):
        assert wanted in names, wanted
    for rule in alerts:
        assert set(rule) >= {"alert", "expr", "labels", "annotations"}, rule["alert"]
        assert rule["labels"]["severity"] in {"page", "ticket"}, rule["alert"]
        used = metric_names(rule["expr"])
        assert used, rule["alert"]
        assert used <= known, (rule["alert"], used - known)


def test_the_drift_rule_fires_at_the_model_alert_level():
    rules = yaml.safe_load((ROOT / "ops/prometheus/alerts.yml").read_text())
    drift = next(r for g in rules["groups"] for r in g["rules"] if r["alert"] == "RiskOpsModelDrift")
    assert ">= 0.25" in drift["expr"]


@pytest.mark.skipif(not shutil.which("promtool"), reason="promtool is not installed")
def test_promtool_accepts_the_rules():
    subprocess.run(["promtool", "check", "rules", str(ROOT / "ops/prometheus/alerts.yml")], check=True)


def test_every_dashboard_panel_queries_a_metric_the_app_exports():
    dashboard = json.loads((ROOT / "ops/grafana/riskops.json").read_text())
    known = exported_names() | PROMETHEUS_OWN
    panels = dashboard["panels"]
    assert len(panels) >= 10
    for panel in panels:
        if panel["type"] == "row":
            continue
        for target in panel["targets"]:
            used = metric_names(target["expr"])
            assert used and used <= known, (panel["title"], used - known)


# --- gunicorn's workers share one directory of values ---------------------------------------------


def _gunicorn_conf():
    import importlib.util

    spec = importlib.util.spec_from_file_location("gunicorn_conf_metrics", ROOT / "gunicorn.conf.py")
    conf = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(conf)
    return conf


def test_gunicorn_empties_the_metrics_directory_at_start_and_names_one_when_none_is_set(monkeypatch, tmp_path):
    import os

    conf = _gunicorn_conf()
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    (tmp_path / "counter_4242.db").write_bytes(b"left by a previous run")
    conf.on_starting(server=None)
    assert not list(tmp_path.glob("*.db")) and os.environ["PROMETHEUS_MULTIPROC_DIR"] == str(tmp_path)
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR")
    conf.on_starting(server=None)
    made = Path(os.environ["PROMETHEUS_MULTIPROC_DIR"])
    assert made.is_dir() and made != tmp_path
    made.rmdir()


def test_metrics_sum_the_values_of_every_process_sharing_the_directory(monkeypatch, tmp_path):
    """What gunicorn's workers (or a prefork worker's children) do: each process writes its values
    to the directory, and /metrics adds them up."""
    import os
    import sys

    from prometheus_client.parser import text_string_to_metric_families

    from riskops.monitoring.views import _process_registry

    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    code = "from riskops.core.metrics import draw_check_observe as o; o(decision='allow', seconds=0.003)"
    for _ in range(2):
        subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT, check=True, timeout=60)
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    text = generate_latest(_process_registry()).decode()
    values = {
        (s.name, tuple(sorted(s.labels.items()))): s.value for family in text_string_to_metric_families(text) for s in family.samples
    }
    assert values[("riskops_draw_checks_total", (("decision", "allow"),))] == 2
    assert values[("riskops_draw_check_duration_seconds_count", ())] == 2
