"""Words for the data-subject report's headings and values, in the viewer's language.

The report shows every stored column of every row. A model field is headed by its verbose name;
the keys below are the report's own columns and the keys inside stored JSON (features, evidence,
payloads), named here once. A key not named here is shown as written, with spaces for underscores.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _

from accounts.models import DisclosureKind, TransactionKind
from decisions.governance.policy_sections import FEATURE_LABELS

KEY_LABELS: dict[str, Any] = {
    # the report's own columns
    "consent_text_version": _("Consent text version"),
    "ledger": _("Ledger"),
    "document": _("Document"),
    "version": _("Version"),
    "content_hash": _("Content hash"),
    "policy_version": _("Policy version"),
    "consents_used": _("Consents used"),
    "risk_disclosure_version": _("Risk disclosure version"),
    "author": _("Author"),
    "id": _("ID"),
    "occurred_at": _("Occurred at"),
    "actor": _("Actor"),
    "action": _("Action"),
    "target_type": _("Target type"),
    "target_id": _("Target id"),
    "before": _("Before"),
    "after": _("After"),
    "hash": _("Hash"),
    # features a score read (the policy form's names) and those the form does not edit
    **FEATURE_LABELS,
    "applications_7d": _("Credit applications, 7 days"),
    "avg_monthly_spend_3m": _("Average monthly spend, 3 months"),
    "current_dpd": _("Days past due now"),
    "external_debt": _("Debt with other lenders"),
    "spend_7d": _("Spend, 7 days"),
    "outstanding": _("Outstanding"),
    # inside reasons, evidence and payloads
    "code": _("code"),
    "text": _("text"),
    "rule": _("rule"),
    "feature": _("feature"),
    "value": _("value"),
    "points_lost": _("points lost"),
    "days_past_due": _("days past due"),
    "overdue_installments": _("overdue installments"),
}


def key_label(key: str) -> str:
    label = KEY_LABELS.get(key)
    return str(label) if label is not None else key.replace("_", " ")


def transaction_kind_name(kind: str) -> str:
    return str(dict(TransactionKind.choices).get(kind, kind))


def document_name(kind: str) -> str:
    return str(dict(DisclosureKind.choices).get(kind, kind))
