from django.apps import AppConfig


class DecisionsConfig(AppConfig):
    name = "decisions"
    verbose_name = "Credit decisions"

    def ready(self) -> None:
        from riskops.core.audit import register_payload_check

        from .audit_checks import decision_rows_match

        register_payload_check(decision_rows_match)
