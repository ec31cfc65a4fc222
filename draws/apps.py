from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DrawsConfig(AppConfig):
    """Real-time draw interception: may this customer draw this amount now?"""

    name = "draws"
    verbose_name = _("Draw checks")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from decisions.casework.profile_panels import ProfilePanel, register
        from riskops.core.roles import ANALYST, COMPLIANCE, RISK_ADMIN

        from .selectors import draw_denials_for_customer

        register(ProfilePanel(
            "draw_denials", "decisions/_draws.html",
            lambda customer_id: draw_denials_for_customer(customer_id=customer_id), (ANALYST, COMPLIANCE, RISK_ADMIN),
        ))
