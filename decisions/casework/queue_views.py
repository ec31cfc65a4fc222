"""The flagged-account queue and the triage actions: thin adapters over
`decisions.casework.queue_selectors` (reads) and `decisions.casework.services.triage` (writes).

Every action is a POST with CSRF that calls one service and answers with a redirect and a flash
message, or, for htmx, the changed alert's action block. Known domain errors become a flash or a
form error; a 403 from the service (role) becomes a 403 page, never a 500.
"""

from __future__ import annotations

from typing import Any, Callable

from django import forms
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _, gettext_lazy, ngettext
from django.views import View
from django.views.generic import TemplateView
from django_htmx.http import HttpResponseClientRedirect, HttpResponseClientRefresh

from accounts.models import Customer
from riskops.core.exceptions import DomainError, ValidationFailed
from riskops.core.roles import ANALYST, RISK_ADMIN
from riskops.core.views import RoleRequiredMixin
from riskops.core.domain_errors import answers_domain_errors, domain_error_flash

from decisions.models import RiskAlert
from .filters import ASSIGNEE_CHOICES, QueueFilters, rejected_params
from .queue_selectors import flagged_accounts, has_open_siblings, queue_links
from .services import bulk_triage, triage
from .views import profile_context, triage_form_context
from decisions.presentation.texts import rule_name

ACTING_ROLES = (ANALYST, RISK_ADMIN)


def customer_url(external_id: str) -> str:
    """The customer's profile page, or the queue while that page is not built."""
    try:
        return reverse("decisions:customer", kwargs={"external_id": external_id})
    except NoReverseMatch:
        return reverse("decisions:queue")


def _next_url(request: HttpRequest, default: str) -> str:
    target = request.POST.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return target
    return default


def _back_to(default: Callable[..., str]) -> Callable:
    """A refused action (a DomainError): its message, and back to `next` or to `default` (given the
    handler's request and URL arguments); a 403 stays a 403."""
    return answers_domain_errors(
        lambda self, request, *args, **kwargs: _next_url(request, default(request, *args, **kwargs)), forbid=True
    )


def _posted_user(request: HttpRequest, name: str) -> Any | None:
    """The user a form names by id; None when missing or unknown (the service says why)."""
    raw = (request.POST.get(name) or "").strip()
    return get_user_model().objects.filter(pk=int(raw)).first() if raw.isdigit() else None


def assignable_users() -> list[Any]:
    """People a case can be handed to: active analysts and risk admins (one query)."""
    User = get_user_model()
    return list(
        User.objects.filter(is_active=True, groups__name__in=ACTING_ROLES).distinct().order_by("username").only("id", "username")
    )


# The days field says what it does for each outcome: a dismissal keeps the rule quiet, a
# confirmation keeps the rule's action in force (the same `suppress_days` in the service).
DAYS_LABELS = {
    "dismiss": gettext_lazy("Don't raise this again for (days)"),
    "confirm": gettext_lazy("Keep its action in force for (days)"),
}
DAYS_HELP = {
    "dismiss": gettext_lazy("The same rule is not raised again for this long, unless its severity rises."),
    "confirm": gettext_lazy("The rule's action (review, suspend or close) stays on the account for this long."),
}


