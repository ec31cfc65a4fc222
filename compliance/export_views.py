"""CSV exports of the compliance lists: thin adapters over the pages' filters and `exports`.

Each export takes the GET parameters of its page (the same form), streams the rows in chunks
and is recorded as an `export.csv` audit event when the stream ends (see compliance/exports.py).
Compliance officers and risk admins only: analysts get 403, as for the audit page.
"""

from __future__ import annotations

from typing import Any, Iterator

from django import forms
from django.db.models import Prefetch, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _
from django.views import View

from accounts.models import Consent, ConsentEvent
from decisions.models import CreditDecision
from riskops.core.audit import normalise
from riskops.core.roles import COMPLIANCE, RISK_ADMIN
from riskops.core.views import RoleRequiredMixin

from . import filters as page_filters
from .audit_selectors import AuditFilterForm, export_rows as audit_export_rows
from .exports import ExportRecord, csv_response, stream_queryset

EXPORT_ROLES = (COMPLIANCE, RISK_ADMIN)
CHUNK = 2000


def _codes(reasons: Any) -> str:
    """Reason codes of a decision or notice (`[{"code": ...}]` or plain strings), `;`-separated."""
    out = []
    for reason in reasons or []:
        out.append(str(reason.get("code", "")) if isinstance(reason, dict) else str(reason))
    return ";".join(out)


class DecisionExportFilterForm(page_filters._DateRangeForm):
    """Decisions with provenance: all of them, one customer's, or those that used one consent
    (the consent page's provenance list, `decisions_using_consent`)."""

    date_prefix = "decided"

    consent = forms.IntegerField(label=_("Consent"), required=False, min_value=1, help_text=_("Consent id: the decisions that used it"))
    customer = page_filters._customer_field()
    decided_from = page_filters._date_field(_("Decided from"))
    decided_to = page_filters._date_field(_("Decided to"))

    def clean_consent(self) -> Consent | None:
        pk = self.cleaned_data.get("consent")
        if pk is None:
            return None
        consent = Consent.objects.filter(pk=pk).first()
        if consent is None:
            raise forms.ValidationError(_("No consent with this id."))
        return consent


def decision_export_queryset(cleaned_data: dict[str, Any]) -> QuerySet[CreditDecision]:
    d = cleaned_data
    if d.get("consent"):
        qs = page_filters.decisions_using_consent(d["consent"])
    else:
        qs = CreditDecision.objects.select_related("customer", "snapshot", "policy_version").order_by("-decided_at", "-id")
    if d.get("customer"):
        qs = qs.filter(customer__external_id=d["customer"])
    qs = page_filters._date_range(qs, "decided_at", d.get("decided_from"), d.get("decided_to"))
    # Prefetched per chunk of the iterator (Django runs the prefetch for each chunk_size batch).
    return qs.select_related("override").prefetch_related(
        Prefetch("snapshot__consents_used", queryset=Consent.objects.only("id", "purpose", "state").order_by("id"))
    )


def _decision_row(d: CreditDecision) -> list[Any]:
    snap = d.snapshot
    consents = list(snap.consents_used.all()) if snap else []
    return [
        d.pk,
        d.decided_at,
        d.customer.external_id,
        d.trigger,
        d.access,
        d.limit_amount,
        d.previous_access,
        d.previous_limit,
        d.model_access,
        d.model_limit,
        _codes(d.reasons),
        d.policy_version.version,
        snap.pk if snap else "",
        snap.computed_at if snap else "",
        snap.score if snap else "",
        snap.band if snap else "",
        ";".join(snap.data_sources) if snap else "",
        ";".join(f"{c.pk}:{c.purpose}" for c in consents),
        d.override_id or "",
        d.override.state if d.override else "",
        d.override.reason if d.override else "",
    ]


def _consent_event_row(e: ConsentEvent) -> list[Any]:
    c = e.consent
    return [
        c.pk, c.customer.external_id, c.purpose, c.state, c.channel, c.disclosure.kind, c.disclosure.version,
        c.granted_at, c.expires_at, c.withdrawn_at, e.pk, e.kind, e.occurred_at, e.channel, e.evidence,
    ]


def _ack_row(a) -> list[Any]:
    return [
        a.pk, a.customer.external_id, a.disclosure.kind, a.disclosure.version, a.disclosure.content_hash,
        a.channel, a.shown_at, a.acknowledged_at,
    ]


