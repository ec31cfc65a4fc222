from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DecisionsConfig(AppConfig):
    name = "decisions"
    verbose_name = _("Credit decisions")

    def ready(self) -> None:
        from accounts.changes import subscribe
        from riskops.core.audit import register_payload_check

        from .engine.audit_checks import decision_rows_match
        from .engine.subscribers import recompute_when_data_changes

        register_payload_check(decision_rows_match)
        # /readyz fails when the last nightly run failed or is older than a day and a bit.
        from riskops.core.health import register_database_check

        from .engine.readiness import last_nightly_run_check

        register_database_check("nightly_run", last_nightly_run_check)
        # On-call notices (riskops/core/oncall.py): a nightly run failed or stalled, alerts past SLA.
        from riskops.core.oncall import register_condition

        from . import oncall

        register_condition("nightly_run_failed", oncall.nightly_run_failed)
        register_condition("nightly_run_stalled", oncall.nightly_run_stalled)
        register_condition("alerts_past_sla", oncall.alerts_past_sla)
        # accounts announces changed customer data; decisions answers with a recompute on commit.
        subscribe(recompute_when_data_changes)

        # Four eyes: risk admins see on the overview what waits for a second approver.
        from riskops.core.roles import RISK_ADMIN

        from .casework.overview_panels import OverviewPanel, register as register_overview_panel
        from .governance.pending_selectors import pending_approvals

        register_overview_panel(
            OverviewPanel("pending_approvals", "decisions/_overview_pending_approvals.html", pending_approvals, (RISK_ADMIN,))
        )
