"""The synthetic book's ground truth, which the engine must never see.

`SyntheticHazard` keeps, per customer and month of a replayed book, the true monthly default
hazard the generative model (`synthetic.life`) used. It exists only to measure models against the
best possible ranking (the "oracle AUC"): a scorecard that ranked customers by this hazard could do
no better. No module of `decisions` imports this app, and a test records every query of a full
recompute and of a single recompute and finds none that names this table.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _
from django.db.models import Q


class SyntheticHazard(models.Model):
    customer = models.ForeignKey("accounts.Customer", on_delete=models.CASCADE, related_name="+", verbose_name=_("customer"))
    month = models.DateField(help_text=_("The first day of the month (UTC) the hazard applied to."), verbose_name=_("month"))
    latent_risk = models.FloatField(help_text=_("The customer's latent risk (standard normal scale; higher is riskier)."), verbose_name=_("latent risk"))
    hazard = models.DecimalField(max_digits=8, decimal_places=6, help_text=_("Probability of default within the month."), verbose_name=_("hazard"))
    in_default = models.BooleanField(default=False, help_text=_("The customer had defaulted (stopped paying) at the month's start."), verbose_name=_("in default"))
    days_past_due = models.PositiveIntegerField(default=0, help_text=_("Days past due at the month's start."), verbose_name=_("days past due"))
    recorded_at = models.DateTimeField(verbose_name=_("recorded at"))

    class Meta:
        verbose_name = _("synthetic hazard")
        verbose_name_plural = _("synthetic hazards")
        constraints = [
            models.UniqueConstraint(fields=["customer", "month"], name="synthetic_hazard_one_per_month"),
            models.CheckConstraint(condition=Q(hazard__gte=0) & Q(hazard__lte=1), name="synthetic_hazard_is_probability"),
        ]
        indexes = [models.Index(fields=["month"], name="synthetic_hazard_month_idx")]

    def __str__(self) -> str:
        return f"{self.customer_id} {self.month:%Y-%m} h={self.hazard}"
