"""The data-subject report: a printable page and a JSON download, both audited (`subject.report`)."""

from __future__ import annotations

import re
from typing import Any

from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views import View

from accounts.models import Customer
from riskops.core.roles import COMPLIANCE, RISK_ADMIN
from riskops.core.views import RoleRequiredMixin

from .filters import SubjectLookupForm
from .services.report import subject_report_json, subject_report_page, subject_report_record

REPORT_ROLES = (COMPLIANCE, RISK_ADMIN)


def _safe(name: str) -> str:
    """The external id as a file name: letters, digits, dash, dot and underscore only."""
    return re.sub(r"[^A-Za-z0-9._-]", "_", name)


class SubjectReportView(RoleRequiredMixin, View):
    allowed_roles = REPORT_ROLES

    def get(self, request: HttpRequest, external_id: str) -> HttpResponse:
        customer = get_object_or_404(Customer, external_id=external_id)
        subject_report_record(actor=request.user, customer=customer, fmt="html")
        context: dict[str, Any] = {"customer": customer, **subject_report_page(customer=customer, viewer=request.user)}
        return render(request, "compliance/report.html", context)


class SubjectReportJSONView(RoleRequiredMixin, View):
    allowed_roles = REPORT_ROLES

    def get(self, request: HttpRequest, external_id: str) -> StreamingHttpResponse:
        customer = get_object_or_404(Customer, external_id=external_id)
        # Recorded before the first byte: asking for the report is what the trail must show,
        # whether or not the download completes.
        subject_report_record(actor=request.user, customer=customer, fmt="json")
        body = (chunk.encode() for chunk in subject_report_json(customer=customer, viewer=request.user))
        response = StreamingHttpResponse(body, content_type="application/json; charset=utf-8")
        stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
        response["Content-Disposition"] = f'attachment; filename="subject-report-{_safe(customer.external_id)}-{stamp}.json"'
        response["Cache-Control"] = "no-store"
        return response


class SubjectReportLookupView(RoleRequiredMixin, View):
    """GET ?customer=<external id> (the compliance landing page's form) → that customer's report."""

    allowed_roles = REPORT_ROLES

    def get(self, request: HttpRequest) -> HttpResponse:
        form = SubjectLookupForm(request.GET)
        if form.is_valid():
            return redirect(reverse("compliance:subject-report", args=[form.cleaned_data["customer"]]))
        return render(request, "compliance/report_lookup.html", {"form": form}, status=400)
