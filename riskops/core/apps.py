from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "riskops.core"
    label = "core"
    verbose_name = "RiskOps core"