class AlertCloseForm(forms.Form):
    """Dismiss or confirm: a reason and a number of days, in the same form (not a pop-up). The
    note's length is the service's rule (triage.NOTE_MAX_CHARS), said as a form error."""

    note = forms.CharField(
        label=gettext_lazy("Note"),
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=gettext_lazy("Why: it stays on the case and in the audit trail."),
    )

    def __init__(self, *args: Any, max_days: int, verb: str = "dismiss", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The bound comes from the active policy, so the field is built per request.
        self.fields["suppress_days"] = forms.IntegerField(
            label=DAYS_LABELS.get(verb, DAYS_LABELS["dismiss"]),
            min_value=1,
            max_value=max_days,
            help_text=DAYS_HELP.get(verb, DAYS_HELP["dismiss"]),
        )


# ---------------------------------------------------------------------------------------------
# The queue


FILTER_LABELS = {
    "rule": gettext_lazy("Rule"),
    "severity": gettext_lazy("Severity"),
    "status": gettext_lazy("Status"),
    "assignee": gettext_lazy("Assignee"),
    "access": gettext_lazy("Access"),
    "band": gettext_lazy("Band"),
    "sla": gettext_lazy("SLA"),
    "sort": gettext_lazy("Sort"),
    "page": gettext_lazy("Page"),
    "page_size": gettext_lazy("Rows per page"),
}


def warn_rejected_filters(request: HttpRequest) -> None:
    """A filter value the queue does not know is named in a warning, then ignored."""
    rejected = rejected_params(request.GET)
    if rejected:
        named = ", ".join(f"{FILTER_LABELS[name]} “{value[:40]}”" for name, value in rejected)
        messages.warning(request, _("Ignored filter values the queue does not know: %(values)s.") % {"values": named})


class QueueView(RoleRequiredMixin, TemplateView):
    template_name = "decisions/queue.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        user = self.request.user
        warn_rejected_filters(self.request)
        filters = QueueFilters.from_params(self.request.GET)
        page = flagged_accounts(filters=filters, user=user)
        can_act = user.has_perm(triage.ACT_PERMISSION)
        can_assign = user.has_perm(triage.ASSIGN_PERMISSION)
        return super().get_context_data(
            page=page,
            filters=filters,
            **queue_links(filters=filters, page=page),
            can_act=can_act,
            can_assign=can_assign,
            assignees=assignable_users() if can_assign else [],
            assignee_choices=ASSIGNEE_CHOICES,
            here=self.request.get_full_path(),
            export_url=reverse("decisions:queue-export") + filters.query(page=1),
            bulk_form_id="bulk-assign" if can_assign else "bulk-actions",
            **kwargs,
        )


# ---------------------------------------------------------------------------------------------
# Actions


class TriageActionView(RoleRequiredMixin, View):
    """POST only; analysts and risk admins. Compliance reads the queue but gets 403 here."""

    allowed_roles = ACTING_ROLES
    http_method_names = ["post"]
    whole_account = False  # the action changes every open alert of the account (claim, assign…)

    def fail(self, request: HttpRequest, exc: DomainError, default_url: str) -> HttpResponse:
        domain_error_flash(request, exc, forbid=True)
        return redirect(_next_url(request, default_url))

    def done(self, request: HttpRequest, message: str, default_url: str, *, alert: RiskAlert | None = None) -> HttpResponse:
        if request.htmx and alert is not None and self.whole_account and has_open_siblings(alert):
            # Claim, give back and assign change every open alert of the account: one swapped
            # block would leave its siblings showing the old state, so htmx reloads the page.
            messages.success(request, message)
            return HttpResponseClientRefresh()
        if request.htmx and alert is not None:
            # htmx swaps the alert's action block in place; the message travels with it.
            context = {
                "alert": RiskAlert.objects.select_related("assigned_to", "customer").get(pk=alert.pk),
                "can_act": True,
                "flash": message,
                **triage_form_context(),
            }
            return render(request, "decisions/_alert_actions.html", context)
        messages.success(request, message)
        return redirect(_next_url(request, default_url))


class AlertActionView(TriageActionView):
    verb = ""

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        alert = get_object_or_404(RiskAlert.objects.select_related("customer"), pk=pk)
        default_url = customer_url(alert.customer.external_id)
        try:
            alert, message = self.act(request, alert)
        except ValidationFailed as exc:
            return self.invalid(request, alert, exc, default_url)
        except DomainError as exc:
            return self.fail(request, exc, default_url)
        return self.done(request, message, default_url, alert=alert)

    def act(self, request: HttpRequest, alert: RiskAlert) -> tuple[RiskAlert, str]:  # pragma: no cover - abstract
        raise NotImplementedError

    def invalid(self, request: HttpRequest, alert: RiskAlert, exc: ValidationFailed, default_url: str) -> HttpResponse:
        return self.fail(request, exc, default_url)


class AlertClaimView(AlertActionView):
    whole_account = True

    def act(self, request, alert):
        alert = triage.alert_claim(alert=alert, actor=request.user)
        return alert, _("You are now working on %(rule)s for %(customer)s.") % {
            "rule": rule_name(alert.rule),
            "customer": alert.customer.external_id,
        }


class AlertUnassignView(AlertActionView):
    whole_account = True

    def act(self, request, alert):
        alert = triage.alert_unassign(alert=alert, actor=request.user)
        return alert, _("%(rule)s for %(customer)s is back in the queue.") % {
            "rule": rule_name(alert.rule),
            "customer": alert.customer.external_id,
        }


class AlertAssignView(AlertActionView):
    whole_account = True

    def act(self, request, alert):
        assignee = _posted_user(request, "assignee")
        alert = triage.alert_assign(alert=alert, assignee=assignee, actor=request.user)
        return alert, _("%(rule)s for %(customer)s assigned to %(user)s.") % {
            "rule": rule_name(alert.rule),
            "customer": alert.customer.external_id,
            "user": alert.assigned_to.get_username(),
        }


class AlertCloseView(AlertActionView):
    """Dismiss or confirm. Bad input re-renders the form with errors next to the fields (what was
    typed is kept) and writes nothing."""

    service = staticmethod(triage.alert_dismiss)
    success = ""

    def form(self, request: HttpRequest) -> AlertCloseForm:
        return AlertCloseForm(request.POST, max_days=triage.suppression_bounds().max_days, verb=self.verb)

    def done(self, request, message, default_url, *, alert=None):
        if request.POST.get("then") == "next":
            # "Dismiss, next case": the triage is done, straight on to the next case in the
            # queue's order (or back to the queue, saying there is none).
            messages.success(request, message)
            return open_next_case(request, QueueFilters())
        return super().done(request, message, default_url, alert=alert)

    def act(self, request, alert):
        form = self.form(request)
        if not form.is_valid():
            field, errors = next(iter(form.errors.items()))
            raise ValidationFailed(" ".join(errors), field=field)
        alert = self.service(
            alert=alert, actor=request.user, note=form.cleaned_data["note"], suppress_days=form.cleaned_data["suppress_days"]
        )
        return alert, self.success % {
            "rule": rule_name(alert.rule),
            "customer": alert.customer.external_id,
            "date": alert.suppressed_until.date().isoformat(),
        }

    def invalid(self, request, alert, exc, default_url):
        form = self.form(request)
        form.is_valid()
        if exc.field in form.fields and not form.has_error(exc.field):
            form.add_error(exc.field, exc.message)
        elif exc.field not in form.fields:
            form.add_error(None, exc.message)
        context = {
            "alert": alert,
            "can_act": True,
            "close_form": form,
            "verb": self.verb,
            "next": _next_url(request, default_url),
            **triage_form_context(),
        }
        template = "decisions/_alert_actions.html" if request.htmx else "decisions/alert_close.html"
        # htmx swaps only 2xx answers by default; a full page says 400 to anything else.
        return render(request, template, context, status=200 if request.htmx else 400)


class AlertDismissView(AlertCloseView):
    verb = "dismiss"
    service = staticmethod(triage.alert_dismiss)
    success = gettext_lazy(
        "%(rule)s for %(customer)s dismissed as a false positive; it is not raised again before %(date)s unless its severity rises."
    )


class AlertConfirmView(AlertCloseView):
    verb = "confirm"
    service = staticmethod(triage.alert_confirm)
    success = gettext_lazy("%(rule)s for %(customer)s confirmed; its action stays in force until %(date)s.")


def open_next_case(request: HttpRequest, filters: QueueFilters) -> HttpResponse:
    """Claim the next case (triage.case_next) and open it; with none waiting, back to the queue
    with a message. htmx is told to load the page (HX-Redirect) rather than swap a block."""
    queue_url = reverse("decisions:queue") + filters.query(page=1)
    try:
        alert = triage.case_next(actor=request.user, filters=filters)
    except DomainError as exc:
        domain_error_flash(request, exc, forbid=True)
        alert, target = None, queue_url
    else:
        if alert is None:
            messages.info(
                request,
                _("No unassigned case matches these filters.") if filters.is_filtered
                else _("No unassigned case is waiting: the queue is clear for now."),
            )
            target = queue_url
        else:
            messages.success(request, _("Next case: %(customer)s is yours.") % {"customer": alert.customer.external_id})
            target = customer_url(alert.customer.external_id)
    return HttpResponseClientRedirect(target) if request.htmx else redirect(target)


class QueueNextView(TriageActionView):
    """`n` in the queue, and "Done, next case" on the profile: claim the most urgent unassigned
    account within the current filters (the queue's default order: severity, SLA deadline, age),
    open it."""

    def post(self, request: HttpRequest) -> HttpResponse:
        return open_next_case(request, QueueFilters.from_params(request.POST))


class QueueAssignView(TriageActionView):
    """Bulk assignment from the queue's checkboxes (risk admins; the service checks)."""

    @_back_to(lambda request: reverse("decisions:queue"))
    def post(self, request: HttpRequest) -> HttpResponse:
        default_url = reverse("decisions:queue")
        ids = [int(x) for value in request.POST.getlist("alert_ids") for x in value.split(",") if x.strip().isdigit()]
        assignee = _posted_user(request, "assignee")
        changed = triage.alerts_bulk_assign(alert_ids=ids, assignee=assignee, actor=request.user)
        accounts = len({a.customer_id for a in changed})
        messages.success(
            request,
            _("%(accounts)d account(s) assigned to %(user)s.") % {"accounts": accounts, "user": assignee.get_username()},
        )
        return redirect(_next_url(request, default_url))


def _posted_alert_ids(request: HttpRequest) -> list[int]:
    return [int(x) for value in request.POST.getlist("alert_ids") for x in value.split(",") if x.strip().isdigit()]


class QueueDismissView(TriageActionView):
    """Bulk dismiss from the queue's checkboxes, one note for all (the service checks each alert)."""

    @_back_to(lambda request: reverse("decisions:queue"))
    def post(self, request: HttpRequest) -> HttpResponse:
        changed = bulk_triage.alerts_bulk_dismiss(
            alert_ids=_posted_alert_ids(request), actor=request.user,
            note=request.POST.get("note", ""), suppress_days=request.POST.get("suppress_days"),
        )
        accounts = len({a.customer_id for a in changed})
        messages.success(
            request, ngettext("%(n)d account dismissed.", "%(n)d accounts dismissed.", accounts) % {"n": accounts}
        )
        return redirect(_next_url(request, reverse("decisions:queue")))


class NoteAddView(TriageActionView):
    """Add a case note. A note the service refuses (too long) is shown again on the profile with
    the error next to the field and what was typed kept (400); a blank one is a flash."""

    @_back_to(lambda request, external_id: customer_url(external_id))
    def post(self, request: HttpRequest, external_id: str) -> HttpResponse:
        customer = get_object_or_404(Customer, external_id=external_id)
        default_url = customer_url(customer.external_id)
        raw = request.POST.get("alert") or ""
        alert = RiskAlert.objects.filter(pk=int(raw)).first() if raw.isdigit() else None
        body = request.POST.get("body", "")
        try:
            triage.note_add(customer=customer, actor=request.user, body=body, alert=alert)
        except ValidationFailed as exc:
            if exc.field != "body" or not body.strip():
                raise
            context = {**profile_context(request, customer.external_id), "note_body": body, "note_error": exc.message}
            return render(request, "decisions/customer.html", context, status=400)
        messages.success(request, _("Note added to %(customer)s.") % {"customer": customer.external_id})
        return redirect(_next_url(request, default_url))


class CustomerRecomputeView(TriageActionView):
    @_back_to(lambda request, external_id: customer_url(external_id))
    def post(self, request: HttpRequest, external_id: str) -> HttpResponse:
        customer = get_object_or_404(Customer, external_id=external_id)
        default_url = customer_url(customer.external_id)
        triage.customer_recompute_request(customer=customer, actor=request.user)
        messages.success(request, _("Recompute requested for %(customer)s.") % {"customer": customer.external_id})
        return redirect(_next_url(request, default_url))
