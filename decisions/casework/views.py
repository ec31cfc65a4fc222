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
from .services.triage import NOTE_MAX_CHARS, suppression_bounds


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


def triage_form_context() -> dict:
    """What the triage forms need besides the alert: the days' bounds (the active policy) and the
    notes' length bound, as a number and in words."""
    return {"suppression": suppression_bounds(), "note_max": NOTE_MAX_CHARS, "note_max_display": f"{NOTE_MAX_CHARS:,}"}


def profile_context(request, external_id: str) -> dict:
    """What the risk profile renders; also used to show it again with a note's error."""
    show = {k: int(v) for k in PROFILE_LISTS if (v := request.GET.get(k, "")).isdigit()}
    can_act = has_role(request.user, ANALYST, RISK_ADMIN)
    profile = customer_profile(external_id=external_id, show=show)
    return dict(
        profile=profile,
        overrides=override_panel_context(request, profile),  # decisions/governance/override_views.py
        # Sections other apps register (draws: denied draws; modelling: outcomes): profile_panels.py
        panels=panels_for(customer_id=profile.customer.pk, user=request.user),
        notices=customer_notices(external_id=profile.customer.external_id),  # decisions/casework/notice_selectors.py
        can_act=can_act,
        # The triage forms' day bounds (one policy read, only for those who act), the notes' bound.
        **(triage_form_context() if can_act else {"note_max": NOTE_MAX_CHARS, "note_max_display": f"{NOTE_MAX_CHARS:,}"}),
        more={k: more_params(show, k) for k in PROFILE_LISTS},
    )


class CustomerProfileView(RoleRequiredMixin, TemplateView):
    """The risk profile: why the customer stands where they stand. Compliance reads it; only
    analysts and risk admins see the case panel (claim, dismiss, confirm, done and next case) and
    the note form (the action URLs refuse the others anyway)."""

    template_name = "decisions/customer.html"

    def get_context_data(self, **kwargs):
        return super().get_context_data(**profile_context(self.request, self.kwargs["external_id"]), **kwargs)
