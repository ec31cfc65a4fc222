"""The book overview and the customer's risk profile (the analysts' two reading pages)."""

from django.views.generic import TemplateView

from riskops.core.roles import ANALYST, RISK_ADMIN, has_role
from riskops.core.views import RoleRequiredMixin

from decisions.governance.override_views import override_panel_context
from .notice_selectors import customer_notices
from .overview_panels import panels_for as overview_panels_for
from .overview_selectors import book_overview
from .profile_panels import panels_for
from .profile_selectors import PROFILE_LISTS, customer_profile, more_params
from .services.triage import suppression_bounds


class OverviewView(RoleRequiredMixin, TemplateView):
    """The book at a glance: KPIs and book-wide charts from the daily aggregates."""

    template_name = "decisions/overview.html"

    def get_context_data(self, **kwargs):
        return super().get_context_data(
            overview=book_overview(),
            # Sections other apps register (modelling: open model alerts): overview_panels.py
            panels=overview_panels_for(user=self.request.user),
            **kwargs,
        )


class CustomerProfileView(RoleRequiredMixin, TemplateView):
    """The risk profile: why the customer stands where they stand. Compliance reads it; only
    analysts and risk admins see the action controls (the action URLs refuse them anyway)."""

    template_name = "decisions/customer.html"

    def get_context_data(self, **kwargs):
        show = {k: int(v) for k in PROFILE_LISTS if (v := self.request.GET.get(k, "")).isdigit()}
        can_act = has_role(self.request.user, ANALYST, RISK_ADMIN)
        profile = customer_profile(external_id=self.kwargs["external_id"], show=show)
        return super().get_context_data(
            profile=profile,
            overrides=override_panel_context(self.request, profile),  # decisions/governance/override_views.py
            # Sections other apps register (draws: denied draws; modelling: outcomes): profile_panels.py
            panels=panels_for(customer_id=profile.customer.pk, user=self.request.user),
            notices=customer_notices(external_id=profile.customer.external_id),  # decisions/casework/notice_selectors.py
            can_act=can_act,
            # The dismiss/confirm form's suppression period (one policy read, only for those who act).
            suppression=suppression_bounds() if can_act else None,
            more={k: more_params(show, k) for k in PROFILE_LISTS},
            **kwargs,
        )
