"""Planning a recompute: from what was read to what should be written. Pure: no queries.

`plan_customer` scores the features, evaluates the rules, plans alert changes, decides access and
limit (`access.decide`) and, only when access or limit changes (or for a first decision), plans a
`CreditDecision`. The objects it returns are unsaved; `services.writing` writes them in bulk.

Fixed point: every input here is either data or state the recompute cannot move within the same
clock (the exposure of the statement period, an alert's recorded suspension end), so planning the
same inputs twice gives the same plan, and the second writes no decision, alert or line change.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from riskops.core.audit import normalise

from .access import DecisionOutcome, LineState, OpenAlert, decide
from decisions.models import (
    ACCESS_WITH_LIMIT, AlertRule, CreditDecision, CreditLine, PolicyVersion, RecomputeRun, RiskAlert, RunOrigin, ScoreSnapshot, Trigger,
)
from .policy import Policy
from .rules import RuleHit, evaluate_rules
from .scoring import ScoreResult, score_features
from .types import CustomerContext, SuppressedRule

__all__ = ["CustomerPlan", "ModelView", "line_state", "plan_customer", "plan_model_view"]


@dataclass
class CustomerPlan:
    context: "CustomerContext"
    snapshot: ScoreSnapshot
    hits: list[RuleHit]
    new_alerts: list[RiskAlert] = field(default_factory=list)
    touched_alerts: list[RiskAlert] = field(default_factory=list)
    outcome: DecisionOutcome | None = None
    decision: CreditDecision | None = None
    line_changed: bool = False
    # Open alerts the engine resolves because their rule stopped firing (DISCLOSURE_MISSING only).
    cleared_alerts: list[RiskAlert] = field(default_factory=list)


def line_state(line: CreditLine) -> LineState:
    return LineState(
        access=line.access, limit=line.limit_amount, model_access=line.model_access, model_limit=line.model_limit,
        suspended_until=line.suspended_until, cycle_started_at=line.cycle_started_at, cycle_base_limit=line.cycle_base_limit,
    )


def _unsuppressed(hits: list[RuleHit], suppressed: dict[str, SuppressedRule]) -> list[RuleHit]:
    """A dismissed or confirmed rule stays quiet for its suppression period unless its severity rises."""
    return [h for h in hits if h.rule not in suppressed or h.severity > suppressed[h.rule].severity]


def _in_force(suppressed: dict[str, SuppressedRule]) -> list[OpenAlert]:
    """A confirmed alert's action stays in force until its suppression period ends."""
    return [OpenAlert(s.rule, s.action, s.until if s.action == "suspend" else None) for s in suppressed.values() if s.status == "confirmed"]


