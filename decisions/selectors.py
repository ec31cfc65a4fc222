"""Reads for the staff pages and the API in `decisions`."""

from django.db.models import QuerySet
from django.utils import timezone

from .models import RecomputeRun


def recompute_runs(*, limit: int = 50) -> QuerySet[RecomputeRun]:
    # One query: the run row carries its own progress counters, and the requester is joined.
    return RecomputeRun.objects.select_related("requested_by", "policy_version").order_by("-created_at", "-id")[:limit]


def run_progress(*, run: RecomputeRun) -> dict:
    total = run.total_customers or 0
    done = run.done_customers + run.failed_customers
    return {
        "id": run.pk,
        "status": run.status,
        "total": total,
        "done": run.done_customers,
        "failed": run.failed_customers,
        "percent": round(100 * done / total, 1) if total else 100.0,
        "finished": run.finished_at is not None,
        "seconds": round(((run.finished_at or timezone.now()) - run.started_at).total_seconds(), 1) if run.started_at else None,
    }
