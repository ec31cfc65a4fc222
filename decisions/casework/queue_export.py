"""The CSV export of the filtered queue (`/queue/export.csv`): one line per flagged account, as
the page shows it (phone masked), streamed and audited by the shared exports
(riskops/core/csv_exports.py: `export.start` before the first byte, `export.csv` at the end)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Iterator

from django.http import HttpRequest, HttpResponse
from django.views import View

from riskops.core.csv_exports import ExportRecord, csv_response
from riskops.core.views import RoleRequiredMixin

from .filters import QueueFilters
from .queue_selectors import flagged_accounts

EXPORT_NAME = "queue"
# Accounts read per page of the export: each page costs the queue page's fixed handful of queries.
ROWS_PER_PAGE = 500
HEADER = [
    "customer", "phone_masked", "max_severity", "open_alerts", "rules", "access", "band",
    "limit_amount", "oldest_raised_at", "age", "sla_due_at", "sla_breached", "assignees",
]


def queue_export_rows(*, filters: QueueFilters, user: Any) -> Iterator[list[Any]]:
    """Every account of the filtered queue, in the page's order, page after page."""
    number = 1
    while True:
        page = flagged_accounts(filters=replace(filters, page=number, page_size=ROWS_PER_PAGE), user=user)
        for row in page.rows:
            yield [
                row.external_id, row.phone_masked, row.max_severity, row.alert_count,
                " ".join(code for code, _name in row.rules), row.access or "", row.band or "",
                row.limit_amount, row.oldest_raised_at, row.age_words, row.due_at, row.overdue is not None,
                " ".join(person.get_username() for person in row.assignees),
            ]
        if number >= page.num_pages:
            return
        number += 1


class QueueExportView(RoleRequiredMixin, View):
    """Whoever reads the queue may export what it shows (masked, as on the page)."""

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        filters = QueueFilters.from_params(request.GET)
        audited = filters.params(page=1)
        export = ExportRecord(actor=request.user, name=EXPORT_NAME, filters=audited)
        return csv_response(
            filename="riskops-queue", header=HEADER, rows=queue_export_rows(filters=filters, user=request.user), export=export
        )
