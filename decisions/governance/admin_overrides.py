"""The Override admin: where risk admins decide overrides (four eyes), and may request one.

Nothing here writes around the services (decisions/governance/services/overrides.py): approve, reject and
revoke are list actions that go through a confirmation page with a note and then call the
service per override (a refusal, such as approving one's own request, is shown as a message and
changes nothing); the add page is a request form that calls `override_request`, so a request
made here lands as pending like one from the profile. There is no change form editing (the
change page is read-only) and no delete.

The list shows each customer's effective and model decision from the credit line, joined in the
list's one query (`list_select_related`), so a page costs the same queries for 1 row or 100.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import PermissionDenied
from django.db.models import Model, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext as _, gettext_lazy

from accounts.models import Customer
from riskops.core.admin import IndexedSearchMixin
from riskops.core.exceptions import DomainError
from riskops.core.roles import RISK_ADMIN, has_role
from riskops.core.domain_errors import domain_error_on_form

from decisions.models import CreditLine, Override
from .override_selectors import override_target
from .override_views import OverrideRequestForm
from decisions.presentation.formats import money
from .services.overrides import category_label, override_approve, override_bounds, override_reject, override_request, override_revoke
from decisions.presentation.texts import access_name

EXPIRING_DAYS = 7


class ExpiringSoonFilter(admin.SimpleListFilter):
    """Overrides in force that end within a week: the ones to renew (as a new request) or let go."""

    title = gettext_lazy("expiring")
    parameter_name = "expiring"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("7d", gettext_lazy("within 7 days"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() != "7d":
            return queryset
        now = timezone.now()
        # override_state_expiry_idx (state, expires_at)
        return queryset.filter(state=Override.State.APPROVED, expires_at__gt=now, expires_at__lte=now + timedelta(days=EXPIRING_DAYS))


class RequesterFilter(admin.RelatedOnlyFieldListFilter):
    title = gettext_lazy("requester")


class ApproverFilter(admin.RelatedOnlyFieldListFilter):
    title = gettext_lazy("approver (decided by)")


class NoteForm(forms.Form):
    note = forms.CharField(
        label=gettext_lazy("Note"),
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        max_length=2000,
        help_text=gettext_lazy("Kept on the override and in the audit trail."),
    )

    def __init__(self, *args: Any, required: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["note"].required = required


class AdminOverrideRequestForm(OverrideRequestForm):
    """The profile's request form, plus the customer named by id."""

    customer = forms.CharField(label=gettext_lazy("Customer id"), max_length=64, help_text=gettext_lazy("The customer's external id, e.g. C000123."))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", "id_%s")
        super().__init__(*args, **kwargs)
        self.order_fields(["customer", "access", "limit_amount", "reason_category", "reason", "days"])

    def clean_customer(self) -> Customer:
        external_id = self.cleaned_data["customer"].strip()
        customer = Customer.objects.filter(external_id=external_id).first()
        if customer is None:
            raise forms.ValidationError(_("No customer with the id %(id)s.") % {"id": external_id})
        return customer


ACTIONS = {
    # verb: (service, note required, title, button, success message)
    "approve": (
        override_approve, False, gettext_lazy("Approve overrides"), gettext_lazy("Yes, approve"),
        gettext_lazy("Override #%(id)s approved: in force for %(customer)s until %(until)s."),
    ),
    "reject": (
        override_reject, True, gettext_lazy("Reject overrides"), gettext_lazy("Yes, reject"),
        gettext_lazy("Override #%(id)s for %(customer)s rejected."),
    ),
    "revoke": (
        override_revoke, True, gettext_lazy("Revoke overrides"), gettext_lazy("Yes, revoke"),
        gettext_lazy("Override #%(id)s revoked: %(customer)s is back to the model's decision."),
    ),
}


def _line(obj: Override) -> CreditLine | None:
    try:
        return obj.customer.credit_line  # joined by list_select_related: no query
    except CreditLine.DoesNotExist:
        return None


