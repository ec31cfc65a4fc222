"""Recompute: features → score → rules → alerts → decision → credit line, for one customer or a chunk.

Both paths read into the same `CustomerContext`, plan with the same pure functions and write with
the same bulk writer; they differ only in how they read (one customer's rows vs set-based
aggregates) and in how they audit (one event per customer vs one per chunk with a digest).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from accounts.models import Customer
from riskops.core.audit import audit_record, canonical_json, normalise
from riskops.core.bulk import copy_rows, insert_objects, update_objects

from ..access import ActiveOverride, DecisionOutcome, LineState, OpenAlert, decide
from ..features import ConsentState, FeatureResult, consent_states, features_for_chunk, features_for_customer
from ..models import CreditDecision, CreditLine, Override, PolicyVersion, RecomputeRun, RiskAlert, ScoreSnapshot
from ..policy import Policy
from ..rules import RuleHit, evaluate_rules
from ..scoring import score_features
from .policy import active_policy, parsed_policy

OPEN = RiskAlert.OPEN_STATUSES
LINE_FIELDS = (
    "access", "limit_amount", "model_access", "model_limit", "score", "band", "suspended_until",
    "last_decision", "last_snapshot", "cycle_started_at", "cycle_base_limit", "updated_at",
)
DECISION_DIGEST_FIELDS = ("id", "customer_id", "access", "limit_amount", "model_access", "model_limit", "snapshot_id", "override_id")


@dataclass
class CustomerContext:
    customer_id: int
    features: FeatureResult
    line: CreditLine
    open_alerts: dict[str, RiskAlert]
    override: ActiveOverride | None


@dataclass
class CustomerPlan:
    context: CustomerContext
    snapshot: ScoreSnapshot
    hits: list[RuleHit]
    new_alerts: list[RiskAlert] = field(default_factory=list)
    touched_alerts: list[RiskAlert] = field(default_factory=list)
    outcome: DecisionOutcome | None = None
    decision: CreditDecision | None = None


def line_state(line: CreditLine) -> LineState:
    return LineState(
        access=line.access, limit=line.limit_amount, model_access=line.model_access, model_limit=line.model_limit,
        suspended_until=line.suspended_until, cycle_started_at=line.cycle_started_at, cycle_base_limit=line.cycle_base_limit,
    )


# --- reading --------------------------------------------------------------------------------


def _active_overrides(customer_ids: list[int], now: datetime) -> dict[int, ActiveOverride]:
    found: dict[int, ActiveOverride] = {}
    rows = (
        Override.objects.filter(customer_id__in=customer_ids, state=Override.State.APPROVED, expires_at__gt=now)
        .order_by("customer_id", "-decided_at", "-id")
        .values_list("customer_id", "id", "access", "limit_amount", "expires_at")
    )
    for customer_id, pk, access, limit, expires_at in rows:
        found.setdefault(customer_id, ActiveOverride(pk, access, limit, expires_at))
    return found


def _open_alerts(customer_ids: list[int]) -> dict[int, dict[str, RiskAlert]]:
    alerts: dict[int, dict[str, RiskAlert]] = {cid: {} for cid in customer_ids}
    for alert in RiskAlert.objects.filter(customer_id__in=customer_ids, status__in=OPEN).order_by("pk"):
        alerts[alert.customer_id][alert.rule] = alert
    return alerts


def _locked_lines(customer_ids: list[int]) -> dict[int, CreditLine]:
    """Every customer gets a line row; all are locked in pk order, the per-customer lock."""
    def lock(ids):
        return {line.customer_id: line for line in CreditLine.objects.select_for_update().filter(customer_id__in=ids).order_by("pk")}

    lines = lock(customer_ids)
    missing = [cid for cid in customer_ids if cid not in lines]
    if missing:
        CreditLine.objects.bulk_create([CreditLine(customer_id=cid) for cid in missing], ignore_conflicts=True)
        lines.update(lock(missing))
    return lines


def load_customer(*, customer: Customer, now: datetime) -> CustomerContext:
    line = _locked_lines([customer.pk])[customer.pk]
    consents = consent_states([customer.pk], as_of=now).get(customer.pk, ConsentState())
    result = features_for_customer(customer=customer, consents=consents, limit=line.model_limit, as_of=now)
    return CustomerContext(customer.pk, result, line, _open_alerts([customer.pk])[customer.pk], _active_overrides([customer.pk], now).get(customer.pk))


def load_chunk(*, first_id: int, last_id: int, now: datetime) -> list[CustomerContext]:
    customers = dict(Customer.objects.filter(pk__gte=first_id, pk__lte=last_id).values_list("pk", "onboarded_at"))
    ids = sorted(customers)
    if not ids:
        return []
    lines = _locked_lines(ids)
    consents = consent_states(ids, as_of=now)
    results = features_for_chunk(
        customers=customers, consents=consents, limits={cid: line.model_limit for cid, line in lines.items()}, as_of=now
    )
    alerts = _open_alerts(ids)
    overrides = _active_overrides(ids, now)
    return [CustomerContext(cid, results[cid], lines[cid], alerts[cid], overrides.get(cid)) for cid in ids]


# --- planning (no queries) --------------------------------------------------------------------


def plan_customer(
    *, context: CustomerContext, policy: Policy, version: PolicyVersion, trigger: str, now: datetime, run: RecomputeRun | None
) -> CustomerPlan:
    result = context.features
    score = score_features(result.features, policy) if result.features is not None else None
    snapshot = ScoreSnapshot(
        customer_id=context.customer_id,
        policy_version=version,
        run=run,
        computed_at=now,
        trigger=trigger,
        score=score.score if score else None,
        probability_of_default=score.probability_of_default if score else None,
        band=score.band if score else "",
        features=result.features.as_json() if result.features else {},
        points=score.points if score else {},
        reason_codes=normalise(score.reason_codes) if score else [],
        data_sources=result.data_sources,
    )
    hits = evaluate_rules(features=result.features, consents=result.consents, policy=policy, now=now)
    plan = CustomerPlan(context, snapshot, hits)
    _plan_alerts(plan, now)
    open_after = [OpenAlert(a.rule, a.action, a.effective_until) for a in [*context.open_alerts.values(), *plan.new_alerts]]
    outcome = decide(
        has_scoring_consent=result.features is not None,
        score=score,
        features=result.features,
        hits=hits,
        open_alerts=open_after,
        line=line_state(context.line),
        override=context.override,
        policy=policy,
        now=now,
    )
    plan.outcome = outcome
    before = line_state(context.line)
    # The first decision is always recorded, so even a never-offered customer has its reasons on file.
    if outcome.changed_from(before) or context.line.last_decision_id is None:
        plan.decision = CreditDecision(
            customer_id=context.customer_id,
            policy_version=version,
            run=run,
            override_id=outcome.override_id,
            decided_at=now,
            trigger=trigger,
            access=outcome.access,
            limit_amount=outcome.limit,
            previous_access=before.access,
            previous_limit=before.limit,
            model_access=outcome.model_access,
            model_limit=outcome.model_limit,
            reasons=normalise(outcome.reasons),
            suspended_until=outcome.suspended_until,
        )
    return plan


def _plan_alerts(plan: CustomerPlan, now: datetime) -> None:
    """An open alert of the same rule is updated, never duplicated."""
    for hit in plan.hits:
        evidence = normalise(hit.evidence)
        alert = plan.context.open_alerts.get(hit.rule)
        if alert is None:
            plan.new_alerts.append(
                RiskAlert(
                    customer_id=plan.context.customer_id, rule=hit.rule, action=hit.action, severity=hit.severity,
                    evidence=evidence, raised_at=now, last_seen_at=now, effective_until=hit.effective_until,
                )
            )
            continue
        alert.evidence, alert.last_seen_at, alert.severity, alert.action = evidence, now, hit.severity, hit.action
        if hit.action == "suspend" and (alert.effective_until is None or alert.effective_until <= now):
            alert.effective_until = hit.effective_until  # still firing after it lapsed: suspend again
        plan.touched_alerts.append(alert)


# --- writing ----------------------------------------------------------------------------------


def write_plans(plans: list[CustomerPlan]) -> list[CreditDecision]:
    """Bulk-write snapshots, their consent links, alerts, decisions and line heads for the plans."""
    if not plans:
        return []
    snapshots = insert_objects(ScoreSnapshot, [p.snapshot for p in plans])
    copy_rows(
        ScoreSnapshot.consents_used.through,
        ("scoresnapshot_id", "consent_id"),
        [(s.pk, cid) for p, s in zip(plans, snapshots) for cid in p.context.features.consent_ids],
    )
    for p in plans:
        for alert in p.new_alerts + p.touched_alerts:
            alert.snapshot = p.snapshot
    RiskAlert.objects.bulk_create([a for p in plans for a in p.new_alerts])
    touched = [a for p in plans for a in p.touched_alerts]
    update_objects(RiskAlert, touched, ["evidence", "last_seen_at", "severity", "action", "effective_until", "snapshot"])
    for p in plans:
        if p.decision is not None:
            p.decision.snapshot = p.snapshot
    decisions = insert_objects(CreditDecision, [p.decision for p in plans if p.decision is not None])

    lines = []
    for p in plans:
        line, out = p.context.line, p.outcome
        line.access, line.limit_amount, line.model_access, line.model_limit = out.access, out.limit, out.model_access, out.model_limit
        line.score, line.band, line.suspended_until = p.snapshot.score, p.snapshot.band, out.suspended_until
        line.last_snapshot = p.snapshot
        if p.decision is not None:
            line.last_decision = p.decision
        line.cycle_started_at, line.cycle_base_limit = out.cycle_started_at, out.cycle_base_limit
        line.updated_at = p.snapshot.computed_at
        lines.append(line)
    update_objects(CreditLine, lines, LINE_FIELDS)
    return decisions


def digest_rows(rows: list[tuple]) -> str:
    """SHA-256 over decision rows given as DECISION_DIGEST_FIELDS tuples, in id order."""
    text = canonical_json([[str(v) if isinstance(v, Decimal) else v for v in row] for row in sorted(rows)])
    return hashlib.sha256(text.encode()).hexdigest()


def decisions_digest(decisions: list[CreditDecision]) -> str:
    """The digest of decisions just written, from memory: what the audit event vouches for."""
    return digest_rows([tuple(getattr(d, f) for f in DECISION_DIGEST_FIELDS) for d in decisions])


def stored_decisions_digest(decision_ids: list[int]) -> tuple[int, str]:
    """The same digest read back from the database (verify_audit)."""
    rows = list(CreditDecision.objects.filter(pk__in=decision_ids).values_list(*DECISION_DIGEST_FIELDS))
    return len(rows), digest_rows(rows)


# --- the single-customer path -----------------------------------------------------------------


def decision_recompute(*, customer: Customer, trigger: str, actor=None, now: datetime | None = None) -> CreditLine:
    """Recompute one customer now and return the updated credit line.

    Idempotent in effect: recomputing twice with nothing new writes a second snapshot but no
    second decision (a decision row is written only when access or limit changes). The customer's
    credit-line row is locked for the whole recompute, so events for one customer serialise.
    """
    now = now or timezone.now()
    with transaction.atomic():
        version, policy = active_policy()
        context = load_customer(customer=customer, now=now)
        before = line_state(context.line)
        plan = plan_customer(context=context, policy=policy, version=version, trigger=trigger, now=now, run=None)
        decisions = write_plans([plan])
        ids = [d.pk for d in decisions]
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
                "decision_ids": ids,
                "digest": decisions_digest(decisions),
            },
        )
        return context.line


def chunk_plans_write(*, first_id: int, last_id: int, run: RecomputeRun, now: datetime) -> tuple[int, list[CreditDecision]]:
    """Plan and write one chunk of customers for a run; returns (customers, decisions written).
    Call inside the chunk's transaction (see `runs.chunk_recompute`)."""
    version = run.policy_version
    policy = parsed_policy(version)
    contexts = load_chunk(first_id=first_id, last_id=last_id, now=now)
    plans = [plan_customer(context=c, policy=policy, version=version, trigger=run.trigger, now=now, run=run) for c in contexts]
    decisions = write_plans(plans)
    RecomputeRun.objects.filter(pk=run.pk).update(done_customers=F("done_customers") + len(plans))
    return len(plans), decisions
