"""The recompute runs page: a risk admin starts a full recompute of the book and watches it."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, redirect
from django.views import View
from django.views.generic import TemplateView

from riskops.core.domain_errors import answers_domain_errors
from riskops.core.views import RoleRequiredMixin

from decisions.models import RecomputeRun, Trigger
from decisions.engine.selectors import recompute_runs, run_progress
from decisions.engine.services.runs import recompute_run_start


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
    @answers_domain_errors("decisions:runs")
    def post(self, request):
        if not request.user.has_perm("decisions.start_recomputerun"):
            raise PermissionDenied("Only a risk admin can start a full recompute.")
        run = recompute_run_start(trigger=Trigger.MANUAL, actor=request.user)
        messages.success(request, f"Run {run.pk} started over {run.total_customers:,} customers.")
        return redirect("decisions:runs")


class RunProgressView(RoleRequiredMixin, View):
    def get(self, request, pk: int):
        return JsonResponse(run_progress(run=get_object_or_404(RecomputeRun, pk=pk)))
