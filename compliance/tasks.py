"""Celery tasks: thin adapters over compliance.services."""

from celery import shared_task

from .models import VerificationTrigger


@shared_task(acks_late=True)
def run_audit_verification(*, verification_id: int) -> None:
    from .services.verification import verification_run

    # Idempotent: a redelivered message finds the row no longer pending and does nothing.
    verification_run(verification_id=verification_id)


@shared_task(acks_late=True)
def nightly_audit_verification() -> None:
    """Beat (CELERY_BEAT_SCHEDULE "nightly-audit-verification"): queue a walk of the chain."""
    from .services.verification import verification_request

    verification_request(actor=None, trigger=VerificationTrigger.BEAT)
