"""What the lender decides about the customer, and the history of how it got there.

Decisions, snapshots, alerts and overrides are evidence: foreign keys into them PROTECT, so no
delete anywhere can cascade them away.
"""

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext, gettext_lazy as _, pgettext_lazy

from accounts.models import Consent, Customer, CustomerLanguage
from riskops.core.formats import money


class Access(models.TextChoices):
    OPEN = "open", pgettext_lazy("access state", "Open")
    LIMITED = "limited", _("Limited")
    SUSPENDED = "suspended", _("Suspended")
    CLOSED = "closed", _("Closed")
    NOT_OFFERED = "not_offered", _("Not offered")


class Band(models.TextChoices):
    A = "A", "A"
    B = "B", "B"
    C = "C", "C"
    D = "D", "D"
    E = "E", "E"


class Trigger(models.TextChoices):
    NIGHTLY = "nightly", _("Nightly recompute")
    MANUAL = "manual", _("Manual recompute")
    TRANSACTION = "transaction", _("New transaction")
    REPAYMENT = "repayment", _("Repayment")
    OVERDUE = "overdue", _("Overdue")
    APPLICATION = "application", _("Credit application")
    BUREAU = "bureau", _("Bureau report")
    CONSENT = "consent", _("Consent change")
    OVERRIDE = "override", _("Override change")
    EXPIRY = "expiry", _("Suspension or override expiry")
    SEED = "seed", _("Demo seed")


ACCESS_VALUES = [a.value for a in Access]
# Access states that carry a limit: closed, suspended and not-offered lines carry 0.
ACCESS_WITH_LIMIT = [Access.OPEN.value, Access.LIMITED.value]
BAND_VALUES = [b.value for b in Band]
TRIGGER_VALUES = [t.value for t in Trigger]


class PolicyState(models.TextChoices):
    DRAFT = "draft", _("Draft")
    ACTIVE = "active", _("Active")
    RETIRED = "retired", _("Retired")


class PolicyVersion(models.Model):
    """Scorecard, band cut-offs, limit rules and rule thresholds as one validated JSON document."""

    State = PolicyState

    version = models.PositiveIntegerField(unique=True, verbose_name=_("version"))
    name = models.CharField(max_length=120, verbose_name=_("name"))
    body = models.JSONField(default=dict, blank=True, verbose_name=_("body"))
    state = models.CharField(max_length=8, choices=State.choices, default=State.DRAFT, verbose_name=_("state"))
    notes = models.TextField(blank=True, verbose_name=_("notes"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name=_("created by")
    )
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    activated_at = models.DateTimeField(null=True, blank=True, verbose_name=_("activated at"))
    activated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name=_("activated by")
    )
    # Governance (maker-checker): a draft is copied from a version, edited, simulated, then one
    # risk admin asks for activation and a second one approves it.
    copied_from = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name=_("copied from"))
    edited_at = models.DateTimeField(null=True, blank=True, help_text=_("last change of the body; a simulation must be newer"), verbose_name=_("edited at"))
    activation_requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name=_("activation requested by")
    )
    activation_requested_at = models.DateTimeField(null=True, blank=True, verbose_name=_("activation requested at"))
    # Why the maker asks: the approver reads it, policy.activation_request keeps it.
    activation_justification = models.TextField(blank=True, default="", verbose_name=_("activation justification"))
    retired_at = models.DateTimeField(null=True, blank=True, verbose_name=_("retired at"))

    class Meta:
        verbose_name = _("policy version")
        verbose_name_plural = _("policy versions")
        ordering = ["-version"]
        constraints = [
            models.UniqueConstraint(fields=["state"], condition=Q(state=PolicyState.ACTIVE.value), name="policy_one_active"),
            models.CheckConstraint(condition=Q(state__in=PolicyState.values), name="policy_state_valid"),
            models.CheckConstraint(condition=Q(version__gte=1), name="policy_version_positive"),
            # Maker-checker, in the database too: whoever asked for the activation cannot approve it.
            models.CheckConstraint(
                condition=Q(activated_by__isnull=True)
                | Q(activation_requested_by__isnull=True)
                | ~Q(activated_by=F("activation_requested_by")),
                name="policy_activation_four_eyes",
            ),
        ]
        permissions = [("activate_policyversion", "Can activate a policy version")]

    def __str__(self) -> str:
        return gettext("v%(version)s %(name)s (%(state)s)") % {"version": self.version, "name": self.name, "state": self.get_state_display()}


class RunStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    RUNNING = "running", _("Running")
    SUCCEEDED = "succeeded", _("Succeeded")
    PARTIAL = "partial", _("Finished with failed chunks")
    FAILED = "failed", _("Failed")


class RunOrigin(models.TextChoices):
    """What started a run, when its trigger alone does not say (a policy activation and a replay
    both start runs that look manual or nightly)."""

    PERSON = "", _("Started by a person or the schedule")
    ACTIVATION = "activation", _("Started by a policy activation")
    REPLAY = "replay", _("Replay of a past day")


class ChunkStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    RUNNING = "running", _("Running")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")