def _notice_row(n) -> list[Any]:
    return [
        n.pk, n.created_at, n.customer.external_id, n.kind, n.language, n.decision_id, n.decision.access,
        n.decision.limit_amount, _codes(n.reasons), " | ".join(str(r.get("text", "")) for r in n.reasons or [] if isinstance(r, dict)),
        n.disclosure.version if n.disclosure else "", n.review_text,
    ]


def _rows(qs: QuerySet, to_row) -> Iterator[list[Any]]:
    source = stream_queryset(qs, chunk_size=CHUNK)
    try:
        for item in source:
            yield to_row(item)
    finally:
        source.close()  # ends the read transaction now, not when the garbage collector gets to it


EXPORTS: dict[str, dict[str, Any]] = {
    "audit": {
        "form": AuditFilterForm,
        "header": [
            "id", "occurred_at", "actor", "action", "action_label", "target", "target_type", "target_id", "before", "after", "prev_hash", "hash",
        ],
        "rows": lambda d: audit_export_rows(filters=d, chunk_size=CHUNK),
    },
    "consents": {
        "form": page_filters.ConsentFilterForm,
        "header": [
            "consent_id", "customer", "purpose", "state", "channel", "consent_text", "consent_text_version",
            "granted_at", "expires_at", "withdrawn_at", "event_id", "event", "event_at", "event_channel", "event_evidence",
        ],
        # The ledger: one row per consent event, consent by consent.
        "rows": lambda d: _rows(
            ConsentEvent.objects.filter(consent_id__in=page_filters.consent_queryset(d).order_by().values("pk"))
            .select_related("consent__customer", "consent__disclosure")
            .order_by("consent_id", "occurred_at", "id"),
            _consent_event_row,
        ),
    },
    "acknowledgements": {
        "form": page_filters.AcknowledgementFilterForm,
        "header": ["id", "customer", "document", "version", "content_hash", "channel", "shown_at", "acknowledged_at"],
        "rows": lambda d: _rows(page_filters.acknowledgement_queryset(d), _ack_row),
    },
    "decisions": {
        "form": DecisionExportFilterForm,
        "header": [
            "decision_id", "decided_at", "customer", "trigger", "access", "limit", "previous_access", "previous_limit",
            "model_access", "model_limit", "reason_codes", "policy_version", "snapshot_id", "snapshot_at", "score",
            "band", "data_sources", "consents_used", "override_id", "override_state", "override_reason",
        ],
        "rows": lambda d: _rows(decision_export_queryset(d), _decision_row),
    },
    "notices": {
        "form": page_filters.NoticeFilterForm,
        "header": [
            "notice_id", "created_at", "customer", "kind", "language", "decision_id", "access", "limit",
            "reason_codes", "reasons", "risk_disclosure_version", "review_text",
        ],
        "rows": lambda d: _rows(page_filters.notice_queryset(d).select_related("decision"), _notice_row),
    },
}

EXPORT_NAMES = {
    "audit": _("Audit trail"),
    "consents": _("Consents and their ledger"),
    "acknowledgements": _("Disclosure acknowledgements"),
    "decisions": _("Decisions with provenance"),
    "notices": _("Customer notices"),
}


def filters_for_audit(form: forms.Form) -> dict[str, Any]:
    """The filters as the audit event stores them: set values only, model objects by id."""
    out = {}
    for name, value in form.cleaned_data.items():
        if value in (None, "") or name == "page_size":
            continue
        out[name] = value.pk if hasattr(value, "pk") else value
    return normalise(out)


class ExportView(RoleRequiredMixin, View):
    allowed_roles = EXPORT_ROLES
    export: str = ""

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        spec = EXPORTS[self.export]
        form = spec["form"](request.GET)
        if not form.is_valid():
            # Nothing streamed, nothing recorded: the filter is wrong and the page says which.
            return render(
                request, "compliance/export_error.html", {"form": form, "export_name": EXPORT_NAMES[self.export]}, status=400
            )
        cleaned = form.cleaned_data if self.export != "audit" else form.filters()
        export = ExportRecord(actor=request.user, name=self.export, filters=filters_for_audit(form))
        return csv_response(filename=f"riskops-{self.export}", header=spec["header"], rows=spec["rows"](cleaned), export=export)


def export_view(name: str):
    return type(f"{name.title()}ExportView", (ExportView,), {"export": name}).as_view()
