"""The audit trail page, one event's page and the verification button: thin adapters over
`compliance.audit_selectors` (reads) and `compliance.services.verification` (the one write)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views import View
from django.views.generic import TemplateView

from riskops.core.models import AuditAction, AuditEvent
from riskops.core.roles import COMPLIANCE, RISK_ADMIN
from riskops.core.views import RoleRequiredMixin
from riskops.core.domain_errors import answers_domain_errors

from .audit_selectors import AuditFilterForm, audit_page, field_diff, verification_status
from .audit_targets import target_names
from .services.verification import verification_request

AUDIT_ROLES = (COMPLIANCE, RISK_ADMIN)


def _cursor(raw: str | None) -> int | None:
    return int(raw) if raw and raw.isdigit() else None


class AuditTrailView(RoleRequiredMixin, TemplateView):
    allowed_roles = AUDIT_ROLES
    template_name = "compliance/audit.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        form = AuditFilterForm(self.request.GET or None)
        filters = form.filters() if form.is_bound else {}
        size = (form.cleaned_data.get("page_size") if form.is_bound and form.is_valid() else None) or 50
        page = audit_page(
            filters=filters, before=_cursor(self.request.GET.get("before")), after=_cursor(self.request.GET.get("after")), size=size
        )
        base = AuditFilterForm(self.request.GET) if form.is_bound else AuditFilterForm()
        keep = {"page_size": size if size != 50 else None}
        return {
            **super().get_context_data(**kwargs),
            "form": form,
            "filtered": bool(filters),
            "page": page,
            "status": verification_status(),
            "newer_url": f"?{base.query(after=page.newer_cursor, **keep)}" if page.newer_cursor else "",
            "older_url": f"?{base.query(before=page.older_cursor, **keep)}" if page.older_cursor else "",
            "export_query": base.query() if form.is_bound else "",
            "action_labels": dict(AuditAction.choices),
            "rows": _named_rows(page.events),
        }


def _named_rows(events: list[AuditEvent]) -> list[dict[str, Any]]:
    """Each event with its action label and its target in words (one query per target type)."""
    labels = dict(AuditAction.choices)
    names = target_names((e.target_type, e.target_id) for e in events)
    return [
        {"event": e, "action_label": labels.get(e.action, e.action), "target": names[(e.target_type, str(e.target_id))]}
        for e in events
    ]


class AuditEventView(RoleRequiredMixin, TemplateView):
    allowed_roles = AUDIT_ROLES
    template_name = "compliance/audit_event.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        event = AuditEvent.objects.filter(pk=kwargs["pk"]).first()
        if event is None:
            raise Http404(_("No audit event with this id."))
        status = verification_status(history=1)
        rows = field_diff(event.before, event.after)
        return {
            **super().get_context_data(**kwargs),
            "event": event,
            "action_label": dict(AuditAction.choices).get(event.action, event.action),
            "target": target_names([(event.target_type, event.target_id)])[(event.target_type, str(event.target_id))],
            "changes": [r for r in rows if r.kind != "unchanged"],
            "unchanged": [r for r in rows if r.kind == "unchanged"],
            "is_broken_link": status.last is not None and status.last.broken_event_id == event.pk,
            "verification": status.last,
            "previous_id": AuditEvent.objects.filter(id__lt=event.pk).order_by("-id").values_list("id", flat=True).first(),
            "next_id": AuditEvent.objects.filter(id__gt=event.pk).order_by("id").values_list("id", flat=True).first(),
        }


class AuditVerifyView(RoleRequiredMixin, View):
    """POST: queue a walk of the chain (a Celery task); the page shows the result when it is done."""

    allowed_roles = AUDIT_ROLES

    @answers_domain_errors("compliance:audit")
    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        verification = verification_request(actor=request.user)
        verification.refresh_from_db()
        if verification.finished:
            messages.success(request, _("Verification #%(id)s finished: %(result)s.") % {"id": verification.pk, "result": verification.get_status_display()})
        else:
            messages.success(request, _("Verification #%(id)s is running; this page shows its result when it is done.") % {"id": verification.pk})
        return redirect(reverse("compliance:audit"))