class RecomputeRun(models.Model):
    """A full-book recompute, split into chunks; progress is the sum of its chunks."""

    Status = RunStatus

    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PENDING, verbose_name=_("status"))
    trigger = models.CharField(max_length=16, choices=Trigger.choices, default=Trigger.MANUAL, verbose_name=_("trigger"))
    # Said on the runs page next to the trigger: "started by a policy activation", "replay".
    origin = models.CharField(max_length=16, choices=RunOrigin.choices, default=RunOrigin.PERSON, blank=True, verbose_name=_("origin"))
    policy_version = models.ForeignKey(PolicyVersion, null=True, on_delete=models.PROTECT, related_name="runs", verbose_name=_("policy version"))
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name=_("requested by")
    )
    chunk_size = models.PositiveIntegerField(default=2000, verbose_name=_("chunk size"))
    total_customers = models.PositiveIntegerField(default=0, verbose_name=_("total customers"))
    done_customers = models.PositiveIntegerField(default=0, verbose_name=_("done customers"))
    failed_customers = models.PositiveIntegerField(default=0, verbose_name=_("failed customers"))
    total_chunks = models.PositiveIntegerField(default=0, verbose_name=_("total chunks"))
    # The UTC date a nightly run is for, unique: beat's message is acks_late, so a worker lost
    # mid-task gets it redelivered, and the redelivery must find tonight's run, not start another.
    night = models.DateField(null=True, blank=True, verbose_name=_("night"))
    # The clock the run computes at. Empty for a live run: each chunk reads the time when it runs.
    # Set by a replay (`seed_demo --history-days`), whose nightly run for a past day must see the
    # book as it stood at that day's end, whenever its chunks happen to run.
    as_of = models.DateTimeField(null=True, blank=True, verbose_name=_("as of"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    started_at = models.DateTimeField(null=True, blank=True, verbose_name=_("started at"))
    finished_at = models.DateTimeField(null=True, blank=True, verbose_name=_("finished at"))

    class Meta:
        verbose_name = _("recompute run")
        verbose_name_plural = _("recompute runs")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["night"], name="run_one_per_night"),
            models.CheckConstraint(condition=Q(night__isnull=True) | Q(trigger=Trigger.NIGHTLY), name="run_night_only_nightly"),
            models.CheckConstraint(
                condition=Q(status__in=RunStatus.values),
                name="run_status_valid",
            ),
            models.CheckConstraint(
                condition=Q(done_customers__lte=F("total_customers")) & Q(failed_customers__lte=F("total_customers")),
                name="run_progress_within_total",
            ),
            models.CheckConstraint(condition=Q(chunk_size__gte=1), name="run_chunk_size_positive"),
        ]
        permissions = [("start_recomputerun", "Can start a full recompute")]

    def __str__(self) -> str:
        return gettext("run %(id)s (%(status)s)") % {"id": self.pk, "status": self.get_status_display()}


class RecomputeChunk(models.Model):
    """One slice of a run, keyed by (run, index), so a retried chunk is recognised and writes once."""

    Status = ChunkStatus

    run = models.ForeignKey(RecomputeRun, on_delete=models.PROTECT, related_name="chunks", verbose_name=_("run"))
    index = models.PositiveIntegerField(verbose_name=_("index"))
    first_customer_id = models.BigIntegerField(verbose_name=_("first customer id"))
    last_customer_id = models.BigIntegerField(verbose_name=_("last customer id"))
    size = models.PositiveIntegerField(verbose_name=_("size"))
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.PENDING, verbose_name=_("status"))
    # attempts counts claims; claimed_at is when the latest one began. A claim is a lease: the
    # worker renews `lease_until` while it works (a heartbeat), and a chunk `running` whose lease
    # lapsed lost its worker (the recovery sweep re-dispatches it, a copy may take it over).
    # `claim_token` names the holder (the Celery task id, the same across its retries), so a retry
    # takes back its own claim at once instead of waiting for the lease to lapse.
    attempts = models.PositiveSmallIntegerField(default=0, verbose_name=_("attempts"))
    claimed_at = models.DateTimeField(null=True, blank=True, verbose_name=_("claimed at"))
    lease_until = models.DateTimeField(null=True, blank=True, verbose_name=_("lease until"))
    claim_token = models.CharField(max_length=64, blank=True, verbose_name=_("claim token"))
    # When a task for the chunk was last sent to the broker: the sweep sends a pending chunk
    # again only once per grace period, not every minute while the first message is queued.
    dispatched_at = models.DateTimeField(null=True, blank=True, verbose_name=_("dispatched at"))
    finished_at = models.DateTimeField(null=True, blank=True, verbose_name=_("finished at"))
    error = models.TextField(blank=True, verbose_name=_("error"))

    class Meta:
        verbose_name = _("recompute chunk")
        verbose_name_plural = _("recompute chunks")
        ordering = ["run", "index"]
        constraints = [
            models.UniqueConstraint(fields=["run", "index"], name="chunk_unique_per_run"),
            models.CheckConstraint(condition=Q(status__in=ChunkStatus.values), name="chunk_status_valid"),
            models.CheckConstraint(condition=Q(first_customer_id__lte=F("last_customer_id")), name="chunk_range_ordered"),
            models.CheckConstraint(condition=~Q(status="running") | Q(claimed_at__isnull=False), name="chunk_running_is_claimed"),
        ]

    def __str__(self) -> str:
        return gettext("run %(run)s chunk %(index)s (%(status)s)") % {"run": self.run_id, "index": self.index, "status": self.get_status_display()}


class ScoreSnapshot(models.Model):
    """The score as computed at one moment, with everything needed to explain and reproduce it."""

    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="score_snapshots", verbose_name=_("customer"))
    policy_version = models.ForeignKey(PolicyVersion, on_delete=models.PROTECT, related_name="snapshots", verbose_name=_("policy version"))
    run = models.ForeignKey(RecomputeRun, null=True, blank=True, on_delete=models.PROTECT, related_name="snapshots", verbose_name=_("run"))
    computed_at = models.DateTimeField(verbose_name=_("computed at"))
    trigger = models.CharField(max_length=16, choices=Trigger.choices, verbose_name=_("trigger"))
    # Null when there is no credit_scoring consent: nothing was read, nothing was scored.
    score = models.PositiveSmallIntegerField(null=True, blank=True, verbose_name=_("score"))
    probability_of_default = models.DecimalField(max_digits=6, decimal_places=5, null=True, blank=True, verbose_name=_("probability of default"))
    band = models.CharField(max_length=1, choices=Band.choices, blank=True, verbose_name=_("band"))
    features = models.JSONField(default=dict, blank=True, verbose_name=_("features"))
    points = models.JSONField(default=dict, blank=True, help_text=_("points per feature"), verbose_name=_("points"))
    reason_codes = models.JSONField(default=list, blank=True, verbose_name=_("reason codes"))
    data_sources = models.JSONField(default=list, blank=True, help_text=_("which tables were read"), verbose_name=_("data sources"))
    consents_used = models.ManyToManyField(Consent, blank=True, related_name="score_snapshots", verbose_name=_("consents used"))

    class Meta:
        verbose_name = _("score snapshot")
        verbose_name_plural = _("score snapshots")
        ordering = ["-computed_at", "-id"]
        get_latest_by = "computed_at"
        constraints = [
            models.CheckConstraint(condition=Q(band__in=BAND_VALUES + [""]), name="snapshot_band_valid"),
            models.CheckConstraint(condition=Q(trigger__in=TRIGGER_VALUES), name="snapshot_trigger_valid"),
            models.CheckConstraint(
                condition=Q(probability_of_default__isnull=True)
                | (Q(probability_of_default__gte=0) & Q(probability_of_default__lte=1)),
                name="snapshot_pd_in_unit_interval",
            ),
            # A run writes at most one snapshot per customer: a retried chunk cannot double-write.
            models.UniqueConstraint(fields=["run", "customer"], condition=Q(run__isnull=False), name="snapshot_once_per_run"),
        ]
        indexes = [models.Index(fields=["customer", "-computed_at"], name="snapshot_customer_time_idx")]

    def __str__(self) -> str:
        return gettext("%(customer)s score %(score)s band %(band)s") % {"customer": self.customer_id, "score": self.score, "band": self.band or "-"}


