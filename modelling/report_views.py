"""The scorecard pages for risk admins: the list of fitted scorecards (/models/), one scorecard's
validation report (/models/policies/<version>/report/, and .json), and "Validate again" (a POST).

Risk admins only: they fit, validate and sign scorecards off; analysts and compliance get 403.
The views parse, call one selector (report_selectors.py) or one service (services/signoff.py)
and render.
"""

from django.contrib import messages
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views import View
from django.views.generic import TemplateView

from decisions.models import PolicyVersion
from riskops.core.domain_errors import answers_domain_errors
from riskops.core.roles import RISK_ADMIN
from riskops.core.views import RoleRequiredMixin

from .report_selectors import model_index, model_page_links, report_document, report_page
from .services.signoff import scorecard_validate
from .validation import PSI_ALERT, PSI_WARNING


class ModelIndexView(RoleRequiredMixin, TemplateView):
    allowed_roles = (RISK_ADMIN,)
    template_name = "modelling/index.html"

    def get_context_data(self, **kwargs):
        return super().get_context_data(index=model_index(), links=model_page_links(), **kwargs)


class ScorecardReportView(RoleRequiredMixin, TemplateView):
    allowed_roles = (RISK_ADMIN,)
    template_name = "modelling/report.html"

    def get_context_data(self, **kwargs):
        page = report_page(self.kwargs["version"])
        return super().get_context_data(
            page=page, psi_warning=PSI_WARNING, psi_alert=PSI_ALERT,
            can_admin=self.request.user.is_staff, **kwargs,
        )


class ScorecardReportJSONView(RoleRequiredMixin, View):
    allowed_roles = (RISK_ADMIN,)

    def get(self, request, version: int):
        response = JsonResponse(report_document(version), json_dumps_params={"ensure_ascii": False})
        # A report is evidence for a sign-off: always read the stored one, never a cached copy.
        response["Cache-Control"] = "no-store"
        return response


class ScorecardValidateView(RoleRequiredMixin, View):
    """POST: validate the draft's scorecard as it is now on a fresh sample (no fitting)."""

    allowed_roles = (RISK_ADMIN,)

    @answers_domain_errors(lambda self, request, version: reverse("modelling:report", args=[version]), forbid=True)
    def post(self, request, version: int):
        policy = get_object_or_404(PolicyVersion, version=version)
        development = scorecard_validate(version=policy, actor=request.user)
        messages.success(
            request,
            _("Policy v%(version)s validated on %(rows)s rows: report %(sha)s…")
            % {"version": policy.version, "rows": f"{development.sample_digest['rows']:,}", "sha": development.report_sha256[:12]},
        )
        return redirect("modelling:report", version=policy.version)
