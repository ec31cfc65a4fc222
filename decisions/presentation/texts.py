"""What staff read for reason codes, rules and access states, in the viewer's language.

The policy document and the stored decisions keep their English text as the record of what was
decided; the pages show the translated text below, with the code next to it for the expert.
An unknown code (a new policy feature) falls back to the stored English text, never to nothing.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from django.utils.translation import gettext, gettext_lazy as _, pgettext_lazy

from .formats import money

RULE_NAMES = {
    "OVER_BORROWING": _("Over-borrowing"),
    "FREQUENT_APPLICATIONS": _("Frequent applications"),
    "SPENDING_SPIKE": _("Spending spike"),
    "OVERDUE_30": _("Overdue 30+ days"),
    "OVERDUE_90": _("Overdue 90+ days"),
    "CONSENT_WITHDRAWN": _("Consent withdrawn"),
    "DISCLOSURE_MISSING": _("Risk disclosure not acknowledged"),
}

ACCESS_NAMES = {
    # "Open" is also an alert status (待处理); an open credit line is another word (正常).
    "open": pgettext_lazy("access state", "Open"),
    "limited": _("Limited"),
    "suspended": _("Suspended"),
    "closed": _("Closed"),
    "not_offered": _("Not offered"),
}

# Score reason codes (adverse-action style: the features that lost the most points).
SCORE_REASONS = {
    "BUREAU_SCORE_LOW": _("The credit bureau score is low."),
    "MANY_LENDERS": _("Open credit with many other lenders."),
    "HIGH_DEBT_TO_INCOME": _("Debts are high compared with income."),
    "LATE_PAYMENTS": _("An installment was paid late in the last 12 months."),
    "OVERDUE_INSTALLMENTS": _("Installments are overdue now."),
    "LOW_ON_TIME_RATIO": _("Few installments were paid on time."),
    "HIGH_UTILISATION": _("Most of the credit limit is in use."),
    "LOW_INCOME": _("Regular income into the wallet is low or unknown."),
    "SPENDING_SPIKE": _("Spending rose sharply in the last week."),
    "MANY_APPLICATIONS": _("Applied for credit many times recently."),
    "SHORT_TENURE": _("A customer for a short time."),
    "NO_SCORING_CONSENT": _("No credit-scoring consent: nothing was scored."),
}

# Decision reason codes; %(…)s placeholders are filled from the stored reason's own fields.
DECISION_REASONS = {
    "OVERRIDE": _("A manual override approved by two people is in force."),
    "CLOSED_PERMANENTLY": _("The line was closed; only an approved override reopens it."),
    "NO_CONSENT": _("No credit-scoring consent: no data was read and no score computed."),
    "CLOSED_BY_RULE": _("Closed by the rule “%(rule_name)s”."),
    "SUSPENDED_BY_RULE": _("Suspended by the rule “%(rule_name)s”."),
    "SCORE_BELOW_CUTOFF": _("Score %(score)s is in band E."),
    "NO_INCOME": _("No income was seen in the wallet in the last 3 months."),
    "BAND": _("Score %(score)s, band %(band)s."),
    "LIMIT_INCREASE_CAPPED": _("The increase was capped at %(cap)s per cycle (target %(target)s)."),
    "LIMITED": _("Limited: the limit is not increased while band D or an open alert awaits review."),
    "LIMIT_INCREASE_WAITS": _("No increase within %(days)s days of a cut or a new line (target %(target)s)."),
    "LIMIT_INCREASE_NEEDS_DATA": _("No increase on time alone: the limit stays at %(limit)s until new data arrives (target %(target)s)."),
}


# What moved a decision (the engine's last reason, code WHAT_CHANGED), by its `cause`. Reasons
# stored before the cause was recorded are recognised by their English text.
WHAT_CHANGED = {
    "new_data": _("New data arrived."),
    "time_passed": _("Time passed: inputs moved without a new event."),
    "same_inputs": _("Recomputed with the same inputs; the policy or a person's action changed the outcome."),
    "override_in_force": _("A manual override approved by a second person now decides access and limit."),
    "override_ended": _("The manual override ended: the model decides access and limit again."),
}
_WHAT_CHANGED_BY_TEXT = {
    "New data arrived.": "new_data",
    "Time passed: inputs moved without a new event.": "time_passed",
    "Recomputed with the same inputs; the policy or a person's action changed the outcome.": "same_inputs",
}


def what_changed_text(reason: dict[str, Any]) -> str:
    """The WHAT_CHANGED reason's sentence in the viewer's language. A stored "new data" reason
    whose recompute an override started says the override (decisions written before the engine
    named it)."""
    cause = reason.get("cause") or _WHAT_CHANGED_BY_TEXT.get(reason.get("text", ""), "")
    if cause == "new_data" and reason.get("trigger") == "override" and not reason.get("events"):
        cause = "override_changed"
    if cause == "override_changed":
        return gettext("A manual override was approved, revoked or ended.")
    template = WHAT_CHANGED.get(cause)
    return str(template) if template is not None else str(reason.get("text", ""))


def rule_name(rule: str) -> str:
    return str(RULE_NAMES.get(rule, rule))


def access_name(access: str) -> str:
    return str(ACCESS_NAMES.get(access, access))


# Reason fields that hold amounts (stored as strings): shown as money, like the pages' amounts.
MONEY_PARAMS = {"target", "cap", "limit"}


def reason_text(reason: dict[str, Any]) -> str:
    """The translated sentence for a stored reason (score or decision), or its English text."""
    code = reason.get("code", "")
    if code == "WHAT_CHANGED":
        return what_changed_text(reason)
    template = SCORE_REASONS.get(code) or DECISION_REASONS.get(code)
    if template is None:
        return str(reason.get("text", code))
    params = {k: v for k, v in reason.items() if isinstance(v, (str, int, float))}
    for key in MONEY_PARAMS.intersection(params):
        params[key] = _amount(params[key])
    if "rule" in reason:
        params["rule_name"] = rule_name(reason["rule"])
    try:
        return str(template) % params
    except (KeyError, TypeError, ValueError):
        # A reason stored by an older engine may lack a field the template names.
        return str(reason.get("text", code))


def _amount(value: Any) -> str:
    """Money in evidence as the pages show it (¥742.44); anything else as stored."""
    try:
        Decimal(str(value))
    except (InvalidOperation, ValueError, TypeError):
        return "?" if value is None else str(value)
    return money(value)


def _ratio(value: Any) -> str:
    """A ratio to two decimals (8.47, not 8.4720: the engine keeps four for its own comparisons)."""
    try:
        return f"{Decimal(str(value)):.2f}"
    except (InvalidOperation, ValueError, TypeError):
        return "?" if value is None else str(value)


def alert_evidence_lines(rule: str, evidence: dict[str, Any], *, threshold_days: int | None = None) -> list[str]:
    """The numbers that tripped the rule, against its threshold, as sentences."""
    e = evidence or {}
    lines: list[str] = []
    if rule == "OVER_BORROWING":
        if e.get("external_lenders") is not None:
            lines.append(gettext("%(n)s lenders with open credit (the limit is %(max)s).") % {"n": e["external_lenders"], "max": e.get("max_external_lenders", "?")})
        if e.get("debt_to_income") is not None:
            lines.append(gettext("Debt is %(dti)s× income (the limit is %(max)s×).") % {"dti": _ratio(e["debt_to_income"]), "max": e.get("max_debt_to_income", "?")})
    elif rule == "FREQUENT_APPLICATIONS":
        lines.append(gettext("%(n)s applications in 7 days (the limit is %(max)s).") % {"n": e.get("applications_7d", "?"), "max": e.get("max_applications_7d", "?")})
        lines.append(gettext("%(n)s applications in 30 days (the limit is %(max)s).") % {"n": e.get("applications_30d", "?"), "max": e.get("max_applications_30d", "?")})
    elif rule == "SPENDING_SPIKE":
        lines.append(gettext("Spent %(spend)s in 7 days against %(avg)s a month on average: %(ratio)s× (the rule fires from %(min)s×).") % {
            "spend": _amount(e.get("spend_7d")), "avg": _amount(e.get("avg_monthly_spend_3m")), "ratio": _ratio(e.get("spike_ratio")),
            "min": e.get("min_spike_ratio", "?"),
        })
    elif rule in ("OVERDUE_30", "OVERDUE_90"):
        text = gettext("%(dpd)s days past due on %(n)s installment(s), %(owed)s outstanding") % {
            "dpd": e.get("days_past_due", "?"), "n": e.get("overdue_installments", "?"), "owed": _amount(e.get("outstanding")),
        }
        if threshold_days is not None:
            text += " " + gettext("(the rule fires from %(days)s days).") % {"days": threshold_days}
        lines.append(text)
    elif rule == "CONSENT_WITHDRAWN":
        lines.append(gettext("The customer withdrew the %(purpose)s consent.") % {"purpose": e.get("purpose", "credit_scoring")})
    elif rule == "DISCLOSURE_MISSING":
        lines.append(gettext("Risk disclosure version %(version)s is not acknowledged; it was due by %(due)s (%(days)s days' grace).") % {
            "version": e.get("version", "?"), "due": str(e.get("due_at", "?"))[:10], "days": e.get("grace_days", "?"),
        })
    if not lines and e:
        lines = [f"{k}: {v}" for k, v in sorted(e.items())]
    return lines
