"""The append-only record of every draw check: the audit of what was asked and answered, and
the source of the velocity counters (checks allowed in the last hour and day, devices and
channels seen) and of the holds on the available limit (checks allowed, draws not yet posted)."""

from decimal import Decimal

from django.db import models
from django.utils.translation import gettext_lazy as _
from django.db.models import Q

from accounts.models import Customer
from riskops.core.formats import money


class DrawDecision(models.TextChoices):
    ALLOW = "allow", _("Allow")
    DENY = "deny", _("Deny")
    REVIEW = "review", _("Review")


class DrawCheck(models.Model):
    """One draw check as answered. Written once, never updated or deleted (no code path does;
    on PostgreSQL a trigger refuses UPDATE and DELETE, as on the audit table)."""

    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="draw_checks", verbose_name=_("customer"))
    amount = models.DecimalField(max_digits=14, decimal_places=2, verbose_name=_("amount"))
    currency = models.CharField(max_length=3, verbose_name=_("currency"))
    channel = models.CharField(max_length=20, verbose_name=_("channel"))
    merchant_category = models.CharField(max_length=40, blank=True, verbose_name=_("merchant category"))
    device_id = models.CharField(max_length=64, blank=True, verbose_name=_("device id"))
    decision = models.CharField(max_length=6, choices=DrawDecision.choices, verbose_name=_("decision"))
    reasons = models.JSONField(default=list, blank=True, verbose_name=_("reasons"))
    # Limit minus drawn balance minus holds when the check ran (0 when the line has no access).
    available = models.DecimalField(max_digits=14, decimal_places=2, verbose_name=_("available"))
    # The holds subtracted from `available`: amounts of this customer's allowed checks in the
    # policy's `draws.hold_hours`, less the credit draws posted in that window (never below 0;
    # 0 with holds off and on checks recorded before holds existed).
    held = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal("0.00"), verbose_name=_("held"))
    # Service time from the request's arrival in the service to the decision, in milliseconds.
    latency_ms = models.FloatField(verbose_name=_("latency ms"))
    checked_at = models.DateTimeField(verbose_name=_("checked at"))
    # The API client that asked (None from the shell or tests); no FK: the api app owns clients.
    client_ref = models.CharField(max_length=64, blank=True, verbose_name=_("client ref"))

    class Meta:
        verbose_name = _("draw check")
        verbose_name_plural = _("draw checks")
        ordering = ["-checked_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="drawcheck_amount_positive"),
            models.CheckConstraint(condition=Q(decision__in=DrawDecision.values), name="drawcheck_decision_valid"),
        ]
        # The velocity read: one customer's checks since a moment (an index range scan).
        indexes = [models.Index(fields=["customer", "checked_at"], name="drawcheck_customer_time_idx")]

    def __str__(self) -> str:
        return f"{self.customer_id} {money(self.amount)} {self.decision}"
