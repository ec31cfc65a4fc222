"""Policy → decision: from band, rule actions, open alerts and overrides to access and limit.

Pure: it reads nothing and writes nothing, so the single-customer and chunk paths share it.
Order of precedence (the first that applies wins):
1. a line the model closed stays closed (permanent; only an approved override reopens it);
2. no `credit_scoring` consent → `not_offered` (NO_CONSENT);
3. a `close` rule fires → `closed`;
4. a suspension in force → `suspended` until it ends (limit 0);
5. band E → `not_offered` (score below the cut-off);
6. band D or any open alert → `limited`: usable, never increased;
7. otherwise `open`.
Limits: income proxy (or the policy's fallback when income is unknown) × band multiplier, rounded
down, bounded; an increase is capped per cycle (`max_increase_pct` over the limit the cycle
started from), a decrease applies at once and starts a new cycle; a cycle begun by a cut or a
first grant raises nothing until it has run `cycle_days` (LIMIT_INCREASE_WAITS), so a limit never
goes down and straight back up on noise; a line back from a suspension is capped from its last
granted limit. An approved, unexpired override wins over all of it.

Fixed point: `decide` is a pure function of its inputs, and none of them is something the previous
recompute of the same moment produced: utilisation in `features` is measured against the exposure
of the statement period (decisions/engine/exposure.py), not against the limit decided a moment ago; a
suspension's end is read from its alert, where it was recorded once. So deciding twice with the
same data and clock gives the same access and limit, and the second recompute writes no decision.
The cycle caps stay meaningful: a cycle still starts at a first grant, a cut or `cycle_days` after
the last start, and an increase is capped from the limit the cycle started at.
"""

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import ROUND_DOWN, Decimal

from .features import Features
from .policy import Policy
from .rules import RuleHit
from .scoring import ScoreResult
from .types import ActiveOverride

ZERO = Decimal("0.00")


@dataclass(frozen=True)
class LineState:
    """What the customer's line looked like before this recompute."""

    access: str = "not_offered"
    limit: Decimal = ZERO
    model_access: str = "not_offered"
    model_limit: Decimal = ZERO
    suspended_until: datetime | None = None
    cycle_started_at: datetime | None = None
    cycle_base_limit: Decimal = ZERO


@dataclass(frozen=True)
class OpenAlert:
    rule: str
    action: str
    effective_until: datetime | None


@dataclass
class DecisionOutcome:
    access: str
    limit: Decimal
    model_access: str
    model_limit: Decimal
    suspended_until: datetime | None
    reasons: list[dict] = field(default_factory=list)
    override_id: int | None = None
    cycle_started_at: datetime | None = None
    cycle_base_limit: Decimal = ZERO

    def changed_from(self, line: LineState) -> bool:
        return (self.access, self.limit) != (line.access, line.limit)


def _round_down(amount: Decimal, step: Decimal) -> Decimal:
    return ((amount / step).to_integral_value(rounding=ROUND_DOWN) * step).quantize(Decimal("0.01"))


def target_limit(*, features: Features, band: str, policy: Policy) -> Decimal:
    # Unknown income (no transaction consent) falls back; a known zero income is not unknown.
    income = features.income_proxy_3m if features.income_proxy_3m is not None else policy.fallback_income
    raw = income * policy.multipliers[band]
    if raw <= 0:
        return ZERO
    return min(max(_round_down(raw, policy.round_to), policy.min_limit), policy.max_limit)


def _reason(code: str, text: str, **extra) -> dict:
    return {"code": code, "text": text, **{k: (str(v) if isinstance(v, (Decimal, datetime)) else v) for k, v in extra.items()}}


