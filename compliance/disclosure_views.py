"""Disclosures: each document's versions, effective dates and hashes, acknowledgement records, and
coverage of the version in force among customers holding a line. Read-only."""

from __future__ import annotations

from typing import Any

from .consent_views import ComplianceView
from .filters import AcknowledgementFilterForm, acknowledgement_queryset
from .selectors import PAGE_SIZES, disclosure_summaries, page_of


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
