"""Interception rules: each looks at the features (or the consent state) and may fire with evidence.

A hit says what the policy wants done: `review` (queue only), `suspend` (temporary, until
`now + suspend_days`) or `close` (permanent until an approved override).
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from .features import ConsentState, DisclosureStatus, Features
from decisions.models import AlertAction, AlertRule
from .policy import Policy, Rule


@dataclass(frozen=True)
class RuleHit:
    rule: str
    action: str
    severity: int
    evidence: dict
    effective_until: datetime | None


def _over_borrowing(f: Features, p: dict) -> dict | None:
    lenders_high = f.external_lenders is not None and f.external_lenders > p["max_external_lenders"]
    dti_high = f.debt_to_income is not None and f.debt_to_income > p["max_debt_to_income"]
    if lenders_high or dti_high:
        return {
            "external_lenders": f.external_lenders,
            "max_external_lenders": p["max_external_lenders"],
            "debt_to_income": f.debt_to_income,
            "max_debt_to_income": p["max_debt_to_income"],
            "external_debt": f.external_debt,
        }
    return None


def _frequent_applications(f: Features, p: dict) -> dict | None:
    if f.applications_7d > p["max_applications_7d"] or f.applications_30d > p["max_applications_30d"]:
        return {
            "applications_7d": f.applications_7d,
            "max_applications_7d": p["max_applications_7d"],
            "applications_30d": f.applications_30d,
            "max_applications_30d": p["max_applications_30d"],
        }
    return None


def _spending_spike(f: Features, p: dict) -> dict | None:
    if (
        f.spend_spike_ratio is not None
        and f.spend_spike_ratio >= p["min_spike_ratio"]
        and f.spend_7d is not None
        and f.spend_7d >= p["min_spend_7d"]
    ):
        return {
            "spend_7d": f.spend_7d,
            "avg_monthly_spend_3m": f.avg_monthly_spend_3m,
            "spike_ratio": f.spend_spike_ratio,
            "min_spike_ratio": p["min_spike_ratio"],
        }
    return None


def _overdue(lower: int, upper: int | None):
    def check(f: Features, p: dict) -> dict | None:
        if f.current_dpd >= lower and (upper is None or f.current_dpd < upper):
            return {"days_past_due": f.current_dpd, "overdue_installments": f.overdue_count, "outstanding": f.outstanding}
        return None

    return check


def disclosure_missing(status: DisclosureStatus | None, p: dict, now: datetime) -> dict | None:
    """The risk disclosure in force is not acknowledged and its grace period is over: `grace_days`
    after its publication, or after onboarding when the customer joined later. Whether the
    customer holds a line (open or limited) is judged by the planner, which knows the outcome."""
    if status is None or status.acknowledged_at is not None:
        return None
    due_at = max(status.published_at, status.onboarded_at) + timedelta(days=p["grace_days"])
    if now < due_at:
        return None
    # No "days overdue" here: evidence that moved every day would rewrite the alert on every rerun.
    return {
        "disclosure_id": status.disclosure_id,
        "version": status.version,
        "published_at": status.published_at,
        "due_at": due_at,
        "grace_days": p["grace_days"],
    }


def evaluate_rules(
    *, features: Features | None, consents: ConsentState, policy: Policy, now: datetime,
    disclosure: DisclosureStatus | None = None,
) -> list[RuleHit]:
    """All rules that fire. Without scoring consent only CONSENT_WITHDRAWN (and DISCLOSURE_MISSING,
    which reads no customer data) can: nothing else was read."""
    rules = policy.rules
    overdue_30, overdue_90 = rules[AlertRule.OVERDUE_30.value], rules[AlertRule.OVERDUE_90.value]
    # With OVERDUE_90 off, OVERDUE_30 covers every arrear from its threshold up.
    o90 = overdue_90.params["min_days_past_due"] if overdue_90.enabled else None
    o30 = overdue_30.params["min_days_past_due"]
    checks = {
        AlertRule.OVER_BORROWING.value: _over_borrowing,
        AlertRule.FREQUENT_APPLICATIONS.value: _frequent_applications,
        AlertRule.SPENDING_SPIKE.value: _spending_spike,
        # 30+ and 90+ are one ladder: a 95-day arrear is OVERDUE_90, not both.
        AlertRule.OVERDUE_30.value: _overdue(o30, o90),
        AlertRule.OVERDUE_90.value: _overdue(overdue_90.params["min_days_past_due"], None),
    }
    hits: list[RuleHit] = []
    consent_rule = rules[AlertRule.CONSENT_WITHDRAWN.value]
    if consents.scoring_withdrawn and consent_rule.enabled:
        hits.append(_hit(consent_rule, {"purpose": "credit_scoring", "withdrawn": True}, now))
    if features is not None:
        for name, check in checks.items():
            rule = rules[name]
            if rule.enabled and (evidence := check(features, rule.params)) is not None:
                hits.append(_hit(rule, evidence, now))
    disclosure_rule = rules[AlertRule.DISCLOSURE_MISSING.value]
    if disclosure_rule.enabled and (evidence := disclosure_missing(disclosure, disclosure_rule.params, now)) is not None:
        hits.append(_hit(disclosure_rule, evidence, now))
    return hits


def _hit(rule: Rule, evidence: dict, now: datetime) -> RuleHit:
    until = now + timedelta(days=rule.suspend_days) if rule.action == AlertAction.SUSPEND else None
    return RuleHit(rule.name, rule.action, rule.severity, evidence, until)