def decide(
    *,
    has_scoring_consent: bool,
    score: ScoreResult | None,
    features: Features | None,
    hits: list[RuleHit],
    open_alerts: list[OpenAlert],
    line: LineState,
    override: ActiveOverride | None,
    policy: Policy,
    now: datetime,
    confirmed: list[OpenAlert] = (),
    new_data: bool = True,
) -> DecisionOutcome:
    """`confirmed`: alerts an analyst confirmed as real risk, whose action stays in force until
    their suppression period ends (a suspension until then; a review keeps the line limited).
    `new_data`: whether anything new about the customer (an event, a person's action, a policy)
    reached this recompute; with time alone a limit may fall but never rise (`_held_on_time`)."""
    out = _model_decision(
        has_scoring_consent=has_scoring_consent, score=score, features=features, hits=hits,
        open_alerts=[*open_alerts, *confirmed], line=line, policy=policy, now=now,
    )
    if not new_data:
        out = _held_on_time(out, line=line, now=now)
    if override is not None:
        apply_override(out, override)
    return out


ACCESS_WITH_LIMIT = ("open", "limited")


def _held_on_time(out: DecisionOutcome, *, line: LineState, now: datetime) -> DecisionOutcome:
    """With nothing new but the passing of time, a limit may fall but never rise.

    Time alone moves a score both ways: a 7-day spend window slides, a month of income rolls in or
    out. Cuts on time apply at once (a missed due date is risk); a rise on time alone would be
    undone the next time the window slides, which the replayed book showed as limits cut and put
    back within days with nothing new (reversals). So a rise, or a line offered again after its
    score withdrew it, waits for new data: the customer's next event, a person's action or a new
    policy. Two rises are not time alone: the first computation of a line, and the end of a
    suspension at the date set when it began (one decision with a duration, not a second one)."""
    granted = line.model_limit if line.model_access in ACCESS_WITH_LIMIT else ZERO
    if out.model_limit <= granted:
        return out
    if line.model_access == "suspended" and line.suspended_until is not None and line.suspended_until <= now:
        return out
    reason = _reason(
        "LIMIT_INCREASE_NEEDS_DATA", "No increase on time alone: it waits for new data.",
        target=out.model_limit, limit=granted,
    )
    if granted == 0:
        return DecisionOutcome("not_offered", ZERO, "not_offered", ZERO, None, [*out.reasons, reason], None, line.cycle_started_at, line.cycle_base_limit)
    return DecisionOutcome(
        out.model_access, granted, out.model_access, granted, None, [*out.reasons, reason], None, line.cycle_started_at, line.cycle_base_limit,
    )


def apply_override(out: DecisionOutcome, override: ActiveOverride) -> None:
    """Put an approved override over the model's outcome (`out.model_*` stay the model's own).

    Blank access keeps the model's access (and a model suspension keeps its end); a None limit
    keeps the model's limit; whatever the source, an access state without a limit carries 0,
    as the database requires. An override suspension lasts until the override expires."""
    access = override.access or out.model_access
    if access in ACCESS_WITH_LIMIT:
        limit = override.limit if override.limit is not None else out.model_limit
    else:
        limit = ZERO
    if access != "suspended":
        suspended_until = None
    elif override.access == "suspended":
        suspended_until = override.expires_at
    else:
        suspended_until = out.suspended_until
    out.access, out.limit, out.suspended_until, out.override_id = access, limit, suspended_until, override.id
    out.reasons.insert(0, _reason("OVERRIDE", "A manual override approved by two people is in force.", override_id=override.id, expires_at=override.expires_at))