class CreditDecision(models.Model):
    """A change of access or limit. Written only when one of them changes."""

    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="decisions", verbose_name=_("customer"))
    snapshot = models.ForeignKey(ScoreSnapshot, null=True, blank=True, on_delete=models.PROTECT, related_name="decisions", verbose_name=_("snapshot"))
    policy_version = models.ForeignKey(PolicyVersion, on_delete=models.PROTECT, related_name="decisions", verbose_name=_("policy version"))
    override = models.ForeignKey("Override", null=True, blank=True, on_delete=models.PROTECT, related_name="decisions", verbose_name=_("override"))
    run = models.ForeignKey(RecomputeRun, null=True, blank=True, on_delete=models.PROTECT, related_name="decisions", verbose_name=_("run"))
    decided_at = models.DateTimeField(verbose_name=_("decided at"))
    trigger = models.CharField(max_length=16, choices=Trigger.choices, verbose_name=_("trigger"))
    access = models.CharField(max_length=12, choices=Access.choices, verbose_name=_("access"))
    limit_amount = models.DecimalField(max_digits=14, decimal_places=2, verbose_name=_("limit amount"))
    previous_access = models.CharField(max_length=12, choices=Access.choices, blank=True, verbose_name=_("previous access"))
    previous_limit = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True, verbose_name=_("previous limit"))
    model_access = models.CharField(max_length=12, choices=Access.choices, help_text=_("before any override"), verbose_name=_("model access"))
    model_limit = models.DecimalField(max_digits=14, decimal_places=2, verbose_name=_("model limit"))
    reasons = models.JSONField(default=list, blank=True, verbose_name=_("reasons"))
    suspended_until = models.DateTimeField(null=True, blank=True, verbose_name=_("suspended until"))

    class Meta:
        verbose_name = _("credit decision")
        verbose_name_plural = _("credit decisions")
        ordering = ["-decided_at", "-id"]
        get_latest_by = "decided_at"
        constraints = [
            models.CheckConstraint(condition=Q(access__in=ACCESS_VALUES), name="decision_access_valid"),
            models.CheckConstraint(condition=Q(model_access__in=ACCESS_VALUES), name="decision_model_access_valid"),
            models.CheckConstraint(condition=Q(previous_access__in=ACCESS_VALUES + [""]), name="decision_previous_access_valid"),
            models.CheckConstraint(condition=Q(limit_amount__gte=0) & Q(model_limit__gte=0), name="decision_limit_non_negative"),
            models.CheckConstraint(condition=Q(trigger__in=TRIGGER_VALUES), name="decision_trigger_valid"),
            # No line, no limit: a closed, suspended or not-offered line carries limit 0.
            models.CheckConstraint(
                condition=Q(access__in=ACCESS_WITH_LIMIT) | Q(limit_amount=0), name="decision_no_limit_without_access"
            ),
            models.CheckConstraint(
                condition=~Q(access=Access.SUSPENDED.value) | Q(suspended_until__isnull=False),
                name="decision_suspension_has_expiry",
            ),
            models.UniqueConstraint(fields=["run", "customer"], condition=Q(run__isnull=False), name="decision_once_per_run"),
        ]
        indexes = [models.Index(fields=["customer", "-decided_at"], name="decision_customer_time_idx")]

    def __str__(self) -> str:
        return f"{self.customer_id} {self.get_access_display()} {money(self.limit_amount)}"


