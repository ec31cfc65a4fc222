"""Celery task durations, failures and retries for Prometheus, measured in the workers.

Celery's signals time each task (`task_prerun` → `task_postrun`) and count its failures and
retries into riskops/core/metrics.py. A worker serves them over HTTP when
`RISKOPS_WORKER_METRICS_PORT` is set: its main process starts prometheus_client's
`start_http_server` on that port (`worker_init`). Tasks run in the pool's child processes, so with
the default prefork pool the children write their values to files in `PROMETHEUS_MULTIPROC_DIR`
and the main process sums them (`MultiProcessCollector`); with `--pool solo` or `threads` the
directory is not needed. Every worker on a machine needs a port of its own (docs/operations.md,
"Metrics"). In the web process nothing here runs: tasks run eagerly there only in the demo.
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path

from django.conf import settings

from .metrics import TASK_FAILURES, TASK_RETRIES, TASK_SECONDS

logger = logging.getLogger(__name__)

_started: dict[str, float] = {}  # task id -> perf_counter at prerun (one process, its own tasks)


def _name(task) -> str:
    return getattr(task, "name", None) or "unknown"


def task_started(task_id=None, task=None, **kwargs) -> None:
    if task_id:
        _started[task_id] = time.perf_counter()


def task_finished(task_id=None, task=None, state=None, **kwargs) -> None:
    started = _started.pop(task_id, None) if task_id else None
    if started is not None:
        TASK_SECONDS.labels(task=_name(task), state=state or "unknown").observe(time.perf_counter() - started)


def task_failed(sender=None, **kwargs) -> None:
    TASK_FAILURES.labels(task=_name(sender)).inc()


def task_retried(sender=None, **kwargs) -> None:
    TASK_RETRIES.labels(task=_name(sender)).inc()


def serve_worker_metrics(**kwargs) -> None:
    """`worker_init`, in the worker's main process before the pool forks: serve /metrics on
    RISKOPS_WORKER_METRICS_PORT (unset: nothing is served)."""
    port = settings.RISKOPS_WORKER_METRICS_PORT
    if not port:
        return
    from prometheus_client import REGISTRY, CollectorRegistry, start_http_server

    registry = REGISTRY
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if directory:
        from prometheus_client import multiprocess

        # The files of a previous run would be summed in as if their processes were alive.
        for stale in Path(directory).glob("*.db"):
            stale.unlink(missing_ok=True)
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    start_http_server(port, addr=settings.RISKOPS_WORKER_METRICS_ADDR, registry=registry)
    logger.info("worker metrics served on %s:%s", settings.RISKOPS_WORKER_METRICS_ADDR, port)


def child_exited(pid=None, **kwargs) -> None:
    """`worker_process_shutdown`: a pool child's live gauges leave the sum (multiprocess mode)."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(pid or os.getpid())


def connect_task_metrics() -> None:
    """Called from AppConfig.ready (the worker runs it before it starts); dispatch uids keep a
    second call from connecting twice."""
    from celery import signals

    signals.task_prerun.connect(task_started, weak=False, dispatch_uid="riskops.metrics.prerun")
    signals.task_postrun.connect(task_finished, weak=False, dispatch_uid="riskops.metrics.postrun")
    signals.task_failure.connect(task_failed, weak=False, dispatch_uid="riskops.metrics.failure")
    signals.task_retry.connect(task_retried, weak=False, dispatch_uid="riskops.metrics.retry")
    signals.worker_init.connect(serve_worker_metrics, weak=False, dispatch_uid="riskops.metrics.serve")
    signals.worker_process_shutdown.connect(child_exited, weak=False, dispatch_uid="riskops.metrics.child_exit")