def _model_decision(*, has_scoring_consent, score, features, hits, open_alerts, line, policy, now) -> DecisionOutcome:
    def outcome(access: str, limit: Decimal = ZERO, reasons=(), suspended_until=None, cycle=None) -> DecisionOutcome:
        # States without a limit keep the cycle, so a line coming back is capped from where it was.
        started, base = cycle or (line.cycle_started_at, line.cycle_base_limit)
        return DecisionOutcome(access, limit, access, limit, suspended_until, list(reasons), None, started, base)

    if line.model_access == "closed":
        return outcome("closed", reasons=[_reason("CLOSED_PERMANENTLY", "The line was closed; only an approved override reopens it.")])
    if not has_scoring_consent:
        return outcome("not_offered", reasons=[_reason("NO_CONSENT", "No credit-scoring consent: no data was read and no score computed.")])
    closing = [h for h in hits if h.action == "close"]
    if closing:
        return outcome("closed", reasons=[_reason("CLOSED_BY_RULE", f"Closed by rule {h.rule}.", rule=h.rule) for h in closing])
    # A suspension's end is recorded once, on its alert: a rule that keeps firing does not push it
    # further on every recompute (that would make a rerun move the line). A hit with no alert in
    # force yet (a first firing, or one after the previous suspension lapsed) starts one now.
    in_force = {a.rule: a.effective_until for a in open_alerts if a.action == "suspend" and a.effective_until and a.effective_until > now}
    for h in hits:
        if h.action == "suspend" and h.rule not in in_force:
            in_force[h.rule] = h.effective_until
    if in_force:
        until = max(in_force.values())
        rules = sorted(in_force)
        return outcome("suspended", reasons=[_reason("SUSPENDED_BY_RULE", f"Suspended by rule {r}.", rule=r, until=until) for r in rules], suspended_until=until)
    if score.band == "E":
        return outcome("not_offered", reasons=[_reason("SCORE_BELOW_CUTOFF", f"Score {score.score} is in band E.", score=score.score)])

    target = target_limit(features=features, band=score.band, policy=policy)
    if target == 0:
        return outcome("not_offered", reasons=[_reason("NO_INCOME", "No income was seen in the wallet in the last 3 months.")])
    reasons = [_reason("BAND", f"Score {score.score}, band {score.band}.", score=score.score, band=score.band)]
    # After a suspension the last granted limit lives on as the cycle's base.
    previous = line.model_limit if line.model_access in ("open", "limited") else line.cycle_base_limit
    limited = score.band == "D" or bool(open_alerts)
    cycle_started, cycle_base = line.cycle_started_at, line.cycle_base_limit
    if previous == 0:
        # A first grant (or a return from suspension) starts a new cycle at the granted limit.
        limit, cycle_started, cycle_base = target, now, target
    elif limited:
        limit = min(target, previous)
        if limit < previous:
            # A cut, like any other: it starts a new cycle, so a raise waits for it to run.
            cycle_started, cycle_base = now, limit
    elif target <= previous:
        # Decreases apply at once, and start a new cycle so the next increase is capped from here.
        limit = target
        if target < previous:
            cycle_started, cycle_base = now, target
    elif cycle_started is not None and now < cycle_started + timedelta(days=policy.cycle_days) and previous <= cycle_base:
        # The cycle began with a cut or a first grant and nothing was raised in it: a raise waits
        # for the next cycle. A score that wobbles across a band boundary (a 7-day spend window
        # sliding) otherwise cut a limit one night and put it back a few nights later; the
        # replayed book counted such reversals. Cuts are never held back.
        limit = previous
        reasons.append(_reason(
            "LIMIT_INCREASE_WAITS", f"No increase within {policy.cycle_days} days of a cut or a new line.",
            target=target, days=policy.cycle_days, until=cycle_started + timedelta(days=policy.cycle_days),
        ))
    else:
        if cycle_started is None or now >= cycle_started + timedelta(days=policy.cycle_days):
            cycle_started, cycle_base = now, previous
        cap = _round_down(cycle_base * (1 + policy.max_increase_pct / 100), policy.round_to)
        limit = max(min(target, cap), previous)
        if limit < target:
            reasons.append(_reason("LIMIT_INCREASE_CAPPED", f"Increase capped at {policy.max_increase_pct}% per {policy.cycle_days}-day cycle.", target=target, cap=cap))
    if limited:
        why = "band D" if score.band == "D" else "an open alert awaits review"
        reasons.append(_reason("LIMITED", f"Limited: {why}; the limit is not increased.", open_alerts=sorted({a.rule for a in open_alerts})))
        return outcome("limited", limit, reasons, cycle=(cycle_started, cycle_base))
    return outcome("open", limit, reasons, cycle=(cycle_started, cycle_base))