class CreditLine(models.Model):
    """The customer's current effective state: one row per customer, the head of the decision ledger."""

    customer = models.OneToOneField(Customer, on_delete=models.PROTECT, related_name="credit_line", verbose_name=_("customer"))
    access = models.CharField(max_length=12, choices=Access.choices, default=Access.NOT_OFFERED, verbose_name=_("access"))
    limit_amount = models.DecimalField(max_digits=14, decimal_places=2, default=0, verbose_name=_("limit amount"))
    score = models.PositiveSmallIntegerField(null=True, blank=True, verbose_name=_("score"))
    band = models.CharField(max_length=1, choices=Band.choices, blank=True, verbose_name=_("band"))
    suspended_until = models.DateTimeField(null=True, blank=True, verbose_name=_("suspended until"))
    # The model's own view, before any override: closed here is permanent (sticky).
    model_access = models.CharField(max_length=12, choices=Access.choices, default=Access.NOT_OFFERED, verbose_name=_("model access"))
    model_limit = models.DecimalField(max_digits=14, decimal_places=2, default=0, verbose_name=_("model limit"))
    last_decision = models.ForeignKey(CreditDecision, null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name=_("last decision"))
    last_snapshot = models.ForeignKey(ScoreSnapshot, null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name=_("last snapshot"))
    # Limit increases are capped per cycle: the cycle's start and the limit it started from.
    cycle_started_at = models.DateTimeField(null=True, blank=True, verbose_name=_("cycle started at"))
    cycle_base_limit = models.DecimalField(max_digits=14, decimal_places=2, default=0, verbose_name=_("cycle base limit"))
    # What utilisation is measured against: the limit in force when the statement period began
    # (see decisions/engine/exposure.py: a denominator the recompute itself cannot move).
    exposure_period_start = models.DateTimeField(null=True, blank=True, verbose_name=_("exposure period start"))
    exposure_limit = models.DecimalField(max_digits=14, decimal_places=2, default=0, verbose_name=_("exposure limit"))
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated at"))

    class Meta:
        verbose_name = _("credit line")
        verbose_name_plural = _("credit lines")
        ordering = ["customer_id"]
        constraints = [
            models.CheckConstraint(condition=Q(access__in=ACCESS_VALUES), name="line_access_valid"),
            models.CheckConstraint(condition=Q(model_access__in=ACCESS_VALUES), name="line_model_access_valid"),
            models.CheckConstraint(condition=Q(model_limit__gte=0), name="line_model_limit_non_negative"),
            models.CheckConstraint(condition=Q(band__in=BAND_VALUES + [""]), name="line_band_valid"),
            models.CheckConstraint(condition=Q(limit_amount__gte=0) & Q(cycle_base_limit__gte=0), name="line_limit_non_negative"),
            models.CheckConstraint(condition=Q(exposure_limit__gte=0), name="line_exposure_limit_non_negative"),
            models.CheckConstraint(condition=Q(access__in=ACCESS_WITH_LIMIT) | Q(limit_amount=0), name="line_no_limit_without_access"),
            models.CheckConstraint(
                condition=~Q(access=Access.SUSPENDED.value) | Q(suspended_until__isnull=False), name="line_suspension_has_expiry"
            ),
        ]
        indexes = [models.Index(fields=["access", "band"], name="line_access_band_idx")]

    def __str__(self) -> str:
        return f"{self.customer_id} {self.get_access_display()} {money(self.limit_amount)}"


class AlertRule(models.TextChoices):
    OVER_BORROWING = "OVER_BORROWING", _("Over-borrowing")
    FREQUENT_APPLICATIONS = "FREQUENT_APPLICATIONS", _("Frequent applications")
    SPENDING_SPIKE = "SPENDING_SPIKE", _("Spending spike")
    OVERDUE_30 = "OVERDUE_30", _("Overdue 30+ days")
    OVERDUE_90 = "OVERDUE_90", _("Overdue 90+ days")
    CONSENT_WITHDRAWN = "CONSENT_WITHDRAWN", _("Consent withdrawn")
    DISCLOSURE_MISSING = "DISCLOSURE_MISSING", _("Risk disclosure not acknowledged")


class AlertAction(models.TextChoices):
    REVIEW = "review", _("Review (queue only)")
    SUSPEND = "suspend", _("Suspend temporarily")
    CLOSE = "close", _("Close permanently")


class AlertStatus(models.TextChoices):
    OPEN = "open", _("Open")
    IN_REVIEW = "in_review", _("In review")
    RESOLVED = "resolved", _("Resolved")
    DISMISSED = "dismissed", _("Dismissed")  # a false positive: suppressed until suppressed_until
    CONFIRMED = "confirmed", _("Confirmed")  # a real risk: its action stays in force until suppressed_until


# An analyst still has to act on these; every other status is closed and carries resolved_at.
ALERT_OPEN_STATUSES = (AlertStatus.OPEN.value, AlertStatus.IN_REVIEW.value)
ALERT_CLOSED_STATUSES = tuple(s for s in AlertStatus.values if s not in ALERT_OPEN_STATUSES)


class RiskAlert(models.Model):
    """A rule's hit on a customer, and its triage: open → in_review (claimed) → dismissed or confirmed.

    Dismissed and confirmed alerts carry `suppressed_until`: until then the recompute does not
    raise the same rule again unless its severity rises (see decisions/casework/services/triage.py).
    """

    Rule = AlertRule

    Action = AlertAction

    Status = AlertStatus

    OPEN_STATUSES = ALERT_OPEN_STATUSES
    CLOSED_STATUSES = ALERT_CLOSED_STATUSES

    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="alerts", verbose_name=_("customer"))
    rule = models.CharField(max_length=24, choices=Rule.choices, verbose_name=_("rule"))
    action = models.CharField(max_length=8, choices=Action.choices, verbose_name=_("action"))
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN, verbose_name=_("status"))
    severity = models.PositiveSmallIntegerField(default=1, help_text=_("1 low … 5 critical"), verbose_name=_("severity"))
    evidence = models.JSONField(default=dict, blank=True, verbose_name=_("evidence"))
    snapshot = models.ForeignKey(ScoreSnapshot, null=True, blank=True, on_delete=models.PROTECT, related_name="alerts", verbose_name=_("snapshot"))
    raised_at = models.DateTimeField(verbose_name=_("raised at"))
    last_seen_at = models.DateTimeField(verbose_name=_("last seen at"))
    effective_until = models.DateTimeField(null=True, blank=True, help_text=_("end of a temporary suspension"), verbose_name=_("effective until"))
    assigned_to = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="assigned_alerts", verbose_name=_("assigned to")
    )
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name=_("resolved by")
    )
    resolved_at = models.DateTimeField(null=True, blank=True, verbose_name=_("resolved at"))
    resolution = models.TextField(blank=True, verbose_name=_("resolution"))
    # When the current assignee claimed it (the SLA clock itself runs from raised_at).
    claimed_at = models.DateTimeField(null=True, blank=True, verbose_name=_("claimed at"))
    # Set by dismiss/confirm: until then the same rule's hit is not raised again (unless more severe).
    suppressed_until = models.DateTimeField(null=True, blank=True, verbose_name=_("suppressed until"))

    class Meta:
        verbose_name = _("risk alert")
        verbose_name_plural = _("risk alerts")
        ordering = ["-severity", "raised_at", "id"]
        permissions = [("assign_riskalert", "Can assign alerts to any analyst")]
        constraints = [
            models.CheckConstraint(condition=Q(rule__in=AlertRule.values), name="alert_rule_valid"),
            models.CheckConstraint(condition=Q(action__in=AlertAction.values), name="alert_action_valid"),
            models.CheckConstraint(condition=Q(status__in=AlertStatus.values), name="alert_status_valid"),
            models.CheckConstraint(condition=Q(severity__gte=1) & Q(severity__lte=5), name="alert_severity_range"),
            models.CheckConstraint(
                condition=~Q(action=AlertAction.SUSPEND.value) | Q(effective_until__isnull=False), name="alert_suspend_has_expiry"
            ),
            models.CheckConstraint(
                condition=Q(effective_until__isnull=True) | Q(effective_until__gt=F("raised_at")),
                name="alert_expiry_after_raised",
            ),
            models.CheckConstraint(
                condition=Q(status__in=list(ALERT_OPEN_STATUSES), resolved_at__isnull=True)
                | Q(status__in=list(ALERT_CLOSED_STATUSES), resolved_at__isnull=False),
                name="alert_resolved_at_iff_closed",
            ),
            # A claimed alert is someone's: in review always has an assignee and a claim time.
            models.CheckConstraint(
                condition=~Q(status=AlertStatus.IN_REVIEW.value) | Q(assigned_to__isnull=False, claimed_at__isnull=False),
                name="alert_in_review_is_assigned",
            ),
            # An open alert of the same rule is updated, never duplicated.
            models.UniqueConstraint(
                fields=["customer", "rule"], condition=Q(status__in=list(ALERT_OPEN_STATUSES)), name="alert_one_open_per_rule"
            ),
        ]
        indexes = [
            models.Index(fields=["status", "-severity", "raised_at"], name="alert_queue_idx"),
            models.Index(fields=["customer", "status"], name="alert_customer_status_idx"),
            # Queue filters (decisions/casework/queue_selectors.py): by rule, by assignee, oldest first.
            models.Index(fields=["rule", "status"], name="alert_rule_status_idx"),
            models.Index(fields=["assigned_to", "status"], name="alert_assignee_status_idx"),
            models.Index(fields=["severity", "status"], name="alert_severity_status_idx"),
        ]

    def __str__(self) -> str:
        return gettext("%(rule)s on %(customer)s (%(status)s)") % {"rule": self.get_rule_display(), "customer": self.customer_id, "status": self.get_status_display()}


