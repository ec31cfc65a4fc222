"""The gauges that come from the database, read at scrape time in a fixed number of queries.

Nothing here is kept in a process's memory: each scrape asks the database, so every gunicorn
worker answers the same figures, a restart loses nothing, and a figure cannot drift from the
rows it counts. QUERIES is the budget, whatever the size of the book (tests/core/test_metrics.py
counts them): each read below is one indexed aggregate or one ordered row.

A read that fails (the database down, a statement timeout) leaves its gauges out of that
scrape and sets `riskops_metrics_collector_errors` for it, rather than failing the whole scrape:
Prometheus then alerts on the missing series and on /readyz, not on a 500 from /metrics.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.db.models import Count, Max, Min, Q
from django.utils import timezone
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from accounts.models import CustomerChangeMark
from compliance.models import AuditVerification, VerificationStatus
from decisions.casework.overview_selectors import open_alert_counts
from decisions.models import ChunkStatus, PolicyState, RecomputeRun, RunOrigin, RunStatus, Trigger
from modelling.models import ModelHealth, MonitoringLevel
from webhooks.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint

logger = logging.getLogger(__name__)

# Queries per scrape, at most: open alerts (the active policy's SLA hours, one aggregate), the
# outbox, the webhook backlog, the endpoints, the latest nightly run, the last nightly success,
# the latest audit verification, the active version's latest model health; PostgreSQL adds one
# statement for the timeout.
QUERIES = 9
STATEMENT_TIMEOUT_MS = 5000  # a scrape must answer within Prometheus's scrape timeout


def _seconds(when: datetime | None) -> float:
    return when.timestamp() if when else 0.0


def _alerts(now: datetime) -> Iterator[GaugeMetricFamily]:
    counts = open_alert_counts(now=now)
    open_ = GaugeMetricFamily("riskops_alerts_open", "Open alerts (open or in review), by severity (1 low … 5 critical).", labels=["severity"])
    late = GaugeMetricFamily("riskops_alerts_past_sla", "Open alerts older than their severity's SLA hours, by severity.", labels=["severity"])
    for row in counts.by_severity:
        open_.add_metric([str(row["severity"])], row["open"])
        late.add_metric([str(row["severity"])], row["past_sla"])
    yield open_
    yield late


def _outbox(now: datetime) -> Iterator[GaugeMetricFamily]:
    row = CustomerChangeMark.objects.aggregate(marks=Count("id"), oldest=Min("marked_at"))
    yield GaugeMetricFamily("riskops_change_marks_pending", "Change marks (the outbox) not yet taken by a recompute.", value=row["marks"])
    age = (now - row["oldest"]).total_seconds() if row["oldest"] else 0.0
    yield GaugeMetricFamily("riskops_change_marks_oldest_age_seconds", "Age of the oldest pending change mark (0: none).", value=max(age, 0.0))


def _webhooks(now: datetime) -> Iterator[GaugeMetricFamily]:
    waiting = [DeliveryStatus.PENDING, DeliveryStatus.FAILED]
    row = WebhookDelivery.objects.filter(status__in=[*waiting, DeliveryStatus.DEAD]).aggregate(
        pending=Count("id", filter=Q(status=DeliveryStatus.PENDING)),
        failed=Count("id", filter=Q(status=DeliveryStatus.FAILED)),
        dead=Count("id", filter=Q(status=DeliveryStatus.DEAD)),
        oldest=Min("created_at", filter=Q(status__in=waiting)),
    )
    backlog = GaugeMetricFamily("riskops_webhook_deliveries", "Webhook deliveries not delivered, by status (pending, failed: will retry, dead: retries exhausted).", labels=["status"])
    for status in ("pending", "failed", "dead"):
        backlog.add_metric([status], row[status])
    yield backlog
    age = (now - row["oldest"]).total_seconds() if row["oldest"] else 0.0
    yield GaugeMetricFamily("riskops_webhook_backlog_oldest_age_seconds", "Age of the oldest delivery still to send (0: none).", value=max(age, 0.0))
    # Aliases other than the field's own name: `active=Count(..., filter=Q(active=True))` would
    # read its own aggregate.
    endpoints = WebhookEndpoint.objects.aggregate(on=Count("id", filter=Q(active=True)), off=Count("id", filter=Q(active=False)))
    family = GaugeMetricFamily("riskops_webhook_endpoints", "Webhook endpoints, by state (disabled: by an admin or after repeated failures).", labels=["state"])
    family.add_metric(["active"], endpoints["on"])
    family.add_metric(["disabled"], endpoints["off"])
    yield family


def _nightly(now: datetime) -> Iterator[GaugeMetricFamily]:
    nightly = RecomputeRun.objects.filter(trigger=Trigger.NIGHTLY).exclude(origin=RunOrigin.REPLAY)
    run = (
        nightly.annotate(
            last_claimed_at=Max("chunks__claimed_at"),
            last_finished_at=Max("chunks__finished_at"),
            failed_chunks=Count("chunks", filter=Q(chunks__status=ChunkStatus.FAILED)),
        )
        .order_by("-created_at", "-id")
        .first()
    )
    last_success = nightly.filter(status=RunStatus.SUCCEEDED).aggregate(at=Max("finished_at"))["at"]
    yield GaugeMetricFamily(
        "riskops_nightly_run_last_success_timestamp_seconds", "When the last nightly run that succeeded finished (0: never).", value=_seconds(last_success)
    )
    status = GaugeMetricFamily("riskops_nightly_run_status", "The latest nightly run's status (1 for its status, 0 for the others).", labels=["status"])
    for value in RunStatus.values:
        status.add_metric([value], 1.0 if run is not None and run.status == value else 0.0)
    yield status
    if run is None:
        return
    end = run.finished_at or now
    duration = max((end - run.started_at).total_seconds(), 0.0) if run.started_at else 0.0
    yield GaugeMetricFamily("riskops_nightly_run_started_timestamp_seconds", "When the latest nightly run started (0: not yet).", value=_seconds(run.started_at))
    yield GaugeMetricFamily("riskops_nightly_run_duration_seconds", "The latest nightly run's duration (so far, while it runs).", value=duration)
    yield GaugeMetricFamily(
        "riskops_nightly_run_customers_per_second", "Customers the latest nightly run recomputed per second.",
        value=run.done_customers / duration if duration else 0.0,
    )
    yield GaugeMetricFamily("riskops_nightly_run_chunks_failed", "Chunks of the latest nightly run that failed.", value=run.failed_chunks)
    yield GaugeMetricFamily("riskops_nightly_run_customers_failed", "Customers the latest nightly run could not recompute.", value=run.failed_customers)
    stalled = 0.0
    if run.status == RunStatus.RUNNING:
        marks = [t for t in (run.started_at, run.last_claimed_at, run.last_finished_at) if t is not None]
        # The runs page's definition (decisions/engine/selectors.py run_progress): no chunk
        # claimed or finished for longer than RISKOPS_CHUNK_STALE_SECONDS.
        stalled = 1.0 if marks and now - max(marks) > timedelta(seconds=settings.RISKOPS_CHUNK_STALE_SECONDS) else 0.0
    yield GaugeMetricFamily("riskops_nightly_run_stalled", "1 while the latest nightly run runs without progress for longer than the stale threshold.", value=stalled)


def _audit(now: datetime) -> Iterator[GaugeMetricFamily]:
    finished = [VerificationStatus.OK, VerificationStatus.BROKEN, VerificationStatus.FAILED]
    last = AuditVerification.objects.filter(status__in=finished).order_by("-finished_at", "-id").values("status", "finished_at", "events_checked").first()
    family = GaugeMetricFamily("riskops_audit_verification_status", "The last finished walk of the audit chain (1 for its result: ok, broken, failed).", labels=["status"])
    for value in finished:
        family.add_metric([value], 1.0 if last and last["status"] == value else 0.0)
    yield family
    yield GaugeMetricFamily(
        "riskops_audit_verification_timestamp_seconds", "When the last audit verification finished (0: never).", value=_seconds(last["finished_at"] if last else None)
    )
    yield GaugeMetricFamily("riskops_audit_verification_events_checked", "Events the last audit verification walked.", value=last["events_checked"] if last else 0)


def _model(now: datetime) -> Iterator[GaugeMetricFamily]:
    health = (
        ModelHealth.objects.filter(policy_version__state=PolicyState.ACTIVE)
        .order_by("-day", "-computed_at")
        .values("policy_version__version", "score_psi", "level", "day", "computed_at")
        .first()
    )
    psi = GaugeMetricFamily("riskops_model_score_psi", "The active policy's latest score PSI against its reference (0.25 and above: alert).", labels=["policy_version"])
    level = GaugeMetricFamily("riskops_model_health_level", "The active policy's latest model health level (1 for it).", labels=["policy_version", "level"])
    if health:
        version = str(health["policy_version__version"])
        psi.add_metric([version], health["score_psi"])
        for value in MonitoringLevel.values:
            level.add_metric([version, value], 1.0 if health["level"] == value else 0.0)
    yield psi
    yield level
    yield GaugeMetricFamily(
        "riskops_model_health_timestamp_seconds", "When the active policy's latest model health was computed (0: never).",
        value=_seconds(health["computed_at"] if health else None),
    )


READS: dict[str, Callable[[datetime], Iterator[GaugeMetricFamily]]] = {
    "alerts": _alerts, "outbox": _outbox, "webhooks": _webhooks, "nightly": _nightly, "audit": _audit, "model": _model,
}


class DomainCollector(Collector):
    """Registered per scrape in a registry of its own (riskops/monitoring/views.py), never in the
    process-wide one: a Celery worker's metrics server must not read the database."""

    def __init__(self, *, now: datetime | None = None):
        self.now = now

    def collect(self) -> list[GaugeMetricFamily]:
        # A list, not a generator: the transaction below closes before anything is written out.
        now = self.now or timezone.now()
        found: list[GaugeMetricFamily] = []
        errors = GaugeMetricFamily("riskops_metrics_collector_errors", "1 when this scrape could not read a group of gauges from the database.", labels=["read"])
        connection = connections[DEFAULT_DB_ALIAS]
        # One read-only transaction for the scrape, its statements cut off after a timeout (one
        # more statement on PostgreSQL). No savepoint per read: on PostgreSQL a failed read
        # leaves the rest of the transaction failing too, and each of them then says so.
        done: set[str] = set()
        try:
            with transaction.atomic():
                if connection.vendor == "postgresql":
                    with connection.cursor() as cursor:
                        cursor.execute(f"SET LOCAL statement_timeout = {STATEMENT_TIMEOUT_MS}")
                for name, read in READS.items():
                    try:
                        families = list(read(now))
                    except Exception:  # noqa: BLE001 - a failed read leaves its gauges out, never a 500
                        logger.warning("metrics read %s failed", name, exc_info=True)
                        continue
                    done.add(name)
                    found += families
        except Exception:  # noqa: BLE001 - the database unreachable: every read failed
            logger.warning("metrics reads failed: no database", exc_info=True)
            found, done = [], set()
        for name in READS:
            errors.add_metric([name], 0.0 if name in done else 1.0)
        return [*found, errors]
