"""Events recomputed in batches per customer set, not one task each.

An event's transaction writes a change mark (the outbox, `accounts/changes.py`); a batch of events
(the API's batch endpoints: up to 250 customers per message) or the recovery sweep's re-enqueued
marks reach a worker as one message naming a set of customers. `marked_customers_recompute` runs
that set through the chunk path: set-based reads (`inputs.load_marked`, a fixed number of queries
for the whole batch), the same planning and bulk writes as a run's chunk, and one audit event for
the batch vouching for every decision row it wrote (count and digest, as a chunk's does). A
customer whose mark is gone was recomputed by someone else since its event and is skipped.

Batches hold at most BATCH_SIZE customers per transaction: the lines it locks stay locked for a
fraction of a second, so a single event for one of them does not wait long behind it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime

from django.db import OperationalError, transaction
from django.utils import timezone

from accounts.changes import marked_customers
from accounts.models import Customer
from riskops.core.audit import audit_record
from riskops.core.exceptions import ValidationFailed

from decisions.models import Trigger
from decisions.engine.planning import plan_customer
from decisions.engine.policy_reads import active_policy
from .inputs import load_marked
from .recompute import decision_recompute, explain_changes
from .writing import decisions_digest, write_plans

logger = logging.getLogger(__name__)

BATCH_SIZE = 500  # customers per transaction


@dataclass(frozen=True)
class BatchResult:
    customers: int = 0  # recomputed
    skipped: int = 0  # no mark left: recomputed by someone else since their event
    failed: list[int] = field(default_factory=list)  # kept their mark for the recovery sweep


def marked_customers_recompute(*, customer_ids: list[int], trigger: str, now: datetime | None = None) -> BatchResult:
    """Recompute those of `customer_ids` that still have a change mark, BATCH_SIZE per transaction.

    A batch that fails on anything but a transient database error (an OperationalError, raised for
    the task to retry) is done again one customer at a time, so one customer the policy cannot
    decide does not hold back the others: that customer keeps its mark (the recovery sweep takes
    it up again) and is reported in `failed`."""
    if trigger not in Trigger.values:
        raise ValidationFailed(f"unknown trigger {trigger!r}", field="trigger")
    ids = sorted(set(customer_ids))
    done = skipped = 0
    failed: list[int] = []
    for start in range(0, len(ids), BATCH_SIZE):
        part = ids[start : start + BATCH_SIZE]
        try:
            written = _batch_write(customer_ids=part, trigger=trigger, now=now or timezone.now())
        except OperationalError:
            raise
        except Exception:
            logger.exception("batch recompute of %d customers failed; recomputing them one at a time", len(part))
            written, bad = _one_at_a_time(customer_ids=part, trigger=trigger)
            failed += bad
        done += written
        skipped += len(part) - written - len([c for c in failed if c in part])
    return BatchResult(customers=done, skipped=skipped, failed=failed)


def _batch_write(*, customer_ids: list[int], trigger: str, now: datetime) -> int:
    with transaction.atomic():
        pending = marked_customers(customer_ids=customer_ids)  # before any lock: most batches skip nobody
        if not pending:
            return 0
        version, policy = active_policy()
        contexts = load_marked(customer_ids=pending, now=now)
        if not contexts:
            return 0
        plans = [plan_customer(context=c, policy=policy, version=version, trigger=trigger, now=now, run=None) for c in contexts]
        explain_changes(plans, now=now)
        decisions = write_plans(plans)
        recomputed = [c.customer_id for c in contexts]
        # Audited as a chunk of recomputes (the batch is one: set-based, one event vouching for its
        # decision rows), its target the batch's customers by id range, its customers listed.
        audit_record(
            actor=None, action="recompute.chunk", target=("decisions.eventbatch", f"{recomputed[0]}-{recomputed[-1]}"),
            after={
                "trigger": trigger, "customers": len(recomputed), "customer_ids": recomputed,
                "decision_ids": sorted(d.pk for d in decisions), "digest": decisions_digest(decisions),
            },
        )
        return len(recomputed)


def _one_at_a_time(*, customer_ids: list[int], trigger: str) -> tuple[int, list[int]]:
    done, failed = 0, []
    for customer in Customer.objects.filter(pk__in=marked_customers(customer_ids=customer_ids)).order_by("pk"):
        try:
            decision_recompute(customer=customer, trigger=trigger)
        except OperationalError:
            raise
        except Exception:
            logger.exception("recompute of customer %s (%s) failed; its change mark stays for the recovery sweep", customer.pk, trigger)
            failed.append(customer.pk)
            continue
        done += 1
    return done, failed
