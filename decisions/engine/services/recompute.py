"""Recompute: read (services.inputs) → plan (planning, pure) → write (services.writing).

Two paths share every step but the reading and the auditing: `decision_recompute` (one customer,
one audit event) and `chunk_plans_write` (a chunk of a run, set-based reads, one audit event per
chunk with a digest over the decision rows it wrote, appended by `runs.chunk_recompute`). A
nightly run's chunk also scores the attached challenger in shadow (services/shadow.py).
"""

from __future__ import annotations

from datetime import datetime
from typing import Callable

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from accounts.models import Customer
from riskops.core.audit import audit_record, normalise

from decisions.models import CreditDecision, CreditLine, PolicyVersion, RecomputeRun, ScoreSnapshot
from decisions.engine.planning import CustomerPlan, line_state, plan_customer
from decisions.engine.types import CustomerContext
from .inputs import load_chunk, load_customer
from .shadow import shadow_scores_write, shadow_views
from decisions.engine.policy_reads import active_policy, parsed_policy
from .writing import decisions_digest, digest_rows, stored_decisions_digest, write_plans

__all__ = [
    "CustomerContext", "CustomerPlan", "chunk_plans_write", "decision_recompute", "decisions_digest", "digest_rows",
    "line_state", "load_chunk", "load_customer", "plan_customer", "stored_decisions_digest", "write_plans",
]
# Event triggers bring new data themselves; on the others a changed decision must say what moved.
EVENT_TRIGGERS = {"transaction", "repayment", "application", "bureau", "consent", "override"}


# The stored English sentence per cause; the pages translate by `cause` (presentation/texts.py).
WHAT_CHANGED_TEXTS = {
    "new_data": "New data arrived.",
    "time_passed": "Time passed: inputs moved without a new event.",
    "same_inputs": "Recomputed with the same inputs; the policy or a person's action changed the outcome.",
    "override_in_force": "A manual override approved by a second person now decides access and limit.",
    "override_ended": "The manual override ended: the model decides access and limit again.",
}


def _what_changed_cause(p: CustomerPlan, *, new_data: bool, inputs: dict, time_driven: list, arrived: list) -> str:
    """Why the decision moved, in one word. An override's approval, revocation or expiry is named
    as such: it is a person's decision, not "new data" (its recompute carries trigger `override`
    or `expiry`, or a run finds its `override` change mark)."""
    trigger = p.snapshot.trigger
    override_changed = (trigger == "override" and set(arrived) <= {"override"}) or (
        trigger not in EVENT_TRIGGERS and set(arrived) == {"override"}
    )
    if trigger == "expiry" and "suspension_ended" not in time_driven:
        override_changed = True  # the hourly sweep's other reason: an override reached its end
    if override_changed:
        return "override_in_force" if p.context.override is not None else "override_ended"
    if new_data:
        return "new_data"
    if not inputs and not time_driven:
        return "same_inputs"
    return "time_passed"


def explain_changes(plans: list[CustomerPlan], *, now: datetime) -> None:
    """End each planned decision's reasons with what changed since the last computation (one query).

    With no new event a decision can only move because time passed: a window slid, an installment
    crossed a days-past-due mark, a suspension ended, a new statement period re-measured utilisation.
    The reason names which, by comparing the inputs with those of the line's last snapshot.
    """
    changing = [p for p in plans if p.decision is not None and p.context.line.last_snapshot_id is not None]
    if not changing:
        return
    previous = dict(
        ScoreSnapshot.objects.filter(pk__in=[p.context.line.last_snapshot_id for p in changing]).values_list("pk", "features")
    )
    for p in changing:
        old, new = previous.get(p.context.line.last_snapshot_id) or {}, p.snapshot.features
        inputs = {k: [old.get(k), new.get(k)] for k in sorted(set(old) | set(new)) if old.get(k) != new.get(k)}
        line = p.context.line
        time_driven = []
        if line.exposure_period_start is not None and line.exposure_period_start != p.context.exposure[0]:
            time_driven.append("statement_period")
        if line.access == "suspended" and line.suspended_until is not None and line.suspended_until <= now:
            time_driven.append("suspension_ended")
        # A run's chunk knows from the change marks it cleared whether events arrived since the
        # last computation (a replayed night, or an event whose own recompute was lost).
        arrived = [t for t in p.context.changed_data if t in EVENT_TRIGGERS]
        new_data = p.snapshot.trigger in EVENT_TRIGGERS or bool(arrived)
        cause = _what_changed_cause(p, new_data=new_data, inputs=inputs, time_driven=time_driven, arrived=arrived)
        reason = {
            "code": "WHAT_CHANGED", "cause": cause, "text": WHAT_CHANGED_TEXTS[cause], "trigger": p.snapshot.trigger,
            "inputs": inputs, "time": time_driven,
        }
        if arrived:
            reason["events"] = arrived
        p.decision.reasons = [*p.decision.reasons, normalise(reason)]


def decision_recompute(*, customer: Customer, trigger: str, actor=None, now: datetime | None = None) -> CreditLine:
    """Recompute one customer now and return the updated credit line.

    A fixed point: recomputing with nothing new and the same clock writes a snapshot (the record
    of the computation) but no decision, alert or line change. The customer's credit-line row is
    locked for the whole recompute, so events for one customer serialise; the customer's change
    marks (the outbox) are cleared under that lock, before anything is read.
    """
    now = now or timezone.now()
    with transaction.atomic():
        version, policy = active_policy()
        context = load_customer(customer=customer, now=now)
        before = line_state(context.line)
        plan = plan_customer(context=context, policy=policy, version=version, trigger=trigger, now=now, run=None)
        explain_changes([plan], now=now)
        decisions = write_plans([plan])
        audit_record(
            actor=actor,
            action="decision.recompute",
            target=customer,
            before={"access": before.access, "limit": before.limit},
            after={
                "access": plan.outcome.access,
                "limit": plan.outcome.limit,
                "score": plan.snapshot.score,
                "band": plan.snapshot.band,
                "snapshot_id": plan.snapshot.pk,
                "alerts": sorted(h.rule for h in plan.hits),
                "trigger": trigger,
                "decision_ids": [d.pk for d in decisions],
                "digest": decisions_digest(decisions),
            },
        )
        return context.line


def chunk_plans_write(
    *, first_id: int, last_id: int, run: RecomputeRun, now: datetime, before_write: Callable[[], bool] | None = None
) -> tuple[int, list[CreditDecision]] | None:
    """Plan and write one chunk of customers for a run; returns (customers, decisions written).
    Call inside the chunk's transaction (see `runs.chunk_recompute`). `before_write` is asked once
    the customers' lines are locked and read: False writes nothing and returns None (the chunk's
    claim is no longer the caller's; the caller rolls back)."""
    version: PolicyVersion = run.policy_version
    policy = parsed_policy(version)
    contexts = load_chunk(first_id=first_id, last_id=last_id, now=now)
    if before_write is not None and not before_write():
        return None
    # A nightly run's challenger, if one is attached (services/shadow.py): planned first, on the
    # contexts as read (the champion's planning updates their open alerts in place), and written
    # after the champion, to its own table only.
    shadow = shadow_views(run=run, contexts=contexts, now=now)
    plans = [plan_customer(context=c, policy=policy, version=version, trigger=run.trigger, now=now, run=run) for c in contexts]
    explain_changes(plans, now=now)
    decisions = write_plans(plans)
    shadow_scores_write(run=run, shadow=shadow, plans=plans)
    RecomputeRun.objects.filter(pk=run.pk).update(done_customers=F("done_customers") + len(plans))
    return len(plans), decisions