class CaseNote(models.Model):
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="case_notes", verbose_name=_("customer"))
    alert = models.ForeignKey(RiskAlert, null=True, blank=True, on_delete=models.PROTECT, related_name="notes", verbose_name=_("alert"))
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("author"))
    body = models.TextField(verbose_name=_("body"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))

    class Meta:
        verbose_name = _("case note")
        verbose_name_plural = _("case notes")
        ordering = ["-created_at", "-id"]
        constraints = [models.CheckConstraint(condition=~Q(body=""), name="note_body_not_blank")]

    def __str__(self) -> str:
        return gettext("note %(id)s on %(customer)s") % {"id": self.pk, "customer": self.customer_id}


class OverrideState(models.TextChoices):
    PENDING = "pending", _("Pending approval")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")
    EXPIRED = "expired", _("Expired")
    REVOKED = "revoked", _("Revoked")


class Override(models.Model):
    """A person's decision that wins over the model's until it expires. Needs a second person."""

    State = OverrideState

    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="overrides", verbose_name=_("customer"))
    # Either may be left to the model: blank access keeps the model's access, a null limit keeps
    # the model's limit. At least one of them is set.
    access = models.CharField(max_length=12, choices=Access.choices, blank=True, verbose_name=_("access"))
    limit_amount = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True, verbose_name=_("limit amount"))
    reason_category = models.CharField(max_length=32, default="other", help_text=_("from the policy's overrides.reason_categories"), verbose_name=_("reason category"))
    reason = models.TextField(verbose_name=_("reason"))
    expires_at = models.DateTimeField(verbose_name=_("expires at"))
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING, verbose_name=_("state"))
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("requested by"))
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name=_("decided by")
    )
    decided_at = models.DateTimeField(null=True, blank=True, verbose_name=_("decided at"))
    decision_note = models.TextField(blank=True, verbose_name=_("decision note"))
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name=_("revoked by")
    )
    revoked_at = models.DateTimeField(null=True, blank=True, verbose_name=_("revoked at"))
    revoke_note = models.TextField(blank=True, verbose_name=_("revoke note"))
    created_at = models.DateTimeField(verbose_name=_("created at"))
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated at"))

    class Meta:
        verbose_name = _("override")
        verbose_name_plural = _("overrides")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(access__in=ACCESS_VALUES + [""]), name="override_access_valid"),
            models.CheckConstraint(
                condition=~Q(access="") | Q(limit_amount__isnull=False), name="override_names_access_or_limit"
            ),
            models.CheckConstraint(
                condition=Q(state__in=OverrideState.values), name="override_state_valid"
            ),
            models.CheckConstraint(
                condition=Q(limit_amount__isnull=True) | Q(limit_amount__gte=0), name="override_limit_non_negative"
            ),
            models.CheckConstraint(
                condition=Q(access__in=ACCESS_WITH_LIMIT + [""]) | Q(limit_amount__isnull=True) | Q(limit_amount=0),
                name="override_no_limit_without_access",
            ),
            # One request waits for a second person at a time, per customer.
            models.UniqueConstraint(
                fields=["customer"], condition=Q(state=OverrideState.PENDING.value), name="override_one_pending_per_customer"
            ),
            models.CheckConstraint(
                condition=~Q(state=OverrideState.REVOKED.value) | Q(revoked_by__isnull=False, revoked_at__isnull=False),
                name="override_revocation_recorded",
            ),
            models.CheckConstraint(condition=~Q(reason=""), name="override_reason_required"),
            models.CheckConstraint(condition=Q(expires_at__gt=F("created_at")), name="override_expires_after_created"),
            # Four eyes, in the database too: the approver is never the requester.
            models.CheckConstraint(
                condition=Q(decided_by__isnull=True) | ~Q(decided_by=F("requested_by")), name="override_four_eyes"
            ),
            models.CheckConstraint(
                condition=~Q(state__in=[OverrideState.APPROVED.value, OverrideState.REJECTED.value])
                | Q(decided_by__isnull=False, decided_at__isnull=False),
                name="override_decision_recorded",
            ),
        ]
        indexes = [
            models.Index(fields=["customer", "state", "expires_at"], name="override_lookup_idx"),
            models.Index(fields=["state", "expires_at"], name="override_state_expiry_idx"),
        ]
        permissions = [("approve_override", "Can approve or reject an override requested by someone else")]

    def __str__(self) -> str:
        return gettext("override %(id)s %(access)s for %(customer)s (%(state)s)") % {"id": self.pk, "access": self.get_access_display(), "customer": self.customer_id, "state": self.get_state_display()}


