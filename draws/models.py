"""The append-only record of every draw check: the audit of what was asked and answered, and
the source of the velocity counters (checks allowed in the last hour and day, devices and
channels seen) and of the holds on the available limit (checks allowed, draws not yet posted)."""

from decimal import Decimal

from django.db import models
from django.db.models import Q

from accounts.models import Customer


class DrawDecision(models.TextChoices):
    ALLOW = "allow", "Allow"
    DENY = "deny", "Deny"
    REVIEW = "review", "Review"


class DrawCheck(models.Model):
    """One draw check as answered. Written once, never updated or deleted (no code path does;
    on PostgreSQL a trigger refuses UPDATE and DELETE, as on the audit table)."""

    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="draw_checks")
    amount = models.DecimalField(max_digits=14, decimal_places=2)
    currency = models.CharField(max_length=3)
    channel = models.CharField(max_length=20)
    merchant_category = models.CharField(max_length=40, blank=True)
    device_id = models.CharField(max_length=64, blank=True)
    decision = models.CharField(max_length=6, choices=DrawDecision.choices)
    reasons = models.JSONField(default=list, blank=True)
    # Limit minus drawn balance minus holds when the check ran (0 when the line has no access).
    available = models.DecimalField(max_digits=14, decimal_places=2)
    # The holds subtracted from `available`: amounts of this customer's allowed checks in the
    # policy's `draws.hold_hours`, less the credit draws posted in that window (never below 0;
    # 0 with holds off and on checks recorded before holds existed).
    held = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal("0.00"))
    # Service time from the request's arrival in the service to the decision, in milliseconds.
    latency_ms = models.FloatField()
    checked_at = models.DateTimeField()
    # The API client that asked (None from the shell or tests); no FK: the api app owns clients.
    client_ref = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["-checked_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="drawcheck_amount_positive"),
            models.CheckConstraint(condition=Q(decision__in=DrawDecision.values), name="drawcheck_decision_valid"),
        ]
        # The velocity read: one customer's checks since a moment (an index range scan).
        indexes = [models.Index(fields=["customer", "checked_at"], name="drawcheck_customer_time_idx")]

    def __str__(self) -> str:
        return f"{self.customer_id} {self.amount} {self.decision}"
