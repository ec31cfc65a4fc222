"""Customer notices: what the customer is told about an adverse decision, in their language.

One `CustomerNotice` per decision that closes, suspends, limits or cuts a line, or refuses one (a
first decision of `not_offered`, or any move to `not_offered`). Written by `services.writing`
in the recompute's own transaction, in bulk for a chunk, for exactly the decisions written: a
rerun writes no decision, so it writes no notice.

The reasons are the decision's own reason codes (and the score's adverse-action codes), each with
its plain-language text rendered in the customer's language through the translation catalogue
(`translation.override`), so the notice holds the words the customer was actually sent.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

from django.utils import translation
from django.utils.translation import gettext_lazy as _

from accounts.models import Customer, CustomerLanguage

from decisions.engine.features import current_risk_disclosure
from decisions.models import CreditDecision, CustomerNotice, NoticeKind, RiskAlert
from decisions.presentation.texts import reason_text

if TYPE_CHECKING:
    from decisions.engine.planning import CustomerPlan

# Fixed text, translated like every other: how to ask for a review.
REVIEW_TEXT = _(
    "You can ask for this decision to be reviewed by a person: reply to this notice in the app "
    "(Help › Credit line review) or call customer service within 30 days. Tell us if anything "
    "we used is wrong; the review is free and you will get an answer within 15 days."
)
# Reasons that explain the engine's bookkeeping, not the customer's situation.
NOT_FOR_CUSTOMERS = {"WHAT_CHANGED"}
LANGUAGES = set(CustomerLanguage.values)


def notice_kind(*, access: str, previous_access: str, limit: Decimal, previous_limit: Decimal | None, first: bool) -> str | None:
    """The kind of notice a decision calls for, or None when it is not adverse.

    One notice per decision, so the strongest move wins: closed, suspended, refused, limited, cut."""
    if access == "closed" and previous_access != "closed":
        return NoticeKind.CLOSED
    if access == "suspended" and previous_access != "suspended":
        return NoticeKind.SUSPENDED
    if access == "not_offered" and (first or previous_access != "not_offered"):
        return NoticeKind.REFUSED
    if access == "limited" and previous_access != "limited":
        return NoticeKind.LIMITED
    if access in ("open", "limited") and previous_limit is not None and limit < previous_limit:
        return NoticeKind.LIMIT_CUT
    return None


def notice_reasons(decision: CreditDecision, score_reasons: list[dict], language: str) -> list[dict]:
    """[{code, text}] in the customer's language: the decision's reasons, then the score's."""
    seen: set[str] = set()
    out: list[dict] = []
    with translation.override(language):
        for reason in [*decision.reasons, *score_reasons]:
            code = reason.get("code", "")
            if not code or code in NOT_FOR_CUSTOMERS or code in seen:
                continue
            seen.add(code)
            out.append({"code": code, "text": reason_text(reason)})
    return out


def review_text(language: str) -> str:
    with translation.override(language):
        return str(REVIEW_TEXT)


def notices_for_plans(plans: list["CustomerPlan"]) -> list[CustomerNotice]:
    """Write the notices for the plans' decisions (already inserted, with their pks). Call before
    the plans' lines are updated: a first decision is recognised by the line having none yet.
    Two queries when any decision is adverse (the customers' languages, the disclosure in force),
    none otherwise."""
    pending: list[tuple[CreditDecision, str, list[dict]]] = []
    for p in plans:
        d = p.decision
        if d is None:
            continue
        kind = notice_kind(
            access=d.access, previous_access=d.previous_access, limit=d.limit_amount, previous_limit=d.previous_limit,
            first=p.context.line.last_decision_id is None,
        )
        if kind is not None:
            pending.append((d, kind, p.snapshot.reason_codes or []))
    if not pending:
        return []
    languages = dict(Customer.objects.filter(pk__in=[d.customer_id for d, _k, _r in pending]).values_list("pk", "language"))
    disclosure = current_risk_disclosure(as_of=max(d.decided_at for d, _k, _r in pending))
    notices = []
    for decision, kind, score_reasons in pending:
        language = languages.get(decision.customer_id)
        language = language if language in LANGUAGES else CustomerLanguage.ENGLISH.value
        notices.append(
            CustomerNotice(
                customer_id=decision.customer_id,
                decision=decision,
                kind=kind,
                language=language,
                reasons=notice_reasons(decision, score_reasons, language),
                disclosure_id=disclosure[0] if disclosure else None,
                review_text=review_text(language),
                created_at=decision.decided_at,
            )
        )
    return CustomerNotice.objects.bulk_create(notices)


def alerts_clear(plans: list["CustomerPlan"]) -> int:
    """Resolve the open alerts whose rule stopped firing (see planning._plan_alerts), in one
    UPDATE. Only still-open rows: an analyst who closed it meanwhile keeps their resolution."""
    cleared = [(a.pk, p.snapshot.computed_at) for p in plans for a in p.cleared_alerts]
    if not cleared:
        return 0
    now = max(at for _pk, at in cleared)
    return RiskAlert.objects.filter(pk__in=[pk for pk, _at in cleared], status__in=RiskAlert.OPEN_STATUSES).update(
        status=RiskAlert.Status.RESOLVED,
        resolved_at=now,
        resolution="Cleared by the engine: the rule no longer fires (the risk disclosure in force is acknowledged or no line is held).",
    )