class BookMetric(models.TextChoices):
    """What a `BookDailyStat` row counts. Snapshot metrics describe the book as it stood at the
    day's last refresh; flow metrics count what happened during the day (UTC)."""

    # snapshot metrics (key → value)
    CUSTOMERS_BY_ACCESS = "customers_by_access", _("Customers by access state")  # access state → customers
    CUSTOMERS_BY_BAND = "customers_by_band", _("Customers by band")  # band, "" = unscored → customers
    SCORE_BUCKET = "score_bucket", _("Customers by score bucket")  # "<band>:<10-point bucket>" → customers
    LIMIT_EXPOSURE = "limit_exposure", _("Total limit exposure")  # "" → sum of limits in force
    DRAWN_BALANCE = "drawn_balance", _("Total drawn balance")  # "" → outstanding installment amounts
    # flow metrics
    ALERTS_RAISED = "alerts_raised", _("Alerts raised")  # rule → alerts raised that day
    LIMIT_CHANGES = "limit_changes", _("Limit changes")  # "increase" / "cut" → decisions that day


class BookDailyStat(models.Model):
    """Pre-aggregated book-wide figures, one row per (day, metric, key), so the overview reads a
    few hundred small rows instead of scanning the book and its transactions on every view.

    Long rather than wide: a new rule, band or access state is a new key, not a migration.
    Written only by `decisions.casework.services.book_stats.book_stats_refresh` (an upsert for the day)."""

    Metric = BookMetric

    day = models.DateField(help_text=_("UTC day"), verbose_name=_("day"))
    metric = models.CharField(max_length=24, choices=BookMetric.choices, verbose_name=_("metric"))
    key = models.CharField(max_length=32, blank=True, verbose_name=_("key"))
    # Counts and money in one column; counts are whole numbers.
    value = models.DecimalField(max_digits=18, decimal_places=2, verbose_name=_("value"))
    computed_at = models.DateTimeField(verbose_name=_("computed at"))

    class Meta:
        verbose_name = _("book daily stat")
        verbose_name_plural = _("book daily stats")
        ordering = ["day", "metric", "key"]
        constraints = [
            # The upsert key; its index (day first) also serves the overview's "last 90 days" read.
            models.UniqueConstraint(fields=["day", "metric", "key"], name="book_stat_unique_day_metric_key"),
            models.CheckConstraint(condition=Q(metric__in=BookMetric.values), name="book_stat_metric_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.metric}[{self.key}] = {self.value}"



class SimulationStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    RUNNING = "running", _("Running")
    SUCCEEDED = "succeeded", _("Succeeded")
    FAILED = "failed", _("Failed")


class PolicySimulation(models.Model):
    """A draft policy scored on the whole book without writing a decision: what would move where.

    Chunked like a recompute (`SimulationChunk`), so a lost worker loses one chunk, and the
    totals are the sum of the chunks' partial results (`result`, written when the last one ends)."""

    Status = SimulationStatus

    policy_version = models.ForeignKey(PolicyVersion, on_delete=models.PROTECT, related_name="simulations", verbose_name=_("policy version"))
    # What the draft is compared with: the version active when the simulation started.
    baseline_version = models.ForeignKey(PolicyVersion, null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name=_("baseline version"))
    # The draft's `edited_at` (or `created_at`) when the simulation started: activation needs a
    # simulation of the body as it is now.
    body_edited_at = models.DateTimeField(verbose_name=_("body edited at"))
    as_of = models.DateTimeField(help_text=_("the clock the book was scored at"), verbose_name=_("as of"))
    status = models.CharField(max_length=10, choices=SimulationStatus.choices, default=SimulationStatus.PENDING, verbose_name=_("status"))
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name=_("requested by")
    )
    chunk_size = models.PositiveIntegerField(default=2000, verbose_name=_("chunk size"))
    total_customers = models.PositiveIntegerField(default=0, verbose_name=_("total customers"))
    done_customers = models.PositiveIntegerField(default=0, verbose_name=_("done customers"))
    total_chunks = models.PositiveIntegerField(default=0, verbose_name=_("total chunks"))
    result = models.JSONField(default=dict, blank=True, verbose_name=_("result"))
    error = models.TextField(blank=True, verbose_name=_("error"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    started_at = models.DateTimeField(null=True, blank=True, verbose_name=_("started at"))
    finished_at = models.DateTimeField(null=True, blank=True, verbose_name=_("finished at"))

    class Meta:
        verbose_name = _("policy simulation")
        verbose_name_plural = _("policy simulations")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(status__in=SimulationStatus.values), name="simulation_status_valid"),
            models.CheckConstraint(condition=Q(done_customers__lte=F("total_customers")), name="simulation_progress_within_total"),
            models.CheckConstraint(condition=Q(chunk_size__gte=1), name="simulation_chunk_size_positive"),
        ]

    def __str__(self) -> str:
        return gettext("simulation %(id)s of policy %(policy)s (%(status)s)") % {"id": self.pk, "policy": self.policy_version_id, "status": self.get_status_display()}


class SimulationChunk(models.Model):
    simulation = models.ForeignKey(PolicySimulation, on_delete=models.CASCADE, related_name="chunks", verbose_name=_("simulation"))
    index = models.PositiveIntegerField(verbose_name=_("index"))
    first_customer_id = models.BigIntegerField(verbose_name=_("first customer id"))
    last_customer_id = models.BigIntegerField(verbose_name=_("last customer id"))
    size = models.PositiveIntegerField(verbose_name=_("size"))
    status = models.CharField(max_length=8, choices=ChunkStatus.choices, default=ChunkStatus.PENDING, verbose_name=_("status"))
    attempts = models.PositiveSmallIntegerField(default=0, verbose_name=_("attempts"))
    claimed_at = models.DateTimeField(null=True, blank=True, verbose_name=_("claimed at"))
    finished_at = models.DateTimeField(null=True, blank=True, verbose_name=_("finished at"))
    partial = models.JSONField(default=dict, blank=True, help_text=_("this chunk's counts and sums"), verbose_name=_("partial"))
    error = models.TextField(blank=True, verbose_name=_("error"))

    class Meta:
        verbose_name = _("simulation chunk")
        verbose_name_plural = _("simulation chunks")
        ordering = ["simulation", "index"]
        constraints = [
            models.UniqueConstraint(fields=["simulation", "index"], name="simulation_chunk_unique"),
            models.CheckConstraint(condition=Q(status__in=ChunkStatus.values), name="simulation_chunk_status_valid"),
        ]

    def __str__(self) -> str:
        return gettext("simulation %(id)s chunk %(index)s (%(status)s)") % {"id": self.simulation_id, "index": self.index, "status": self.get_status_display()}


class NoticeKind(models.TextChoices):
    CLOSED = "closed", _("Line closed")
    SUSPENDED = "suspended", _("Line suspended")
    LIMITED = "limited", _("Line limited")
    LIMIT_CUT = "limit_cut", _("Limit cut")
    REFUSED = "refused", _("Line refused")


class CustomerNotice(models.Model):
    """What the customer is told about an adverse decision: one per decision that closes,
    suspends, limits, cuts or refuses a line, in the customer's language. Append-only."""

    Kind = NoticeKind

    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="notices", verbose_name=_("customer"))
    decision = models.OneToOneField(CreditDecision, on_delete=models.PROTECT, related_name="notice", verbose_name=_("decision"))
    kind = models.CharField(max_length=12, choices=NoticeKind.choices, verbose_name=_("kind"))
    language = models.CharField(max_length=10, choices=CustomerLanguage.choices, help_text=_("the customer's language: en or zh-hans"), verbose_name=_("language"))
    # Plain-language reasons, already in the customer's language: [{"code", "text"}].
    reasons = models.JSONField(default=list, blank=True, verbose_name=_("reasons"))
    # The risk disclosure in force when the notice was written (None when none is published).
    disclosure = models.ForeignKey(
        "accounts.Disclosure", null=True, blank=True, on_delete=models.PROTECT, related_name="notices", verbose_name=_("disclosure")
    )
    review_text = models.TextField(help_text=_("how to ask for a review, in the customer's language"), verbose_name=_("review text"))
    created_at = models.DateTimeField(verbose_name=_("created at"))

    class Meta:
        verbose_name = _("customer notice")
        verbose_name_plural = _("customer notices")
        ordering = ["-created_at", "-id"]
        constraints = [models.CheckConstraint(condition=Q(kind__in=NoticeKind.values), name="notice_kind_valid")]
        indexes = [models.Index(fields=["customer", "-created_at"], name="notice_customer_time_idx")]

    def __str__(self) -> str:
        return gettext("notice %(id)s %(kind)s for %(customer)s") % {"id": self.pk, "kind": self.get_kind_display(), "customer": self.customer_id}


