from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ComplianceConfig(AppConfig):
    """The compliance workspace: consents and provenance, disclosures, the audit trail, exports."""

    name = "compliance"
    verbose_name = _("Compliance")

    def ready(self) -> None:
        from riskops.core.health import register_database_check

        from .readiness import audit_verification_check

        # /readyz fails while the last verification of the audit chain found it broken.
        register_database_check("audit_chain", audit_verification_check)

        from riskops.core.oncall import register_condition

        from .oncall import audit_chain_broken

        # On-call notices (riskops/core/oncall.py): the last verification found the chain broken.
        register_condition("audit_chain_broken", audit_chain_broken)