@admin.register(Override)
class OverrideAdmin(IndexedSearchMixin, admin.ModelAdmin):
    list_display = (
        "id",
        "customer_link",
        "target",
        "state",
        "category",
        "requested_by",
        "decided_by",
        "expires_at",
        "effective_decision",
        "model_decision",
    )
    list_display_links = ("id",)
    # One query for the page: the customer, its line (effective and model decision) and both people.
    list_select_related = ("customer__credit_line", "requested_by", "decided_by")
    list_filter = ("state", ("requested_by", RequesterFilter), ("decided_by", ApproverFilter), ExpiringSoonFilter)
    search_fields = ("customer__external_id", "id")
    search_help_text = gettext_lazy("A customer id, or an override number.")
    ordering = ("-created_at", "-id")
    list_per_page = 50
    actions = ["approve", "reject", "revoke"]
    fields = (
        "customer",
        ("access", "limit"),
        ("reason_category", "reason"),
        ("state", "expires_at"),
        ("requested_by", "created_at"),
        ("decided_by", "decided_at", "decision_note"),
        ("revoked_by", "revoked_at", "revoke_note"),
    )

    readonly_fields = ("limit",)
    change_form_template = "admin/decisions/override/change_form.html"

    # --- permissions: read-only rows, decisions only through the actions ----------------------

    def has_add_permission(self, request: HttpRequest) -> bool:
        return has_role(request.user, RISK_ADMIN) and super().has_add_permission(request)

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_decide_permission(self, request: HttpRequest) -> bool:
        return has_role(request.user, RISK_ADMIN)

    def save_model(self, request: HttpRequest, obj: Override, form: Any, change: bool) -> None:
        raise PermissionDenied("Overrides change only through decisions.governance.services.overrides.")

    def delete_model(self, request: HttpRequest, obj: Override) -> None:
        raise PermissionDenied("Overrides are evidence: they are never deleted.")

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet) -> None:
        raise PermissionDenied("Overrides are evidence: they are never deleted.")

    # --- list columns ---------------------------------------------------------------------------

    @admin.display(description=gettext_lazy("customer"), ordering="customer__external_id")
    def customer_link(self, obj: Override) -> str:
        url = reverse("decisions:customer", kwargs={"external_id": obj.customer.external_id})
        return format_html('<a href="{}" class="mono">{}</a>', url, obj.customer.external_id)

    @admin.display(description=gettext_lazy("target"))
    def target(self, obj: Override) -> str:
        return override_target(obj)

    @admin.display(description=gettext_lazy("reason"))
    def category(self, obj: Override) -> str:
        return category_label(obj.reason_category)

    @admin.display(description=gettext_lazy("effective now"))
    def effective_decision(self, obj: Override) -> str:
        line = _line(obj)
        return f"{access_name(line.access)} · {money(line.limit_amount)}" if line else "—"

    @admin.display(description=gettext_lazy("model's decision"))
    def model_decision(self, obj: Override) -> str:
        line = _line(obj)
        return f"{access_name(line.model_access)} · {money(line.model_limit)}" if line else "—"

    @admin.display(description=gettext_lazy("limit"))
    def limit(self, obj: Override) -> str:
        return money(obj.limit_amount) if obj.limit_amount is not None else _("model’s limit")

    # --- the override's own page: titled with the customer, Approve and Reject for a second admin ---

    def change_view(self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: dict | None = None) -> HttpResponse:
        override = Override.objects.select_related("customer").filter(pk=object_id).first() if object_id.isdigit() else None
        extra: dict[str, Any] = dict(extra_context or {})
        if override is not None:
            extra["title"] = _("Override #%(id)s for %(customer)s") % {"id": override.pk, "customer": override.customer.external_id}
            # The buttons post the list's own actions: the same confirmation page, note and services.
            pending = override.state == Override.State.PENDING
            may_decide = self.has_decide_permission(request)
            extra["decide"] = {
                "approve": pending and may_decide and override.requested_by_id != request.user.pk,
                "reject": pending and may_decide and override.requested_by_id != request.user.pk,
                "own_request": pending and override.requested_by_id == request.user.pk,
                "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            }
        return super().change_view(request, object_id, form_url, extra_context=extra)

    # --- actions: a confirmation page with a note, then the service per override ----------------

    @admin.action(description=gettext_lazy("Approve the selected overrides…"), permissions=["decide"])
    def approve(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
        return self._decide(request, queryset, "approve")

    @admin.action(description=gettext_lazy("Reject the selected overrides…"), permissions=["decide"])
    def reject(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
        return self._decide(request, queryset, "reject")

    @admin.action(description=gettext_lazy("Revoke the selected overrides…"), permissions=["decide"])
    def revoke(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
        return self._decide(request, queryset, "revoke")

    def _decide(self, request: HttpRequest, queryset: QuerySet, verb: str) -> HttpResponse | None:
        service, note_required, title, button, success = ACTIONS[verb]
        overrides = list(queryset.select_related("customer__credit_line", "requested_by", "decided_by").order_by("pk"))
        if request.POST.get("confirm") == "yes":
            form = NoteForm(request.POST, required=note_required)
            if form.is_valid():
                for override in overrides:
                    try:
                        done = service(override=override, actor=request.user, note=form.cleaned_data["note"])
                    except DomainError as exc:
                        self.message_user(request, f"#{override.pk}: {exc.message}", messages.ERROR)
                    else:
                        self.message_user(
                            request,
                            success % {
                                "id": done.pk,
                                "customer": override.customer.external_id,
                                "until": timezone.localtime(done.expires_at).strftime("%Y-%m-%d %H:%M"),
                            },
                            messages.SUCCESS,
                        )
                return None  # back to the list, with the messages
        else:
            form = NoteForm(required=note_required)
        rows = [
            {
                "override": o,
                "target": override_target(o),
                "category": category_label(o.reason_category),
                "effective": self.effective_decision(o),
                "model": self.model_decision(o),
                "own": verb != "revoke" and o.requested_by_id == request.user.pk,
            }
            for o in overrides
        ]
        context = {
            **self.admin_site.each_context(request),
            "title": title,
            "subtitle": None,
            "opts": self.model._meta,
            "verb": verb,
            "button": button,
            "rows": rows,
            "form": form,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            "media": self.media,
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, "admin/decisions/override/action_confirmation.html", context)

    # --- add: a request through the service --------------------------------------------------

    def add_view(self, request: HttpRequest, form_url: str = "", extra_context: dict | None = None) -> HttpResponse:
        if not self.has_add_permission(request):
            raise PermissionDenied
        bounds = override_bounds()
        initial = {"customer": request.GET.get("customer", "")}
        form = AdminOverrideRequestForm(request.POST or None, bounds=bounds, initial=initial)
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                override = override_request(
                    customer=data["customer"], actor=request.user, access=data["access"], limit_amount=data["limit_amount"],
                    reason_category=data["reason_category"], reason=data["reason"], days=data["days"],
                )
            except DomainError as exc:
                domain_error_on_form(form, exc)
            else:
                self.message_user(
                    request,
                    _("Override #%(id)s requested for %(customer)s; a second risk admin must approve it.")
                    % {"id": override.pk, "customer": data["customer"].external_id},
                    messages.SUCCESS,
                )
                return HttpResponseRedirect(reverse("admin:decisions_override_changelist"))
        context = {
            **self.admin_site.each_context(request),
            "title": _("Request an override"),
            "subtitle": None,
            "opts": self.model._meta,
            "form": form,
            "has_view_permission": self.has_view_permission(request),
            "media": self.media + form.media,
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, "admin/decisions/override/request_form.html", context, status=400 if form.errors else 200)
