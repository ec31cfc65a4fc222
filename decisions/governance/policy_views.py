"""Staff pages for policy simulations: progress while it runs, the report when it is done.

Risk admins (who simulate and activate) and compliance (read-only) see them; analysts do not.
The actions (simulate, request, approve, reject) live in the admin (decisions/governance/admin_policy.py).
"""

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect
from django.utils.translation import gettext as _
from django.views import View
from django.views.generic import TemplateView
from django.urls import reverse


from riskops.core.roles import COMPLIANCE, RISK_ADMIN, has_role
from riskops.core.views import RoleRequiredMixin
from riskops.core.domain_errors import answers_domain_errors

from decisions.models import PolicySimulation
from decisions.engine.policy_reads import body_stamp
from .services.policy import policy_diff
from .services.simulation import simulation_progress, simulation_resume
from .simulation_charts import simulation_report


def _simulation(pk: int) -> PolicySimulation:
    return get_object_or_404(
        PolicySimulation.objects.select_related("policy_version", "baseline_version", "requested_by"), pk=pk
    )


class SimulationView(RoleRequiredMixin, TemplateView):
    allowed_roles = (RISK_ADMIN, COMPLIANCE)
    template_name = "decisions/simulation.html"

    def get_context_data(self, **kwargs):
        simulation = _simulation(self.kwargs["pk"])
        version, base = simulation.policy_version, simulation.baseline_version
        return super().get_context_data(
            simulation=simulation,
            progress=simulation_progress(simulation=simulation),
            report=simulation_report(simulation=simulation),
            changes=policy_diff(base, version) if base else [],
            stale=body_stamp(version) != simulation.body_edited_at,
            can_resume=has_role(self.request.user, RISK_ADMIN),
            can_admin=has_role(self.request.user, RISK_ADMIN) and self.request.user.is_staff,
            **kwargs,
        )


class SimulationProgressView(RoleRequiredMixin, TemplateView):
    """The progress bar, polled by htmx every second; once finished it asks for a full reload
    (HX-Refresh) so the report and its charts appear."""

    allowed_roles = (RISK_ADMIN, COMPLIANCE)
    template_name = "decisions/simulation_progress.html"

    def get(self, request, *args, **kwargs):
        simulation = _simulation(self.kwargs["pk"])
        progress = simulation_progress(simulation=simulation)
        response = self.render_to_response(self.get_context_data(simulation=simulation, progress=progress))
        if progress["finished"] and request.headers.get("HX-Request"):
            response["HX-Refresh"] = "true"
        return response


class SimulationResumeView(RoleRequiredMixin, View):
    """POST: send a stalled or failed simulation's unfinished chunks back to the workers."""

    allowed_roles = (RISK_ADMIN,)

    @answers_domain_errors(lambda self, request, pk: reverse("decisions:simulation", kwargs={"pk": pk}))
    def post(self, request, pk: int):
        simulation = _simulation(pk)
        simulation_resume(simulation=simulation, actor=request.user)
        messages.success(request, _("Simulation %(pk)s resumed: its unfinished chunks went back to the workers.") % {"pk": simulation.pk})
        return redirect("decisions:simulation", pk=simulation.pk)