class ChallengerState(models.TextChoices):
    ATTACHED = "attached", _("Attached")
    DETACHED = "detached", _("Detached")


class ChallengerAttachment(models.Model):
    """A policy version scored in shadow by every nightly run while it is attached (the challenger).

    Only a draft or a retired version, never the active one (the champion); at most one attached at
    a time. Rows are never deleted: a detach closes the row, so the history of which challenger
    shadowed which nights stays readable (decisions/engine/services/shadow.py reads it by time).
    Written by decisions/governance/services/challenger.py only."""

    State = ChallengerState

    version = models.ForeignKey(PolicyVersion, on_delete=models.PROTECT, related_name="challenger_attachments", verbose_name=_("version"))
    state = models.CharField(max_length=8, choices=ChallengerState.choices, default=ChallengerState.ATTACHED, verbose_name=_("state"))
    # The draft's body as attached (its `edited_at` or `created_at`): a draft edited afterwards is
    # no longer what was attached, and the engine stops shadowing it until it is attached again.
    body_edited_at = models.DateTimeField(verbose_name=_("body edited at"))
    attached_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("attached by"))
    attached_at = models.DateTimeField(verbose_name=_("attached at"))
    detached_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name=_("detached by"))
    detached_at = models.DateTimeField(null=True, blank=True, verbose_name=_("detached at"))

    class Meta:
        verbose_name = _("challenger attachment")
        verbose_name_plural = _("challenger attachments")
        ordering = ["-attached_at", "-id"]
        constraints = [
            # At most one challenger at a time, in the database too.
            models.UniqueConstraint(
                fields=["state"], condition=Q(state=ChallengerState.ATTACHED.value), name="challenger_one_attached"
            ),
            models.CheckConstraint(condition=Q(state__in=ChallengerState.values), name="challenger_state_valid"),
            models.CheckConstraint(
                condition=Q(state=ChallengerState.ATTACHED.value, detached_at__isnull=True)
                | Q(state=ChallengerState.DETACHED.value, detached_at__isnull=False, detached_at__gte=F("attached_at")),
                name="challenger_detached_iff_dated",
            ),
        ]

    def __str__(self) -> str:
        return gettext("challenger v%(version)s (%(state)s)") % {"version": self.version_id, "state": self.get_state_display()}


