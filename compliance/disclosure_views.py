"""Disclosures: each document's versions, effective dates and hashes, acknowledgement records, and
coverage of the version in force among customers holding a line. Read-only."""

from __future__ import annotations

from typing import Any

from .consent_views import ComplianceView
from .filters import AcknowledgementFilterForm, acknowledgement_queryset
from django.http import Http404

from accounts.models import DisclosureKind

from .selectors import PAGE_SIZES, disclosure_in_force, disclosure_summaries, missing_acknowledgements, page_of


class DisclosureListView(ComplianceView):
    template_name = "compliance/disclosures.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        form = AcknowledgementFilterForm(self.request.GET or None)
        valid = form.is_valid() if self.request.GET else True
        data = form.cleaned_data if self.request.GET and valid else {}
        page = page_of(acknowledgement_queryset(data), self.request.GET) if valid else None
        return super().get_context_data(
            summaries=disclosure_summaries(), form=form, page=page, page_sizes=PAGE_SIZES,
            filtered=any(v not in ("", None) for v in data.values()), **kwargs,
        )


class MissingAcknowledgementView(ComplianceView):
    """The customers behind "N missing": a line held, the version in force not acknowledged."""

    template_name = "compliance/disclosure_missing.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        kind = kwargs["kind"]
        if kind not in DisclosureKind.values or kind == DisclosureKind.CONSENT_TEXT:
            raise Http404("No such disclosure kind.")
        current = disclosure_in_force(kind)
        page = page_of(missing_acknowledgements(current), self.request.GET) if current else None
        return super().get_context_data(kind_label=DisclosureKind(kind).label, current=current, page=page, **kwargs)
