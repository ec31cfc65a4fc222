from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ComplianceConfig(AppConfig):
    """The compliance workspace: consents and provenance, disclosures, the audit trail, exports."""

    name = "compliance"
    verbose_name = _("Compliance")
