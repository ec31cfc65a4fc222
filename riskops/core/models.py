from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class AuditAction(models.TextChoices):
    """Every action the audit trail records, `<entity>.<verb>`. `audit_record` refuses any other.

    A new kind of state change adds its action here (and `makemigrations core`: choices only, no
    schema change), so the list of what can appear in the trail is read in one place."""

    # accounts
    CONSENT_GRANT = "consent.grant", _("Consent granted")
    CONSENT_WITHDRAW = "consent.withdraw", _("Consent withdrawn")
    CONSENT_EXPIRE = "consent.expire", _("Consent expired")
    DISCLOSURE_PUBLISH = "disclosure.publish", _("Disclosure published")
    SEED_DEMO_BOOK = "seed.demo_book", _("Demo book seeded")
    SEED_REPLAY = "seed.replay", _("Demo book history replayed")
    OUTCOMES_MATERIALISE = "outcomes.materialise", _("Credit outcomes materialised")
    CHANGE_MARK_SWEEP = "change_mark.sweep", _("Stale recompute marks re-enqueued")
    # policies
    POLICY_CREATE = "policy.create", _("Policy version created")
    POLICY_ACTIVATE = "policy.activate", _("Policy version activated")
    POLICY_COPY = "policy.copy", _("Policy draft copied")
    POLICY_EDIT = "policy.edit", _("Policy draft edited")
    POLICY_SIMULATE = "policy.simulate", _("Policy simulation started")
    POLICY_ACTIVATION_REQUEST = "policy.activation_request", _("Policy activation requested")
    POLICY_ACTIVATION_REJECT = "policy.activation_reject", _("Policy activation rejected")
    # scorecard development and monitoring (modelling/)
    SCORECARD_FIT = "scorecard.fit", _("Scorecard fitted")
    SCORECARD_VALIDATE = "scorecard.validate", _("Scorecard validated")
    MODEL_MONITOR = "model.monitor", _("Model monitored")
    MODEL_ALERT_RAISE = "model_alert.raise", _("Model alert raised")
    MODEL_ALERT_ACKNOWLEDGE = "model_alert.acknowledge", _("Model alert acknowledged")
    CHALLENGER_ATTACH = "challenger.attach", _("Challenger attached")
    CHALLENGER_DETACH = "challenger.detach", _("Challenger detached")
    # decisions and runs
    DECISION_RECOMPUTE = "decision.recompute", _("Customer recomputed")
    RECOMPUTE_REQUEST = "recompute.request", _("Customer recompute requested")
    RECOMPUTE_START = "recompute.start", _("Full recompute started")
    RECOMPUTE_CHUNK = "recompute.chunk", _("Recompute chunk written")
    RECOMPUTE_CHUNK_FAILED = "recompute.chunk_failed", _("Recompute chunk failed")
    RECOMPUTE_FINISH = "recompute.finish", _("Full recompute finished")
    RECOMPUTE_RESUME = "recompute.resume", _("Full recompute resumed")
    RECOMPUTE_REDISPATCH = "recompute.redispatch", _("Stalled chunks re-dispatched")
    # alerts and cases
    ALERT_CLAIM = "alert.claim", _("Alert claimed")
    ALERT_ASSIGN = "alert.assign", _("Alert assigned")
    ALERT_UNASSIGN = "alert.unassign", _("Alert unassigned")
    ALERT_DISMISS = "alert.dismiss", _("Alert dismissed")
    ALERT_CONFIRM = "alert.confirm", _("Alert confirmed")
    ALERT_RESOLVE = "alert.resolve", _("Alert resolved")
    NOTE_ADD = "note.add", _("Case note added")
    # overrides
    OVERRIDE_REQUEST = "override.request", _("Override requested")
    OVERRIDE_APPROVE = "override.approve", _("Override approved")
    OVERRIDE_REJECT = "override.reject", _("Override rejected")
    OVERRIDE_REVOKE = "override.revoke", _("Override revoked")
    OVERRIDE_EXPIRE = "override.expire", _("Override expired")
    # staff and exports
    BOOTSTRAP_DEMO_USERS = "bootstrap.demo_users", _("Demo users created")
    LOGIN_LOCKED_OUT = "login.locked_out", _("Login locked out")
    EXPORT_START = "export.start", _("CSV export started")
    EXPORT_CSV = "export.csv", _("CSV exported")
    # compliance
    DISCLOSURE_ACKNOWLEDGE = "disclosure.acknowledge", _("Disclosure acknowledged")
    AUDIT_VERIFY = "audit.verify", _("Audit chain verified")
    SUBJECT_REPORT = "subject.report", _("Data-subject report produced")
    CUSTOMER_PII_REVEAL = "customer.pii_reveal", _("Customer national id and phone revealed")
    # service API and webhooks
    API_CLIENT_CREATE = "api_client.create", _("API client created")
    API_CLIENT_UPDATE = "api_client.update", _("API client changed")
    API_TOKEN_CREATE = "api_token.create", _("API token created")
    API_TOKEN_REVOKE = "api_token.revoke", _("API token revoked")
    WEBHOOK_ENDPOINT_CREATE = "webhook_endpoint.create", _("Webhook endpoint created")
    WEBHOOK_ENDPOINT_UPDATE = "webhook_endpoint.update", _("Webhook endpoint changed")
    WEBHOOK_ENDPOINT_DISABLE = "webhook_endpoint.disable", _("Webhook endpoint disabled")
    WEBHOOK_REPLAY = "webhook.replay", _("Webhook delivery replayed")
    # on-call notices (riskops/core/oncall.py)
    ONCALL_OPEN = "oncall.open", _("On-call incident opened")
    ONCALL_NOTIFY = "oncall.notify", _("On-call notice sent")
    ONCALL_RESOLVE = "oncall.resolve", _("On-call incident resolved")


