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

        # Sign-off: a draft that changes the scorecard is activated only with a validation report
        # of that exact scorecard (refused otherwise; the digests go into the audit events), and
        # the approver sees the report's headline figures on the policy version's admin page.
        from decisions.governance import activation_checks, evidence_panels

        activation_checks.register(_signoff_evidence)
        evidence_panels.register(_signoff_evidence_panel)

        # Model monitoring: risk admins see the open model alerts on the overview (the page that
        # answers them is theirs too: /models/health/).
        from decisions.casework.overview_panels import OverviewPanel, register as register_overview_panel

        register_overview_panel(
            OverviewPanel("model_alerts", "modelling/_overview_model_alerts.html", _open_model_alerts_for_overview, (RISK_ADMIN,))
        )

        # On-call notices (riskops/core/oncall.py): an open model alert is an incident until acknowledged.
        from riskops.core.oncall import register_condition

        from .oncall import model_drift

        register_condition("model_drift", model_drift)


# Registered by name, imported when called: the report's code loads numpy and pandas, which no
# process should pay for at start-up (a web or Celery worker that never shows a model page).
def _signoff_evidence(version):
    from .services.signoff import signoff_evidence

    return signoff_evidence(version)


def _signoff_evidence_panel(version):
    from .report_selectors import signoff_evidence_panel

    return signoff_evidence_panel(version)


def _open_model_alerts_for_overview():
    from .health_selectors import open_model_alerts_for_overview

    return open_model_alerts_for_overview()
