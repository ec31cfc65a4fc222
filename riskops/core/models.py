from django.conf import settings
from django.db import models


class AuditEvent(models.Model):
    """One state change made by a person or a job, chained to the previous event by SHA-256.

    Append-only: nothing in the code updates or deletes a row, and on PostgreSQL a trigger
    rejects UPDATE and DELETE (migration 0002). `verify_audit` recomputes the chain.
    """

    occurred_at = models.DateTimeField(db_index=True)
    # PROTECT: a user who ever changed state cannot be deleted out from under the trail.
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    actor_label = models.CharField(max_length=150, help_text="username, or 'system' for jobs")
    action = models.CharField(max_length=64, db_index=True)
    target_type = models.CharField(max_length=64)
    target_id = models.CharField(max_length=64)
    before = models.JSONField(default=dict, blank=True)
    after = models.JSONField(default=dict, blank=True)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["target_type", "target_id"], name="audit_target_idx")]
        permissions = [("export_auditevent", "Can export the audit trail")]

    def __str__(self) -> str:
        return f"#{self.pk} {self.action} {self.target_type}:{self.target_id}"