class AuditEvent(models.Model):
    """One state change made by a person or a job, chained to the previous event by SHA-256.

    Append-only: nothing in the code updates or deletes a row, and on PostgreSQL a trigger
    rejects UPDATE and DELETE (migration 0002). `verify_audit` recomputes the chain.
    """

    occurred_at = models.DateTimeField(db_index=True, verbose_name=_("occurred at"))
    # PROTECT: a user who ever changed state cannot be deleted out from under the trail.
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name=_("actor")
    )
    actor_label = models.CharField(max_length=150, help_text=_("username, or 'system' for jobs"), verbose_name=_("actor label"))
    action = models.CharField(max_length=64, choices=AuditAction.choices, db_index=True, verbose_name=_("action"))
    target_type = models.CharField(max_length=64, verbose_name=_("target type"))
    target_id = models.CharField(max_length=64, verbose_name=_("target id"))
    before = models.JSONField(default=dict, blank=True, verbose_name=_("before"))
    after = models.JSONField(default=dict, blank=True, verbose_name=_("after"))
    prev_hash = models.CharField(max_length=64, verbose_name=_("prev hash"))
    hash = models.CharField(max_length=64, unique=True, verbose_name=_("hash"))

    class Meta:
        verbose_name = _("audit event")
        verbose_name_plural = _("audit events")
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


class IncidentKind(models.TextChoices):
    """What an on-call incident is about; each kind's condition is registered by the app that owns
    the data (riskops/core/oncall.py)."""

    NIGHTLY_RUN_FAILED = "nightly_run_failed", _("Nightly run failed")
    NIGHTLY_RUN_STALLED = "nightly_run_stalled", _("Nightly run stalled")
    AUDIT_CHAIN_BROKEN = "audit_chain_broken", _("Audit verification failed")
    ALERTS_PAST_SLA = "alerts_past_sla", _("Alerts past their SLA")
    WEBHOOK_ENDPOINT_DISABLED = "webhook_endpoint_disabled", _("Webhook endpoint disabled")
    MODEL_DRIFT = "model_drift", _("Model drift at the alert level")


class Incident(models.Model):
    """One occurrence of a condition the people on call are told about, from the check that found
    it to the check that found it gone. Written by riskops/core/oncall.py only.

    At most one open incident per (kind, key): the notice goes out once per incident, and two
    beats that find the same condition at the same moment cannot both open one (the constraint
    refuses the second)."""

    Kind = IncidentKind

    kind = models.CharField(max_length=32, choices=IncidentKind.choices, verbose_name=_("kind"))
    # What the incident is about within its kind: a run's id, an endpoint's id, "book" for a
    # book-wide figure.
    key = models.CharField(max_length=64, verbose_name=_("key"))
    summary = models.CharField(max_length=300, verbose_name=_("summary"))
    opened_at = models.DateTimeField(db_index=True, verbose_name=_("opened at"))
    notified_at = models.DateTimeField(null=True, blank=True, verbose_name=_("notified at"))
    resolved_at = models.DateTimeField(null=True, blank=True, verbose_name=_("resolved at"))

    class Meta:
        verbose_name = _("incident")
        verbose_name_plural = _("incidents")
        ordering = ["-opened_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["kind", "key"], condition=models.Q(resolved_at__isnull=True), name="incident_one_open_per_key"),
            models.CheckConstraint(
                condition=models.Q(resolved_at__isnull=True) | models.Q(resolved_at__gte=models.F("opened_at")),
                name="incident_resolved_after_opened",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.key}"
