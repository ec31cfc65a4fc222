from django.apps import AppConfig


class SyntheticConfig(AppConfig):
    name = "synthetic"
    verbose_name = "Synthetic book (demo and benchmarks)"

    def ready(self):
        from modelling.oracle import register

        from .oracle import hazard_at_observation

        # The oracle AUC beside a model's, on a synthetic book (modelling/oracle.py).
        register(hazard_at_observation)
