from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, redirect
from django.views import View
from django.views.generic import TemplateView

from riskops.core.exceptions import DomainError
from riskops.core.views import RoleRequiredMixin

from .models import RecomputeRun, Trigger
from .selectors import recompute_runs, run_progress
from .services.runs import recompute_run_start


class RunListView(RoleRequiredMixin, TemplateView):
    template_name = "decisions/runs.html"

    def get_context_data(self, **kwargs):
        runs = list(recompute_runs())
        return super().get_context_data(
            runs=[(run, run_progress(run=run)) for run in runs],
            can_start=self.request.user.has_perm("decisions.start_recomputerun"),
            **kwargs,
        )


class RunStartView(RoleRequiredMixin, View):
    def post(self, request):
        if not request.user.has_perm("decisions.start_recomputerun"):
            raise PermissionDenied("Only a risk admin can start a full recompute.")
        try:
            run = recompute_run_start(trigger=Trigger.MANUAL, actor=request.user)
        except DomainError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, f"Run {run.pk} started over {run.total_customers:,} customers.")
        return redirect("decisions:runs")


class RunProgressView(RoleRequiredMixin, View):
    def get(self, request, pk: int):
        return JsonResponse(run_progress(run=get_object_or_404(RecomputeRun, pk=pk)))


class OverviewView(RoleRequiredMixin, TemplateView):
    """The book at a glance: KPIs and book-wide charts from the daily aggregates."""

    template_name = "decisions/overview.html"

    def get_context_data(self, **kwargs):
        from .overview_selectors import book_overview

        return super().get_context_data(overview=book_overview(), **kwargs)


class CustomerProfileView(RoleRequiredMixin, TemplateView):
    """The risk profile: why the customer stands where they stand. Compliance reads it; only
    analysts and risk admins see the action controls (the action URLs refuse them anyway)."""

    template_name = "decisions/customer.html"

    def get_context_data(self, **kwargs):
        from django.template import TemplateDoesNotExist
        from django.template.loader import get_template
        from django.urls import NoReverseMatch, reverse

        from riskops.core.roles import ANALYST, RISK_ADMIN, has_role

        from .profile_selectors import customer_profile, more_params

        show = {k: v for k in ("decisions", "alerts", "notes") if (v := self.request.GET.get(k, "")).isdigit()}
        profile = customer_profile(external_id=self.kwargs["external_id"], show={k: int(v) for k, v in show.items()})
        external_id = profile.customer.external_id

        def url_or_none(name: str) -> str | None:
            # The triage URLs and the alert-actions partial belong to the queue; the profile
            # shows their controls once they exist.
            try:
                return reverse(name, kwargs={"external_id": external_id})
            except NoReverseMatch:
                return None

        try:
            get_template("decisions/_alert_actions.html")
            has_alert_actions = True
        except TemplateDoesNotExist:
            has_alert_actions = False
        return super().get_context_data(
            profile=profile,
            can_act=has_role(self.request.user, ANALYST, RISK_ADMIN),
            note_url=url_or_none("decisions:note-add"),
            recompute_url=url_or_none("decisions:customer-recompute"),
            has_alert_actions=has_alert_actions,
            more={k: more_params({k: int(show.get(k, 0) or 0)}, k) for k in ("decisions", "alerts", "notes")},
            **kwargs,
        )
