"""Celery tasks: thin adapters that call one service."""

from celery import shared_task
from django.utils import timezone

from .performance import utc_date
from .services.monitoring import model_monitor
from .services.outcomes import outcomes_materialise


@shared_task(acks_late=True)  # idempotent: a redelivered message rewrites nothing that did not change
def materialise_outcomes() -> dict:
    """Nightly (beat "nightly-outcomes", 04:15 UTC): outcomes as of today, UTC."""
    now = timezone.now()
    return outcomes_materialise(as_of=utc_date(now), now=now).audit_payload()


@shared_task(acks_late=True)  # idempotent: a night measured again writes nothing when the book has not changed
def monitor_model() -> dict:
    """Nightly (beat "nightly-model-monitor", 04:30 UTC, after the recompute and the outcomes): the
    active policy version's stability as of today, UTC (modelling/services/monitoring.py)."""
    now = timezone.now()
    return model_monitor(as_of=utc_date(now), now=now).audit_payload()
