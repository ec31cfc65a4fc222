"""The nightly run's part of `/readyz` (riskops/core/health.py): the last nightly full recompute
finished successfully within RISKOPS_READYZ_NIGHTLY_MAX_AGE_HOURS (26: a night's run plus slack).

A failed last run, or a success older than that (beat or the workers stopped), fails the check.
A database where no nightly run has finished yet (a fresh install, the demo) passes, saying so:
readiness must not hold back the first deploy until its first night."""

from datetime import datetime, timedelta

from django.conf import settings

from decisions.models import RecomputeRun, Trigger
from riskops.core.health import CheckFailed


def last_nightly_run_check(now: datetime) -> str:
    last = (
        RecomputeRun.objects.filter(trigger=Trigger.NIGHTLY, finished_at__isnull=False)
        .order_by("-finished_at")
        .values("pk", "status", "finished_at")
        .first()
    )
    if last is None:
        return "no nightly run has finished yet"
    hours = (now - last["finished_at"]) / timedelta(hours=1)
    if last["status"] != RecomputeRun.Status.SUCCEEDED:
        raise CheckFailed(f"the last nightly run, {last['pk']}, finished {hours:.1f} h ago with status {last['status']}")
    limit = settings.RISKOPS_READYZ_NIGHTLY_MAX_AGE_HOURS
    if hours > limit:
        raise CheckFailed(f"the last nightly run, {last['pk']}, succeeded {hours:.1f} h ago (more than {limit:g} h)")
    return f"run {last['pk']} succeeded {hours:.1f} h ago"
