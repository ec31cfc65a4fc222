"""Reads for the staff pages and the API in `decisions`."""

from datetime import datetime

from django.conf import settings
from django.db.models import Max, QuerySet
from django.utils import timezone
from django.utils.translation import gettext, ngettext

from accounts.models import Customer

from decisions.engine.policy_reads import active_policy
from decisions.models import RecomputeChunk, RecomputeRun


def recompute_runs(*, limit: int = 50) -> QuerySet[RecomputeRun]:
    # One query: the run row carries its own progress counters, the requester is joined, and the
    # latest chunk claim and finish (is the run still moving?) are aggregated in the same query.
    return (
        RecomputeRun.objects.select_related("requested_by", "policy_version")
        .annotate(last_claimed_at=Max("chunks__claimed_at"), last_finished_at=Max("chunks__finished_at"))
        .order_by("-created_at", "-id")[:limit]
    )


def run_last_progress_at(*, run: RecomputeRun) -> datetime | None:
    """The last sign of life of a run: its start, or a chunk claimed or finished since."""
    if hasattr(run, "last_claimed_at"):
        marks = [run.last_claimed_at, run.last_finished_at]
    else:
        latest = RecomputeChunk.objects.filter(run=run).aggregate(claimed=Max("claimed_at"), finished=Max("finished_at"))
        marks = [latest["claimed"], latest["finished"]]
    times = [t for t in [run.started_at, *marks] if t is not None]
    return max(times) if times else None


def run_progress(*, run: RecomputeRun, now: datetime | None = None) -> dict:
    """Progress of one run for the runs page and its JSON endpoint.

    A running run with no chunk claimed or finished for longer than RISKOPS_CHUNK_STALE_SECONDS
    is `stalled`: said in words (not only a colour), with the command that takes it up again;
    the recovery sweep re-dispatches its chunks meanwhile."""
    now = now or timezone.now()
    total = run.total_customers or 0
    done = run.done_customers + run.failed_customers
    stalled, idle_minutes = False, 0
    if run.status == RecomputeRun.Status.RUNNING:
        last = run_last_progress_at(run=run)
        idle = (now - last).total_seconds() if last else 0
        stalled = idle > settings.RISKOPS_CHUNK_STALE_SECONDS
        idle_minutes = int(idle // 60)
    if stalled:
        status_label = ngettext(
            "Stalled: no progress for %(minutes)d minute", "Stalled: no progress for %(minutes)d minutes", idle_minutes
        ) % {"minutes": idle_minutes}
        hint = gettext("Resume it with: manage.py recompute --resume %(run)s") % {"run": run.pk}
    else:
        status_label, hint = str(run.get_status_display()), ""
    return {
        "id": run.pk,
        "status": run.status,
        "status_label": status_label,
        "stalled": stalled,
        "hint": hint,
        "total": total,
        "done": run.done_customers,
        "failed": run.failed_customers,
        "percent": round(100 * done / total, 1) if total else 100.0,
        "progress_text": (
            gettext("%(done)s / %(total)s (%(failed)s failed)") if run.failed_customers else gettext("%(done)s / %(total)s")
        ) % {"done": run.done_customers, "total": total, "failed": run.failed_customers},
        "finished": run.finished_at is not None,
        "seconds": round(((run.finished_at or now) - run.started_at).total_seconds(), 1) if run.started_at else None,
    }


def run_start_preview() -> dict:
    """What a full recompute would cover, for its confirmation page: the customers and the active
    policy version (two queries)."""
    version, _policy = active_policy()
    customers = Customer.objects.count()
    return {"customers": customers, "customers_display": f"{customers:,}", "policy_version": version}
