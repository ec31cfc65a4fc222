"""The decisions app's on-call conditions (riskops/core/oncall.py), registered in DecisionsConfig.ready:

- `nightly_run_failed`: the last nightly run that finished failed (or finished with failed
  chunks). Keyed by the run; resolved when a later nightly run succeeds, or when this one is
  resumed (`manage.py recompute --resume`) and then finishes.
- `nightly_run_stalled`: a nightly run still pending or running with no sign of life (started,
  a chunk claimed or finished) for RISKOPS_ONCALL_RUN_STALL_MINUTES. Keyed by the run; resolved
  when it moves again or finishes.
- `alerts_past_sla`: more open alerts past their SLA than RISKOPS_ONCALL_SLA_BREACH_THRESHOLD
  (the overview's count). One book-wide incident, resolved when the count is back at or under it.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Max
from django.utils.translation import gettext as _, ngettext

from riskops.core.oncall import Finding

from .casework.overview_selectors import open_alert_counts
from .engine.selectors import run_last_progress_at
from .models import RecomputeRun, Trigger

FAILED_STATUSES = (RecomputeRun.Status.FAILED, RecomputeRun.Status.PARTIAL)
OPEN_STATUSES = (RecomputeRun.Status.PENDING, RecomputeRun.Status.RUNNING)


def nightly_run_failed(now: datetime) -> list[Finding]:
    last = RecomputeRun.objects.filter(trigger=Trigger.NIGHTLY, finished_at__isnull=False).order_by("-finished_at", "-id").first()
    if last is None or last.status not in FAILED_STATUSES:
        return []
    summary = _("The nightly run %(run)s (night of %(night)s) finished with status %(status)s: %(failed)s of %(total)s customers failed.") % {
        "run": last.pk, "night": last.night or "-", "status": last.get_status_display(),
        "failed": last.failed_customers, "total": last.total_customers,
    }
    return [Finding(key=str(last.pk), summary=summary)]


def nightly_run_stalled(now: datetime) -> list[Finding]:
    limit = timedelta(minutes=settings.RISKOPS_ONCALL_RUN_STALL_MINUTES)
    runs = RecomputeRun.objects.filter(trigger=Trigger.NIGHTLY, status__in=OPEN_STATUSES).annotate(
        last_claimed_at=Max("chunks__claimed_at"), last_finished_at=Max("chunks__finished_at")
    )
    findings = []
    for run in runs:
        last = run_last_progress_at(run=run) or run.created_at
        if now - last <= limit:
            continue
        minutes = int((now - last).total_seconds() // 60)
        summary = ngettext(
            "The nightly run %(run)s has made no progress for %(minutes)d minute (%(done)s of %(total)s customers done).",
            "The nightly run %(run)s has made no progress for %(minutes)d minutes (%(done)s of %(total)s customers done).",
            minutes,
        ) % {"run": run.pk, "minutes": minutes, "done": run.done_customers, "total": run.total_customers}
        findings.append(Finding(key=str(run.pk), summary=summary))
    return findings


def alerts_past_sla(now: datetime) -> list[Finding]:
    threshold = settings.RISKOPS_ONCALL_SLA_BREACH_THRESHOLD
    late = open_alert_counts(now=now).past_sla
    if late <= threshold:
        return []
    summary = ngettext(
        "%(late)d open alert is past its SLA (the threshold is %(threshold)d).",
        "%(late)d open alerts are past their SLA (the threshold is %(threshold)d).",
        late,
    ) % {"late": late, "threshold": threshold}
    return [Finding(key="book", summary=summary)]
