"""The in-process Prometheus instruments: latencies and counts the code measures as it works.

Only what happens inside a process lives here (a draw check's latency, an event's wait for its
decision, a Celery task's duration): histograms and counters, cheap to update on the hot path.
What the database already knows (the outbox, the webhook backlog, open alerts, the last nightly
run, the audit chain, model PSI) is never kept in memory: `riskops/monitoring/collector.py` reads
it at scrape time, so every process answers the same figures and a restart loses nothing.

The lowest layer, so every app can record into it without importing a higher one. With
`PROMETHEUS_MULTIPROC_DIR` set (gunicorn's workers, a prefork Celery worker), prometheus_client
writes these values to files in that directory and `/metrics` sums them over the processes
(docs/operations.md, "Metrics").
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from prometheus_client import Counter, Histogram

# Draw checks answer in a few milliseconds (README, Benchmarks: p99 under 25 ms at 200/s): fine
# buckets there, a few coarse ones for the tail an alert looks for.
DRAW_CHECK_BUCKETS = (0.001, 0.0025, 0.005, 0.0075, 0.01, 0.015, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
# An event waits for its recompute from milliseconds (a free worker) to minutes (behind a queue,
# or swept after a lost message: RISKOPS_MARK_GRACE_SECONDS).
EVENT_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 900.0)
# Celery tasks: a single recompute takes milliseconds, a chunk seconds, a nightly job minutes.
TASK_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 900.0, 3600.0)

DRAW_CHECK_SECONDS = Histogram(
    "riskops_draw_check_duration_seconds",
    "Service time of an answered draw check, from its arrival in the service to its decision.",
    buckets=DRAW_CHECK_BUCKETS,
)
DRAW_CHECKS = Counter("riskops_draw_checks", "Draw checks answered, by decision.", ["decision"])
EVENT_TO_DECISION_SECONDS = Histogram(
    "riskops_event_to_decision_seconds",
    "From an event's change mark (stored with the event) to the recompute that takes it, just before its decision commits.",
    ["path"],
    buckets=EVENT_BUCKETS,
)
TASK_SECONDS = Histogram("riskops_celery_task_duration_seconds", "Celery task run time, by task and final state.", ["task", "state"], buckets=TASK_BUCKETS)
TASK_FAILURES = Counter("riskops_celery_task_failures", "Celery tasks that raised (a retry counts once per attempt).", ["task"])
TASK_RETRIES = Counter("riskops_celery_task_retries", "Celery task retries asked for.", ["task"])


def draw_check_observe(*, decision: str, seconds: float) -> None:
    DRAW_CHECK_SECONDS.observe(seconds)
    DRAW_CHECKS.labels(decision=decision).inc()


def event_to_decision_observe(*, marked_at: Iterable[datetime], taken_at: datetime, path: str) -> None:
    """One observation per change mark a recompute takes: the wait of its event for the decision
    (`taken_at`: the take, in the transaction that writes the decision). `path` is
    `single` (one customer's recompute), `batch` (a batch of events' customers) or `chunk` (a
    run's chunk took the mark)."""
    histogram = EVENT_TO_DECISION_SECONDS.labels(path=path)
    for when in marked_at:
        histogram.observe(max((taken_at - when).total_seconds(), 0.0))