def plan_customer(
    *, context: "CustomerContext", policy: Policy, version: PolicyVersion, trigger: str, now: datetime, run: RecomputeRun | None
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
    hits = _unsuppressed(
        evaluate_rules(features=result.features, consents=result.consents, policy=policy, now=now, disclosure=context.disclosure),
        context.suppressed,
    )
    before = line_state(context.line)
    if any(h.rule == DISCLOSURE_MISSING for h in hits) and not _holds_line(context, score, hits, before, policy, now):
        hits = [h for h in hits if h.rule != DISCLOSURE_MISSING]
    plan = CustomerPlan(context, snapshot, hits)
    _plan_alerts(plan, now)
    cleared = {a.pk for a in plan.cleared_alerts}
    open_after = [
        OpenAlert(a.rule, a.action, a.effective_until)
        for a in [*context.open_alerts.values(), *plan.new_alerts] if a.pk is None or a.pk not in cleared
    ]
    outcome = decide(
        has_scoring_consent=result.features is not None,
        score=score,
        features=result.features,
        hits=hits,
        open_alerts=open_after,
        confirmed=_in_force(context.suppressed),
        line=before,
        override=context.override,
        policy=policy,
        now=now,
        new_data=has_new_data(context=context, trigger=trigger, run=run),
    )
    plan.outcome = outcome
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


DISCLOSURE_MISSING = AlertRule.DISCLOSURE_MISSING.value
# Runs that bring nothing new of their own: the schedule, and a person's full recompute (a policy
# activation's run is new: the policy is). What they find new is in the change marks they take.
TIME_ONLY_TRIGGERS = {Trigger.NIGHTLY.value, Trigger.MANUAL.value}


def has_new_data(*, context: "CustomerContext", trigger: str, run: RecomputeRun | None) -> bool:
    """Did anything new about the customer reach this recompute: an event or a person's action
    (its own trigger, or the change marks a run's chunk cleared), a new policy, or is this the
    line's first computation? Without it only time passed, and a limit may not rise (access.decide)."""
    if context.changed_data or context.line.last_snapshot_id is None:
        return True
    if run is None:
        # One customer's recompute: an event's, a person's (a triage, a recompute from the admin).
        return trigger != Trigger.NIGHTLY.value
    return trigger not in TIME_ONLY_TRIGGERS or run.origin == RunOrigin.ACTIVATION


@dataclass(frozen=True)
class ModelView:
    """What a policy's model would decide for one customer: its score and band, access and limit
    (the model's own, before any override)."""

    score: ScoreResult
    access: str
    limit: Decimal


def plan_model_view(*, context: "CustomerContext", policy: Policy, now: datetime, new_data: bool = True) -> ModelView | None:
    """The model access and limit `plan_customer` would plan under `policy`, building nothing to
    write and changing nothing it is given. `plan_customer` updates the open alerts of the context
    in place (they are written afterwards); this reads them, so a challenger planned on the
    champion's context (decisions/engine/services/shadow.py) cannot move anything the champion
    writes, and judges the alerts as they are stored. None without a score (no scoring consent:
    nothing was read, and every policy leaves the line not offered).

    The same steps as `plan_customer`: score, rules less the suppressed ones, DISCLOSURE_MISSING
    only for a line held, the open alerts as the plan would leave them, `access.decide`.
    tests/decisions/test_challenger.py holds the two to the same answer on a seeded book."""
    result = context.features
    if result.features is None:
        return None
    score = score_features(result.features, policy)
    hits = _unsuppressed(
        evaluate_rules(features=result.features, consents=result.consents, policy=policy, now=now, disclosure=context.disclosure),
        context.suppressed,
    )
    before = line_state(context.line)
    if any(h.rule == DISCLOSURE_MISSING for h in hits) and not _holds_line(context, score, hits, before, policy, now):
        hits = [h for h in hits if h.rule != DISCLOSURE_MISSING]
    outcome = decide(
        has_scoring_consent=True, score=score, features=result.features, hits=hits,
        open_alerts=_alerts_after(context, hits, now), confirmed=_in_force(context.suppressed), line=before,
        override=None,  # the model's own view: an override changes access and limit, never model_*
        policy=policy, now=now, new_data=new_data,
    )
    return ModelView(score, outcome.model_access, outcome.model_limit)


def _alerts_after(context: "CustomerContext", hits: list[RuleHit], now: datetime) -> list[OpenAlert]:
    """The open alerts as `_plan_alerts` would leave them, without touching the stored ones: a
    rule still firing takes the hit's action (a lapsed suspension starts again), a rule that
    stopped keeps its alert for an analyst, except DISCLOSURE_MISSING which the engine resolves;
    a rule firing with no open alert raises a new one."""
    fired = {h.rule: h for h in hits}
    after = []
    for rule, alert in context.open_alerts.items():
        hit = fired.get(rule)
        if hit is None:
            if rule != DISCLOSURE_MISSING:
                after.append(OpenAlert(alert.rule, alert.action, alert.effective_until))
            continue
        until = alert.effective_until
        if hit.action == "suspend" and (until is None or until <= now):
            until = hit.effective_until
        elif hit.action != "suspend":
            until = None
        after.append(OpenAlert(rule, hit.action, until))
    after += [OpenAlert(h.rule, h.action, h.effective_until) for h in hits if h.rule not in context.open_alerts]
    return after


def _holds_line(context: "CustomerContext", score, hits: list[RuleHit], before, policy: Policy, now: datetime) -> bool:
    """DISCLOSURE_MISSING concerns customers with an open or limited line: judged on the outcome
    the other rules and alerts lead to now (a review alert can only move open to limited), not on
    the line as the last recompute left it, so a first recompute and its rerun agree."""
    others = [h for h in hits if h.rule != DISCLOSURE_MISSING]
    alerts = [OpenAlert(a.rule, a.action, a.effective_until) for a in context.open_alerts.values() if a.rule != DISCLOSURE_MISSING]
    alerts += [OpenAlert(h.rule, h.action, h.effective_until) for h in others if h.rule not in context.open_alerts]
    trial = decide(
        has_scoring_consent=context.features.features is not None, score=score, features=context.features.features,
        hits=others, open_alerts=alerts, confirmed=_in_force(context.suppressed), line=before,
        override=context.override, policy=policy, now=now,
    )
    return trial.access in ACCESS_WITH_LIMIT


def _plan_alerts(plan: CustomerPlan, now: datetime) -> None:
    """An open alert of the same rule is updated (last_seen_at: still firing as of now), never duplicated.
    An open DISCLOSURE_MISSING alert whose rule no longer fires (the customer acknowledged, or holds
    no line any more) is resolved by the engine; other rules' alerts wait for an analyst."""
    fired = {h.rule for h in plan.hits}
    stale = plan.context.open_alerts.get(DISCLOSURE_MISSING)
    if stale is not None and DISCLOSURE_MISSING not in fired:
        plan.cleared_alerts.append(stale)
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
        until = alert.effective_until
        if hit.action == "suspend" and (until is None or until <= now):
            until = hit.effective_until  # still firing after it lapsed: suspend again
        elif hit.action != "suspend":
            until = None
        if (alert.evidence, alert.severity, alert.action, alert.effective_until, alert.last_seen_at) == (evidence, hit.severity, hit.action, until, now):
            continue  # same data, same clock: a rerun leaves the alert as it was
        alert.evidence, alert.last_seen_at, alert.severity, alert.action, alert.effective_until = evidence, now, hit.severity, hit.action, until
        plan.touched_alerts.append(alert)
