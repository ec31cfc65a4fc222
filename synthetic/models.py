"""The synthetic book's ground truth, which the engine must never see.

`SyntheticHazard` keeps, per customer and month of a replayed book, the true monthly default
hazard the generative model (`synthetic.life`) used. It exists only to measure models against the
best possible ranking (the "oracle AUC"): a scorecard that ranked customers by this hazard could do
no better. No module of `decisions` imports this app, and a test records every query of a full
recompute and of a single recompute and finds none that names this table.
"""

from django.db import models
from django.db.models import Q


class SyntheticHazard(models.Model):
    customer = models.ForeignKey("accounts.Customer", on_delete=models.CASCADE, related_name="+")
    month = models.DateField(help_text="The first day of the month (UTC) the hazard applied to.")
    latent_risk = models.FloatField(help_text="The customer's latent risk (standard normal scale; higher is riskier).")
    hazard = models.DecimalField(max_digits=8, decimal_places=6, help_text="Probability of default within the month.")
    in_default = models.BooleanField(default=False, help_text="The customer had defaulted (stopped paying) at the month's start.")
    days_past_due = models.PositiveIntegerField(default=0, help_text="Days past due at the month's start.")
    recorded_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["customer", "month"], name="synthetic_hazard_one_per_month"),
            models.CheckConstraint(condition=Q(hazard__gte=0) & Q(hazard__lte=1), name="synthetic_hazard_is_probability"),
        ]
        indexes = [models.Index(fields=["month"], name="synthetic_hazard_month_idx")]

    def __str__(self) -> str:
        return f"{self.customer_id} {self.month:%Y-%m} h={self.hazard}"
