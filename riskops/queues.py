"""Which Celery queue each task goes to: three lanes by priority.

- `high`: work someone is waiting for now — an event's recompute (one customer, or a batch of
  marked customers), a webhook delivery.
- `bulk`: long work nobody waits on by the second — a run's chunks and its start, a simulation's
  chunks, the nightly jobs (outcomes, model monitoring, the audit walk), the overview's figures.
- `sweeps`: beat's periodic sweeps (lost work, webhook retries, expiries, purges): short, and
  never behind a night's chunks.

A worker given `-Q high,sweeps,bulk` (`make worker`) takes from the first non-empty queue in that order (the
broker's `queue_order_strategy` is `priority`, riskops/settings.py), and `prefetch_multiplier=1`
with `acks_late` keeps it from holding chunks it has not started; a dedicated `-Q high` worker
keeps events moving even while every bulk process is in a chunk (docs/operations.md).

A lane's queue is named after the namespace (`CELERY_QUEUE`, `app.conf.queue_namespace`): none in
production (`high`), `q-1234.high` for a test's or benchmark's private worker.
"""

from __future__ import annotations

from celery import current_app

HIGH, BULK, SWEEPS = "high", "bulk", "sweeps"
# The order a worker taking every lane polls them: sweeps are short and time-sensitive (a dead
# worker's chunk is sent again by one), so they go before the night's chunks, not after.
LANES_IN_ORDER = (HIGH, SWEEPS, BULK)

TASK_LANES: dict[str, str] = {
    "decisions.tasks.recompute_customer": HIGH,
    "decisions.tasks.recompute_marked": HIGH,
    "api.tasks.recompute_customers": HIGH,
    "webhooks.tasks.webhook_deliver": HIGH,
    "decisions.tasks.recompute_chunk": BULK,
    "decisions.tasks.recompute_all": BULK,
    "decisions.tasks.simulate_chunk": BULK,
    "decisions.tasks.refresh_book_stats": BULK,
    "compliance.tasks.run_audit_verification": BULK,
    "compliance.tasks.nightly_audit_verification": BULK,
    "modelling.tasks.materialise_outcomes": BULK,
    "modelling.tasks.monitor_model": BULK,
    "decisions.tasks.recovery_sweep": SWEEPS,
    "decisions.tasks.expire_overrides_and_suspensions": SWEEPS,
    "webhooks.tasks.webhook_sweep": SWEEPS,
    "api.tasks.idempotency_purge": SWEEPS,
    "riskops.core.tasks.oncall_check": SWEEPS,
}


def queue_name(lane: str, namespace: str | None = None) -> str:
    """The queue of `lane` under `namespace` (default: the app's, from CELERY_QUEUE)."""
    if namespace is None:
        namespace = current_app.conf.get("queue_namespace") or ""
    return f"{namespace}.{lane}" if namespace else lane


def worker_queues(namespace: str | None = None) -> str:
    """The `-Q` argument of a worker that takes every lane, highest first."""
    return ",".join(queue_name(lane, namespace) for lane in LANES_IN_ORDER)


def route_task(name, args, kwargs, options, task=None, **kw) -> dict:
    """Celery's router (CELERY_TASK_ROUTES): a task no lane names goes to `bulk`."""
    return {"queue": queue_name(TASK_LANES.get(name, BULK))}
