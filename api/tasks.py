"""Celery tasks of the API: thin adapters that pass ids, re-fetch and call one service."""

import logging
from functools import partial

from celery import shared_task
from django.db import OperationalError, transaction

from .idempotency import idempotency_purge as _purge

logger = logging.getLogger(__name__)

# Customers per recompute message from a batch: a batch of 1,000 distinct customers is 4
# messages (a few ms to send) instead of 1,000 (about 2 s on this machine, most of a batch's
# time), and a run of batches still spreads its messages over every worker process.
RECOMPUTE_CHUNK = 250


@shared_task(acks_late=True)  # idempotent: a delete of expired rows
def idempotency_purge() -> int:
    return _purge()


@shared_task(acks_late=True, autoretry_for=(OperationalError,), retry_backoff=2, retry_backoff_max=120, retry_jitter=True, max_retries=5)
def recompute_customers(*, customer_ids: list[int], trigger: str) -> int:
    """Recompute those of these customers that still have a change mark (the outbox) as one set,
    through the chunk path (decisions/engine/services/batches.py): set-based reads and bulk writes,
    not one recompute each, so a worker keeps up with the batches the API accepts.

    A customer without a mark was recomputed after the event committed (the recompute clears the
    marks under the customer's lock, then reads): skipping it loses nothing, and saves the repeat
    when one customer is in many batches a second apart. A batch that fails is done again one
    customer at a time; a customer whose recompute fails keeps its mark, which the recovery sweep
    re-enqueues, so one bad customer does not stop the others. A transient database error retries
    the message (the customers done by then have no mark)."""
    from decisions.engine.services.batches import marked_customers_recompute  # decisions imports accounts: not at load

    return marked_customers_recompute(customer_ids=customer_ids, trigger=trigger).customers


def recompute_customers_on_commit(customer_ids: list[int], trigger: str) -> None:
    """After the batch's commit, ask for one recompute of each customer, RECOMPUTE_CHUNK per message."""
    ids = sorted(set(customer_ids))
    for start in range(0, len(ids), RECOMPUTE_CHUNK):
        transaction.on_commit(partial(_send, ids[start:start + RECOMPUTE_CHUNK], trigger))


def _send(customer_ids: list[int], trigger: str) -> None:
    # After commit: the events and their change marks are stored whatever happens here; a lost
    # message (broker down) or a failed eager run leaves the marks for the recovery sweep.
    try:
        # kwargsrepr: Celery would otherwise render the 100 ids into the message header for logs.
        recompute_customers.apply_async(
            kwargs={"customer_ids": customer_ids, "trigger": trigger}, kwargsrepr=f"{{{len(customer_ids)} customers, {trigger}}}"
        )
    except Exception:
        logger.exception("recompute of %s customers (%s) not enqueued; their change marks stay for the recovery sweep", len(customer_ids), trigger)
