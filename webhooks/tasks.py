"""Celery tasks for webhooks: thin adapters over webhooks/services/delivery.py."""

from celery import shared_task
from django.db import OperationalError

from riskops.ticks import once_per_tick

from .services.delivery import deliveries_send, webhook_sweep as sweep

RETRY = dict(acks_late=True, autoretry_for=(OperationalError,), retry_backoff=2, retry_backoff_max=120, retry_jitter=True, max_retries=5)


@shared_task(bind=True, **RETRY)
def webhook_deliver(self, *, delivery_ids: list[int]) -> dict:
    # Safe to run twice: the claim is a compare-and-set, a delivery in flight or done is skipped.
    return deliveries_send(delivery_ids=delivery_ids)


@shared_task(acks_late=True)
@once_per_tick(60)  # beat "webhook-sweep": one sweep per minute however many beats
def webhook_sweep() -> int:
    return sweep()
