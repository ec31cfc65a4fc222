"""The model-health page (/models/health/) and its one action, acknowledging a model alert.

Risk admins only: they own the model and answer its alerts; analysts and compliance get 403. The
page calls one selector (health_selectors.py), the action one service (services/monitoring.py).
"""

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect
from django.utils.translation import gettext as _
from django.views import View
from django.views.generic import TemplateView

from riskops.core.domain_errors import answers_domain_errors
from riskops.core.roles import RISK_ADMIN
from riskops.core.views import RoleRequiredMixin

from .health_selectors import model_health_page
from .health_texts import metric_name
from .models import ModelAlert
from .services.monitoring import NOTE_MAX_CHARS, model_alert_acknowledge
from .validation import PSI_ALERT, PSI_WARNING


class ModelHealthView(RoleRequiredMixin, TemplateView):
    allowed_roles = (RISK_ADMIN,)
    template_name = "modelling/health.html"

    def get_context_data(self, **kwargs):
        return super().get_context_data(
            page=model_health_page(), psi_warning=PSI_WARNING, psi_alert=PSI_ALERT, note_max=NOTE_MAX_CHARS, **kwargs
        )


class ModelAlertAcknowledgeView(RoleRequiredMixin, View):
    """POST: acknowledge an open model alert with a note; back to the page with a message."""

    allowed_roles = (RISK_ADMIN,)

    @answers_domain_errors("modelling:health", forbid=True)
    def post(self, request, pk: int):
        alert = get_object_or_404(ModelAlert, pk=pk)
        model_alert_acknowledge(alert=alert, actor=request.user, note=request.POST.get("note", ""))
        messages.success(request, _("Model alert on %(metric)s acknowledged.") % {"metric": metric_name(alert.metric)})
        return redirect("modelling:health")
