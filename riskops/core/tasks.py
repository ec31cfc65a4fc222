"""Celery tasks of the core: thin adapters over its services."""

from celery import shared_task
from django.utils import timezone


@shared_task
def oncall_check() -> dict:
    """Beat (CELERY_BEAT_SCHEDULE "oncall-check"): open, resolve and notify on-call incidents.
    Safe twice (two beats): see riskops/core/oncall.py."""
    from .oncall import oncall_check as check

    return check(now=timezone.now()).as_dict()
