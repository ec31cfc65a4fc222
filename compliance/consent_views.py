"""Compliance landing page and the consent pages: search, one customer's ledger, one consent's
provenance. Read-only, for compliance officers and risk admins (analysts get 403)."""

from __future__ import annotations

from typing import Any

from django.views.generic import TemplateView

from riskops.core.roles import COMPLIANCE, RISK_ADMIN
from riskops.core.views import RoleRequiredMixin

from .charts import coverage_chart, weekly_chart
from .filters import ConsentFilterForm, consent_queryset
from .selectors import (
    PAGE_SIZES,
    SCORING_PURPOSES,
    book_figures,
    consent_events,
    consent_or_404,
    customer_consent_ledger,
    customer_or_404,
    page_of,
    snapshots_using_consent,
    withdrawal_proof,
)

COMPLIANCE_ROLES = (COMPLIANCE, RISK_ADMIN)


class ComplianceView(RoleRequiredMixin, TemplateView):
    allowed_roles = COMPLIANCE_ROLES


class IndexView(ComplianceView):
    template_name = "compliance/index.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        figures = book_figures()
        return super().get_context_data(figures=figures, charts=[coverage_chart(figures), weekly_chart(figures)], **kwargs)


class ConsentListView(ComplianceView):
    template_name = "compliance/consents.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        form = ConsentFilterForm(self.request.GET or None)
        valid = form.is_valid() if self.request.GET else True
        data = form.cleaned_data if self.request.GET and valid else {}
        page = page_of(consent_queryset(data), self.request.GET) if valid else None
        filtered = any(v not in ("", None) for k, v in data.items())
        return super().get_context_data(form=form, page=page, filtered=filtered, page_sizes=PAGE_SIZES, **kwargs)


class CustomerConsentsView(ComplianceView):
    template_name = "compliance/customer_consents.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        customer = customer_or_404(self.kwargs["external_id"])
        return super().get_context_data(customer=customer, consents=customer_consent_ledger(customer=customer), **kwargs)


class ConsentDetailView(ComplianceView):
    template_name = "compliance/consent.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        consent = consent_or_404(self.kwargs["pk"])
        return super().get_context_data(
            consent=consent,
            events=consent_events(consent=consent),
            page=page_of(snapshots_using_consent(consent=consent), self.request.GET),
            proof=withdrawal_proof(consent=consent),
            gates_scoring=consent.purpose in SCORING_PURPOSES,
            page_sizes=PAGE_SIZES,
            **kwargs,
        )
