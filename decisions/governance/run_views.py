"""The recompute runs page: a risk admin starts a full recompute of the book and watches it.

Starting one takes two steps: the runs page's button opens a confirmation page saying what the
run covers (every customer, the active policy), and only its POST starts the run.
"""

from django.contrib import messages
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, redirect
from django.utils.translation import gettext as _, ngettext
from django.views import View
from django.views.generic import TemplateView

from riskops.core.domain_errors import answers_domain_errors
from riskops.core.forbidden import RoleRequired
from riskops.core.roles import RISK_ADMIN
from riskops.core.views import RoleRequiredMixin

from decisions.models import RecomputeRun, Trigger
from decisions.engine.selectors import recompute_runs, run_progress, run_start_preview
from decisions.engine.services.runs import recompute_run_start

START_PERMISSION = "decisions.start_recomputerun"


class RunListView(RoleRequiredMixin, TemplateView):
    template_name = "decisions/runs.html"

    def get_context_data(self, **kwargs):
        runs = list(recompute_runs())
        return super().get_context_data(
            runs=[(run, run_progress(run=run)) for run in runs],
            can_start=self.request.user.has_perm(START_PERMISSION),
            **kwargs,
        )


class RunStartView(RoleRequiredMixin, TemplateView):
    """GET: the confirmation page. POST with `confirmed`: start the run; without it (an old form,
    a replayed request), back to the confirmation page and nothing started."""

    template_name = "decisions/run_start.html"

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated and not request.user.has_perm(START_PERMISSION):
            raise RoleRequired((RISK_ADMIN,), "Only a risk admin can start a full recompute.")
        return super().dispatch(request, *args, **kwargs)

    @answers_domain_errors("decisions:runs")
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        return super().get_context_data(preview=run_start_preview(), **kwargs)

    @answers_domain_errors("decisions:runs")
    def post(self, request):
        if request.POST.get("confirmed") != "yes":
            messages.info(request, _("Confirm the full recompute below to start it."))
            return redirect("decisions:run-start")
        run = recompute_run_start(trigger=Trigger.MANUAL, actor=request.user)
        messages.success(
            request,
            ngettext(
                "Run %(run)s started over %(n)s customer.", "Run %(run)s started over %(n)s customers.", run.total_customers
            ) % {"run": run.pk, "n": f"{run.total_customers:,}"},
        )
        return redirect("decisions:runs")


class RunProgressView(RoleRequiredMixin, View):
    def get(self, request, pk: int):
        return JsonResponse(run_progress(run=get_object_or_404(RecomputeRun, pk=pk)))