class ShadowScore(models.Model):
    """What the challenger would have decided for one customer in one nightly run, beside what the
    champion (the run's own policy) decided in the same computation: the swap sets.

    Compact on purpose (about 100 bytes a customer-night on PostgreSQL, docs/challenger.md): no
    features, points or reasons (the run's snapshot holds the features both were scored on), no
    surrogate id (the key is (run, customer), which also makes a second write of a night
    impossible). Access and limit are the model's own view (before any override), for both.
    Only customers with a score have a row: without a scoring consent nothing is read, and both
    policies leave the line not offered. Written in bulk by decisions/engine/services/shadow.py;
    nothing reads it to decide anything."""

    pk = models.CompositePrimaryKey("run_id", "customer_id")
    # No index of their own: the key's index leads with the run (every read is "a run's rows").
    run = models.ForeignKey(RecomputeRun, on_delete=models.PROTECT, related_name="shadow_scores", db_index=False, verbose_name=_("run"))
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="+", db_index=False, verbose_name=_("customer"))
    challenger = models.ForeignKey(PolicyVersion, on_delete=models.PROTECT, related_name="+", db_index=False, verbose_name=_("challenger"))
    score = models.PositiveSmallIntegerField(verbose_name=_("score"))
    champion_score = models.PositiveSmallIntegerField(verbose_name=_("champion score"))
    band = models.CharField(max_length=1, choices=Band.choices, verbose_name=_("band"))
    champion_band = models.CharField(max_length=1, choices=Band.choices, verbose_name=_("champion band"))
    access = models.CharField(max_length=12, choices=Access.choices, verbose_name=_("access"))
    champion_access = models.CharField(max_length=12, choices=Access.choices, verbose_name=_("champion access"))
    limit_amount = models.DecimalField(max_digits=14, decimal_places=2, verbose_name=_("limit amount"))
    champion_limit = models.DecimalField(max_digits=14, decimal_places=2, verbose_name=_("champion limit"))

    class Meta:
        verbose_name = _("shadow score")
        verbose_name_plural = _("shadow scores")
        constraints = [
            models.CheckConstraint(
                condition=Q(band__in=BAND_VALUES) & Q(champion_band__in=BAND_VALUES), name="shadow_band_valid"
            ),
            models.CheckConstraint(
                condition=Q(access__in=ACCESS_VALUES) & Q(champion_access__in=ACCESS_VALUES), name="shadow_access_valid"
            ),
            models.CheckConstraint(
                condition=(Q(access__in=ACCESS_WITH_LIMIT) & Q(limit_amount__gte=0)) | Q(limit_amount=0),
                name="shadow_no_limit_without_access",
            ),
            models.CheckConstraint(
                condition=(Q(champion_access__in=ACCESS_WITH_LIMIT) & Q(champion_limit__gte=0)) | Q(champion_limit=0),
                name="shadow_champion_no_limit_without_access",
            ),
        ]

    def __str__(self) -> str:
        return f"run {self.run_id} customer {self.customer_id}: {self.champion_band}→{self.band}"


# Each rule's bit in `AccountCase.rule_mask`. Fixed numbers, never reused: the stored masks keep
# their meaning when rules are added or reordered in AlertRule.
CASE_RULE_BITS = {
    AlertRule.OVER_BORROWING.value: 1 << 0,
    AlertRule.FREQUENT_APPLICATIONS.value: 1 << 1,
    AlertRule.SPENDING_SPIKE.value: 1 << 2,
    AlertRule.OVERDUE_30.value: 1 << 3,
    AlertRule.OVERDUE_90.value: 1 << 4,
    AlertRule.CONSENT_WITHDRAWN.value: 1 << 5,
    AlertRule.DISCLOSURE_MISSING.value: 1 << 6,
}


class AccountCase(models.Model):
    """A flagged account as the queue works it: one open case per customer with open alerts.

    Derived from the customer's open alerts and kept in the same transaction as they change
    (`decisions.engine.services.cases.cases_sync`, called by the engine when it raises, updates or
    clears alerts and by triage when it claims, assigns, gives back, dismisses or confirms), so the
    queue, "next case" and the queue's counts read one row per account instead of grouping alerts
    on every request. Closed (`closed_at`) when its last open alert closes; a later alert opens a
    new case, so closed rows are the account's case history.
    """

    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="cases", verbose_name=_("customer"))
    max_severity = models.PositiveSmallIntegerField(help_text=_("highest severity among the open alerts"), verbose_name=_("max severity"))
    # The nearest SLA deadline among the open alerts: raised_at + the active policy's hours for
    # its severity (kept again for every open case when a policy with other hours is activated).
    due_at = models.DateTimeField(verbose_name=_("due at"))
    oldest_raised_at = models.DateTimeField(verbose_name=_("oldest raised at"))
    alert_count = models.PositiveSmallIntegerField(default=0, verbose_name=_("alert count"))
    rule_mask = models.PositiveIntegerField(default=0, help_text=_("the open alerts' rules, one bit each (CASE_RULE_BITS)"), verbose_name=_("rule mask"))
    # Who holds the account (one account, one analyst): the assignee of its open alerts.
    assigned_to = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="cases", verbose_name=_("assigned to")
    )
    # The credit line's access and band, copied when the engine writes the line or the alerts:
    # the queue filters and counts by them without reading the book's credit lines.
    access = models.CharField(max_length=12, blank=True, default="", verbose_name=_("access"))
    band = models.CharField(max_length=1, blank=True, default="", verbose_name=_("band"))
    opened_at = models.DateTimeField(verbose_name=_("opened at"))
    last_activity_at = models.DateTimeField(verbose_name=_("last activity at"))
    closed_at = models.DateTimeField(null=True, blank=True, verbose_name=_("closed at"))

    class Meta:
        verbose_name = _("case")
        verbose_name_plural = _("cases")
        constraints = [
            models.UniqueConstraint(fields=["customer"], condition=Q(closed_at__isnull=True), name="case_one_open_per_customer"),
            models.CheckConstraint(condition=Q(max_severity__gte=1) & Q(max_severity__lte=5), name="case_severity_range"),
            models.CheckConstraint(
                condition=Q(closed_at__isnull=True, alert_count__gte=1) | Q(closed_at__isnull=False, alert_count=0),
                name="case_open_iff_alerts",
            ),
        ]
        indexes = [
            # The queue's order of work (and "next case"): severity, nearest deadline, oldest.
            models.Index(
                fields=["-max_severity", "due_at", "oldest_raised_at", "customer"],
                condition=Q(closed_at__isnull=True), name="case_queue_idx",
            ),
            models.Index(fields=["assigned_to"], condition=Q(closed_at__isnull=True), name="case_assignee_idx"),
        ]

    def __str__(self) -> str:
        return f"case {self.pk} of {self.customer_id} ({'closed' if self.closed_at else 'open'})"
