"""Requesting an override from the risk profile: a thin adapter over
`decisions.governance.services.overrides.override_request`.

The form sits in the profile's overrides panel (templates/decisions/_overrides.html) and posts
here. Valid input → the service → a redirect to the profile with a flash message. Bad input
(the form's own checks or the service's `ValidationFailed`, which names the field) → the form
again on a page of its own, errors next to the fields and summarised on top, what was typed
kept, status 400, nothing written. Compliance reads the panel but gets 403 here.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _, gettext_lazy
from django.views import View

from accounts.models import Customer
from riskops.core.exceptions import DomainError, ValidationFailed
from riskops.core.roles import ANALYST, RISK_ADMIN, has_role
from riskops.core.views import RoleRequiredMixin
from riskops.core.domain_errors import domain_error_on_form

from decisions.models import Access
from .override_selectors import customer_override_panel, override_target
from .services.overrides import OverrideBounds, override_bounds, override_request
from decisions.presentation.texts import access_name

REQUESTING_ROLES = (ANALYST, RISK_ADMIN)


class OverrideRequestForm(forms.Form):
    """Target access and/or limit, a reason category from the policy plus free text, and days."""

    access = forms.ChoiceField(
        label=gettext_lazy("Target access"),
        required=False,
        help_text=gettext_lazy("Leave as it is to keep the model's access and override only the limit."),
    )
    limit_amount = forms.DecimalField(
        label=gettext_lazy("Target limit"),
        required=False,
        min_value=0,
        max_digits=14,
        decimal_places=2,
        help_text=gettext_lazy("Leave empty to keep the model's limit. Closed, suspended and not-offered lines carry none."),
    )
    reason_category = forms.ChoiceField(
        label=gettext_lazy("Reason category"), help_text=gettext_lazy("From the policy's list; say more in the reason.")
    )
    reason = forms.CharField(
        label=gettext_lazy("Reason"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=gettext_lazy("What the model does not know: the approver reads it, the audit trail keeps it."),
    )

    def __init__(self, *args: Any, bounds: OverrideBounds, **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", "override-%s")  # unique on the profile, next to other panels' forms
        super().__init__(*args, **kwargs)
        self.bounds = bounds
        # Built per request: the categories and the bound on days come from the active policy.
        self.fields["access"].choices = [("", _("Keep the model's access"))] + [(a.value, access_name(a.value)) for a in Access]
        self.fields["reason_category"].choices = [("", "—")] + bounds.category_choices()
        self.fields["days"] = forms.IntegerField(
            label=gettext_lazy("Days in force"),
            min_value=1,
            max_value=bounds.max_days,
            initial=bounds.default_days,
            help_text=_("1 to %(max)d days, counted from the request; then the model decides again.") % {"max": bounds.max_days},
        )
        self.order_fields(["access", "limit_amount", "reason_category", "reason", "days"])

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if not data.get("access") and data.get("limit_amount") is None and "access" not in self.errors and "limit_amount" not in self.errors:
            self.add_error("access", _("Name a target access, a limit, or both."))
        return data


def override_panel_context(request: HttpRequest, profile: Any, form: OverrideRequestForm | None = None) -> dict[str, Any]:
    """The profile's overrides panel: its rows, and the request form for those who may request."""
    can_request = has_role(request.user, *REQUESTING_ROLES)
    bounds = override_bounds() if can_request else None
    panel = customer_override_panel(customer_id=profile.customer.pk, line=profile.line)
    if can_request and form is None:
        form = OverrideRequestForm(bounds=bounds)
    return {
        "panel": panel,
        "can_request": can_request,
        "can_decide": has_role(request.user, RISK_ADMIN),
        "form": form if can_request else None,
        "bounds": bounds,
        "customer": profile.customer,
        "open_form": bool(form is not None and form.is_bound),
    }


class OverrideRequestView(RoleRequiredMixin, View):
    """GET: the request form on a page of its own; POST: request, then back to the profile."""

    allowed_roles = REQUESTING_ROLES
    http_method_names = ["get", "post"]
    template_name = "decisions/_overrides_request.html"

    def page(self, request: HttpRequest, customer: Customer, form: OverrideRequestForm, status: int = 200) -> HttpResponse:
        return render(request, self.template_name, {"customer": customer, "form": form, "bounds": form.bounds}, status=status)

    def get(self, request: HttpRequest, external_id: str) -> HttpResponse:
        customer = get_object_or_404(Customer, external_id=external_id)
        form = OverrideRequestForm(bounds=override_bounds())
        return self.page(request, customer, form)

    def post(self, request: HttpRequest, external_id: str) -> HttpResponse:
        customer = get_object_or_404(Customer, external_id=external_id)
        bounds = override_bounds()
        form = OverrideRequestForm(request.POST, bounds=bounds)
        if not form.is_valid():
            return self.page(request, customer, form, status=400)
        data = form.cleaned_data
        try:
            override = override_request(
                customer=customer,
                actor=request.user,
                access=data["access"],
                limit_amount=data["limit_amount"],
                reason_category=data["reason_category"],
                reason=data["reason"],
                days=data["days"],
            )
        except ValidationFailed as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
            return self.page(request, customer, form, status=400)
        except DomainError as exc:
            domain_error_on_form(form, exc, on_field=False)
            return self.page(request, customer, form, status=exc.status_code)
        messages.success(
            request,
            _("Override #%(id)s requested for %(customer)s (%(target)s); it waits for a risk admin's approval.")
            % {"id": override.pk, "customer": customer.external_id, "target": override_target(override)},
        )
        return redirect(reverse("decisions:customer", kwargs={"external_id": customer.external_id}) + "#h-overrides")
