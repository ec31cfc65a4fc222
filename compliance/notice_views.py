"""Customer notices for compliance: every notice written with an adverse decision. Read-only."""

from __future__ import annotations

from typing import Any

from .consent_views import ComplianceView
from .filters import NoticeFilterForm, notice_queryset
from .selectors import PAGE_SIZES, page_of


class NoticeListView(ComplianceView):
    template_name = "compliance/notices.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        form = NoticeFilterForm(self.request.GET or None)
        valid = form.is_valid() if self.request.GET else True
        data = form.cleaned_data if self.request.GET and valid else {}
        page = page_of(notice_queryset(data), self.request.GET) if valid else None
        return super().get_context_data(
            form=form, page=page, page_sizes=PAGE_SIZES, filtered=any(v not in ("", None) for v in data.values()), **kwargs
        )
