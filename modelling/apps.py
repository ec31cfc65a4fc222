from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ModellingConfig(AppConfig):
    name = "modelling"
    verbose_name = _("Credit modelling")

    def ready(self):
        from decisions.casework.profile_panels import ProfilePanel, register
        from riskops.core.roles import ANALYST, RISK_ADMIN

        from .selectors import customer_outcomes_for_profile

        # Analysts and risk admins judge decisions by what came of them; compliance reads the
        # profile for consent and provenance and does not need the outcomes.
        register(ProfilePanel("outcomes", "modelling/_outcomes.html", customer_outcomes_for_profile, (ANALYST, RISK_ADMIN)))
