"""What `decisions` does when `accounts` announces that a customer's data changed."""

import logging
from functools import partial

from django.db import transaction

from .dispatch import task

logger = logging.getLogger(__name__)


def recompute_when_data_changes(*, customer_id: int, trigger: str) -> None:
    transaction.on_commit(partial(_enqueue_recompute, customer_id, trigger))


def _enqueue_recompute(customer_id: int, trigger: str) -> None:
    """After the event's commit: the event and its change mark are stored whatever happens here.

    Anything that goes wrong now — the broker unreachable, or in eager mode the recompute itself
    failing — must not reach the caller as if the event had not been recorded: it was. The
    customer's change mark is still there (a failed recompute rolls its clearing back), and the
    recovery sweep re-enqueues it within minutes. So the failure is logged, not raised; this is
    the one place where catching everything is the point (the broker is never the only record).
    """
    recompute_customer = task("recompute_customer")  # by name: tasks import services

    try:
        recompute_customer.delay(customer_id=customer_id, trigger=trigger)
    except Exception:
        logger.exception("recompute of customer %s (%s) not done now; its change mark stays for the recovery sweep", customer_id, trigger)
