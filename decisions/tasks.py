"""Celery tasks: thin adapters that pass ids, re-fetch and call one service.

Retries cover only errors known to be transient (a dropped connection, a deadlock or lock
timeout surface as OperationalError); anything else is a bug, recorded and not retried.
"""

from celery import shared_task
from django.conf import settings
from django.db import OperationalError

from accounts.events import consents_expire_lapsed
from accounts.models import Customer
from riskops.ticks import once_per_tick

from .models import Trigger
from .engine.services.batches import marked_customers_recompute
from .engine.services.recompute import decision_recompute
from .engine.services.recovery import lost_work_sweep
from .engine.services.runs import chunk_record_failure, chunk_recompute, recompute_run_start
from .governance.services.overrides import expiry_sweep

RETRY = dict(acks_late=True, autoretry_for=(OperationalError,), retry_backoff=2, retry_backoff_max=120, retry_jitter=True, max_retries=5)


@shared_task(bind=True, **RETRY)
def recompute_customer(self, *, customer_id: int, trigger: str) -> None:
    customer = Customer.objects.filter(pk=customer_id).first()
    if customer is not None:
        decision_recompute(customer=customer, trigger=trigger)


@shared_task(bind=True, **RETRY)
def recompute_marked(self, *, customer_ids: list[int], trigger: str) -> int:
    """A set of customers whose data changed (a batch of events, the sweep's lost marks), through
    the chunk path (services/batches.py); a customer recomputed since is skipped."""
    return marked_customers_recompute(customer_ids=customer_ids, trigger=trigger).customers


@shared_task(bind=True, **RETRY)
def recompute_chunk(self, *, chunk_id: int) -> None:
    # The task id is the claim's token: the same across this task's retries, so a retry after the
    # database came back takes back the claim it could not release (runs.chunk_claim).
    token = self.request.id or None
    try:
        chunk_recompute(chunk_id=chunk_id, token=token)
    except OperationalError as exc:
        chunk_record_failure(chunk_id=chunk_id, error=repr(exc), final=self.request.retries >= self.max_retries, token=token)
        raise
    except Exception as exc:
        chunk_record_failure(chunk_id=chunk_id, error=repr(exc), final=True, token=token)
        raise


@shared_task(acks_late=True)
def recompute_all(*, trigger: str = Trigger.NIGHTLY) -> int:
    # A redelivered nightly message finds tonight's run (unique night) and starts nothing.
    return recompute_run_start(trigger=trigger).pk


@shared_task(acks_late=True)
@once_per_tick(lambda: settings.RISKOPS_SWEEP_SECONDS)
def recovery_sweep() -> dict:
    result = lost_work_sweep()
    return {"customers": len(result.customers), "chunks": len(result.chunks), "skipped": result.skipped}


@shared_task(acks_late=True)
@once_per_tick(3600)  # hourly (beat "hourly-expiry"): two beats would recompute the same customers twice
def expire_overrides_and_suspensions() -> int:
    # Lapsed consents first: their customers are marked and recomputed on commit (subscribers).
    consents_expire_lapsed()
    # Sent after the sweep's commit; the customers whose override expired also have an outbox mark.
    customer_ids = expiry_sweep()
    for customer_id in customer_ids:
        recompute_customer.delay(customer_id=customer_id, trigger=Trigger.EXPIRY)
    return len(customer_ids)


@shared_task(acks_late=True)  # idempotent: an upsert per (day, metric, key)
def refresh_book_stats() -> int:
    """Hourly, and at the end of every recompute run: today's overview aggregates, and
    yesterday's flow counts again so what happened after its last refresh is not lost."""
    from datetime import timedelta

    from .casework.services.book_stats import book_stats_refresh, utc_today

    today = utc_today()
    return book_stats_refresh(day=today - timedelta(days=1)) + book_stats_refresh(day=today)


# --- policy simulation (decisions/governance/services/simulation.py) ----------------------------------------


@shared_task(bind=True, **RETRY)  # idempotent: a chunk done is never scored or counted twice
def simulate_chunk(self, *, chunk_id: int) -> None:
    from .governance.services.simulation import simulation_chunk_record_failure, simulation_chunk_run

    try:
        simulation_chunk_run(chunk_id=chunk_id)
    except OperationalError as exc:
        simulation_chunk_record_failure(chunk_id=chunk_id, error=repr(exc), final=self.request.retries >= self.max_retries)
        raise
    except Exception as exc:
        simulation_chunk_record_failure(chunk_id=chunk_id, error=repr(exc), final=True)
        raise
