from django.conf import settings
from django.db import models


class AuditAction(models.TextChoices):
    """Every action the audit trail records, `<entity>.<verb>`. `audit_record` refuses any other.

    A new kind of state change adds its action here (and `makemigrations core`: choices only, no
    schema change), so the list of what can appear in the trail is read in one place."""

    # accounts
    CONSENT_GRANT = "consent.grant", "Consent granted"
    CONSENT_WITHDRAW = "consent.withdraw", "Consent withdrawn"
    CONSENT_EXPIRE = "consent.expire", "Consent expired"
    DISCLOSURE_PUBLISH = "disclosure.publish", "Disclosure published"
    SEED_DEMO_BOOK = "seed.demo_book", "Demo book seeded"
    SEED_REPLAY = "seed.replay", "Demo book history replayed"
    OUTCOMES_MATERIALISE = "outcomes.materialise", "Credit outcomes materialised"
    CHANGE_MARK_SWEEP = "change_mark.sweep", "Stale recompute marks re-enqueued"
    # policies
    POLICY_CREATE = "policy.create", "Policy version created"
    POLICY_ACTIVATE = "policy.activate", "Policy version activated"
    POLICY_COPY = "policy.copy", "Policy draft copied"
    POLICY_EDIT = "policy.edit", "Policy draft edited"
    POLICY_SIMULATE = "policy.simulate", "Policy simulation started"
    POLICY_ACTIVATION_REQUEST = "policy.activation_request", "Policy activation requested"
    POLICY_ACTIVATION_REJECT = "policy.activation_reject", "Policy activation rejected"
    # scorecard development and monitoring (modelling/)
    SCORECARD_FIT = "scorecard.fit", "Scorecard fitted"
    SCORECARD_VALIDATE = "scorecard.validate", "Scorecard validated"
    MODEL_MONITOR = "model.monitor", "Model monitored"
    MODEL_ALERT_RAISE = "model_alert.raise", "Model alert raised"
    MODEL_ALERT_ACKNOWLEDGE = "model_alert.acknowledge", "Model alert acknowledged"
    CHALLENGER_ATTACH = "challenger.attach", "Challenger attached"
    CHALLENGER_DETACH = "challenger.detach", "Challenger detached"
    # decisions and runs
    DECISION_RECOMPUTE = "decision.recompute", "Customer recomputed"
    RECOMPUTE_REQUEST = "recompute.request", "Customer recompute requested"
    RECOMPUTE_START = "recompute.start", "Full recompute started"
    RECOMPUTE_CHUNK = "recompute.chunk", "Recompute chunk written"
    RECOMPUTE_CHUNK_FAILED = "recompute.chunk_failed", "Recompute chunk failed"
    RECOMPUTE_FINISH = "recompute.finish", "Full recompute finished"
    RECOMPUTE_RESUME = "recompute.resume", "Full recompute resumed"
    RECOMPUTE_REDISPATCH = "recompute.redispatch", "Stalled chunks re-dispatched"
    # alerts and cases
    ALERT_CLAIM = "alert.claim", "Alert claimed"
    ALERT_ASSIGN = "alert.assign", "Alert assigned"
    ALERT_UNASSIGN = "alert.unassign", "Alert unassigned"
    ALERT_DISMISS = "alert.dismiss", "Alert dismissed"
    ALERT_CONFIRM = "alert.confirm", "Alert confirmed"
    ALERT_RESOLVE = "alert.resolve", "Alert resolved"
    NOTE_ADD = "note.add", "Case note added"
    # overrides
    OVERRIDE_REQUEST = "override.request", "Override requested"
    OVERRIDE_APPROVE = "override.approve", "Override approved"
    OVERRIDE_REJECT = "override.reject", "Override rejected"
    OVERRIDE_REVOKE = "override.revoke", "Override revoked"
    OVERRIDE_EXPIRE = "override.expire", "Override expired"
    # staff and exports
    BOOTSTRAP_DEMO_USERS = "bootstrap.demo_users", "Demo users created"
    LOGIN_LOCKED_OUT = "login.locked_out", "Login locked out"
    EXPORT_START = "export.start", "CSV export started"
    EXPORT_CSV = "export.csv", "CSV exported"
    # compliance
    DISCLOSURE_ACKNOWLEDGE = "disclosure.acknowledge", "Disclosure acknowledged"
    AUDIT_VERIFY = "audit.verify", "Audit chain verified"
    SUBJECT_REPORT = "subject.report", "Data-subject report produced"
    CUSTOMER_PII_REVEAL = "customer.pii_reveal", "Customer national id and phone revealed"
    # service API and webhooks
    API_CLIENT_CREATE = "api_client.create", "API client created"
    API_CLIENT_UPDATE = "api_client.update", "API client changed"
    API_TOKEN_CREATE = "api_token.create", "API token created"
    API_TOKEN_REVOKE = "api_token.revoke", "API token revoked"
    WEBHOOK_ENDPOINT_CREATE = "webhook_endpoint.create", "Webhook endpoint created"
    WEBHOOK_ENDPOINT_UPDATE = "webhook_endpoint.update", "Webhook endpoint changed"
    WEBHOOK_ENDPOINT_DISABLE = "webhook_endpoint.disable", "Webhook endpoint disabled"
    WEBHOOK_REPLAY = "webhook.replay", "Webhook delivery replayed"


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
    action = models.CharField(max_length=64, choices=AuditAction.choices, db_index=True)
    target_type = models.CharField(max_length=64)
    target_id = models.CharField(max_length=64)
    before = models.JSONField(default=dict, blank=True)
    after = models.JSONField(default=dict, blank=True)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)

    class Meta:
        ordering = ["id"]
        indexes = [
            models.Index(fields=["target_type", "target_id"], name="audit_target_idx"),
            # The audit page pages newest-first by id under a filter (keyset): one index range each.
            models.Index(fields=["action", "-id"], name="audit_action_id_idx"),
            models.Index(fields=["actor", "-id"], name="audit_actor_id_idx"),
        ]
        permissions = [("export_auditevent", "Can export the audit trail")]

    def __str__(self) -> str:
        return f"#{self.pk} {self.action} {self.target_type}:{self.target_id}"
