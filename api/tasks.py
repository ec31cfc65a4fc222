from celery import shared_task

from .idempotency import idempotency_purge as _purge


@shared_task(acks_late=True)  # idempotent: a delete of expired rows
def idempotency_purge() -> int:
    return _purge()
