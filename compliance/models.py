"""The compliance workspace's own records. The audit trail itself lives in `riskops.core`."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class VerificationStatus(models.TextChoices):
    PENDING = "pending", _("Queued")
    RUNNING = "running", _("Running")
    OK = "ok", _("Chain intact")
    BROKEN = "broken", _("Chain broken")
    FAILED = "failed", _("Could not finish")


class VerificationTrigger(models.TextChoices):
    BEAT = "beat", _("Nightly schedule")
    MANUAL = "manual", _("On demand")


class AuditVerification(models.Model):
    """One walk of the audit hash chain: who asked, when it ran, what it found.

    Written by `compliance.services.verification` only. `broken_event_id` is a plain number, not
    a foreign key: the row it names is the one that cannot be trusted, and a verification record
    must survive whatever happened to it."""

    Status = VerificationStatus
    Trigger = VerificationTrigger

    status = models.CharField(max_length=8, choices=VerificationStatus.choices, default=VerificationStatus.PENDING, verbose_name=_("status"))
    trigger = models.CharField(max_length=8, choices=VerificationTrigger.choices, verbose_name=_("trigger"))
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name=_("requested by")
    )
    requested_at = models.DateTimeField(verbose_name=_("requested at"))
    started_at = models.DateTimeField(null=True, blank=True, verbose_name=_("started at"))
    finished_at = models.DateTimeField(null=True, blank=True, verbose_name=_("finished at"))
    events_checked = models.PositiveBigIntegerField(default=0, verbose_name=_("events checked"))
    broken_event_id = models.PositiveBigIntegerField(null=True, blank=True, verbose_name=_("broken event id"))
    broken_reason = models.TextField(blank=True, verbose_name=_("broken reason"))
    # The last event of a chain that verified, remembered so the next walk can tell whether the
    # trail was cut after it (deleting the newest events leaves a chain that verifies by itself).
    tail_event_id = models.PositiveBigIntegerField(null=True, blank=True, verbose_name=_("tail event id"))
    tail_hash = models.CharField(max_length=64, blank=True, verbose_name=_("tail hash"))

    class Meta:
        verbose_name = _("audit verification")
        verbose_name_plural = _("audit verifications")
        ordering = ["-requested_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(status__in=VerificationStatus.values), name="verification_status_valid"),
            models.CheckConstraint(condition=Q(trigger__in=VerificationTrigger.values), name="verification_trigger_valid"),
            # A broken result always names its first broken event; no other result does.
            models.CheckConstraint(
                condition=Q(status=VerificationStatus.BROKEN, broken_event_id__isnull=False)
                | (~Q(status=VerificationStatus.BROKEN) & Q(broken_event_id__isnull=True)),
                name="verification_broken_names_event",
            ),
        ]

    def __str__(self) -> str:
        return f"verification {self.pk} {self.status}"

    @property
    def finished(self) -> bool:
        return self.status in (VerificationStatus.OK, VerificationStatus.BROKEN, VerificationStatus.FAILED)
