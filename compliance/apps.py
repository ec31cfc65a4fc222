from django.apps import AppConfig


class ComplianceConfig(AppConfig):
    """The compliance workspace: consents and provenance, disclosures, the audit trail, exports."""

    name = "compliance"
