from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SyntheticConfig(AppConfig):
    name = "synthetic"
    verbose_name = _("Synthetic book (demo and benchmarks)")

    def ready(self):
        from modelling.oracle import register

        # The oracle AUC beside a model's, on a synthetic book (modelling/oracle.py).
        register(_hazard_at_observation)


def _hazard_at_observation(frame, horizon_months):
    from .oracle import hazard_at_observation  # numpy and pandas only when a report asks

    return hazard_at_observation(frame, horizon_months)
