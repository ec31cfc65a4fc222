"""Credit outcomes: for each customer and monthly observation date, whether the customer went bad.

A row is derived data (modelling/services/outcomes.py writes every row; nothing else does), so it
carries the definition it was computed under (`bad_days_past_due`, `horizon_months`, the policy
version they came from) and the date it was computed for: a model developed on these rows can say
exactly what its target meant.
"""

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from decisions.engine.policy import DAYS_MAX, OUTCOME_HORIZON_MONTHS_MAX


class Outcome(models.Model):
    customer = models.ForeignKey("accounts.Customer", on_delete=models.PROTECT, related_name="outcomes", verbose_name=_("customer"))
    observation_date = models.DateField(_("observation date"), help_text=_("The first day of a month (UTC)."))
    horizon_end = models.DateField(_("horizon end"), help_text=_("observation_date + horizon_months."))
    as_of = models.DateField(_("as of"), help_text=_("The date the row was computed for: no event after it was read."))
    worst_dpd = models.PositiveIntegerField(
        _("worst days past due"), help_text=_("Worst days past due reached after the observation date, up to min(horizon end, as of).")
    )
    matured = models.BooleanField(_("matured"), help_text=_("The whole horizon had passed by as_of."))
    bad = models.BooleanField(_("bad"), help_text=_("worst_dpd reached the bad threshold (may be true before maturity)."))
    bad_days_past_due = models.PositiveSmallIntegerField(_("bad threshold (days past due)"))
    horizon_months = models.PositiveSmallIntegerField(_("horizon (months)"))
    policy_version = models.ForeignKey("decisions.PolicyVersion", on_delete=models.PROTECT, related_name="outcomes", verbose_name=_("policy version"))
    computed_at = models.DateTimeField(_("computed at"))

    class Meta:
        ordering = ["customer", "-observation_date"]
        verbose_name = _("credit outcome")
        verbose_name_plural = _("credit outcomes")
        constraints = [
            models.UniqueConstraint(fields=["customer", "observation_date"], name="outcome_one_per_customer_month"),
            models.CheckConstraint(condition=Q(worst_dpd__gte=0), name="outcome_worst_dpd_non_negative"),
            models.CheckConstraint(
                condition=Q(horizon_months__gte=1) & Q(horizon_months__lte=OUTCOME_HORIZON_MONTHS_MAX),
                name="outcome_horizon_months_in_range",
            ),
            models.CheckConstraint(
                condition=Q(bad_days_past_due__gte=1) & Q(bad_days_past_due__lte=DAYS_MAX),
                name="outcome_bad_days_past_due_in_range",
            ),
            models.CheckConstraint(condition=Q(horizon_end__gt=F("observation_date")), name="outcome_horizon_after_observation"),
            models.CheckConstraint(condition=Q(as_of__gte=F("observation_date")), name="outcome_as_of_after_observation"),
            # bad ⇔ worst_dpd ≥ threshold; matured ⇔ the horizon had ended by as_of.
            models.CheckConstraint(
                condition=Q(bad=True, worst_dpd__gte=F("bad_days_past_due")) | Q(bad=False, worst_dpd__lt=F("bad_days_past_due")),
                name="outcome_bad_iff_threshold_reached",
            ),
            models.CheckConstraint(
                condition=Q(matured=True, horizon_end__lte=F("as_of")) | Q(matured=False, horizon_end__gt=F("as_of")),
                name="outcome_matured_iff_horizon_ended",
            ),
        ]
        indexes = [models.Index(fields=["observation_date"], name="outcome_observation_date_idx")]

    def __str__(self) -> str:
        state = "bad" if self.bad else "good"
        return f"{self.customer_id} {self.observation_date:%Y-%m} {state}{'' if self.matured else ' (open)'}"


class ScorecardDevelopment(models.Model):
    """A fitted scorecard: the draft policy version it was written as, the digest of the sample it
    was fitted on, its validation report and the reference distributions monitoring compares the
    book with (frozen with the bins when the draft is signed off and activated).

    Written by modelling/services/development.py only. The report is valid for one scorecard:
    `scorecard_digest` is the digest of the draft's `scorecard` section when it was validated, and
    an activation request for a draft whose scorecard has changed since is refused.
    """

    class Source(models.TextChoices):
        BOOK = "book", _("the book")
        CSV = "csv", _("a CSV file")

    policy_version = models.OneToOneField(
        "decisions.PolicyVersion", on_delete=models.PROTECT, related_name="development", verbose_name=_("policy version")
    )
    source = models.CharField(_("source"), max_length=8, choices=Source.choices, default=Source.BOOK)
    sample_digest = models.JSONField(_("sample digest"), help_text=_("Rows, dates, definition of bad, exclusions and a SHA-256 over the rows."))
    sample_sha256 = models.CharField(_("sample SHA-256"), max_length=64)
    fit_settings = models.JSONField(_("fit settings"), default=dict)
    report = models.JSONField(_("validation report"))
    report_sha256 = models.CharField(_("report SHA-256"), max_length=64)
    scorecard_sha256 = models.CharField(_("scorecard SHA-256"), max_length=64, help_text=_("The digest of the scorecard section the report validated."))
    reference = models.JSONField(_("monitoring reference"), help_text=_("Development distributions of the score and of each feature over its bins."))
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name=_("created by"))
    created_at = models.DateTimeField(_("fitted at"))
    validated_at = models.DateTimeField(_("validated at"))
    # A hand-edited draft has no fit: its record holds only the validation of its current
    # scorecard (services/signoff.py), and the report page must not call it "fitted".
    fitted = models.BooleanField(_("fitted"), default=True, help_text=_("False when the scorecard was edited by hand and only validated."))
    validated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name=_("validated by")
    )

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("scorecard development")
        verbose_name_plural = _("scorecard developments")

    def __str__(self) -> str:
        return f"scorecard of policy v{self.policy_version.version}"


class MonitoringLevel(models.TextChoices):
    """How far a distribution has moved from its reference (modelling/validation.py: psi_level)."""

    STABLE = "stable", _("stable")
    WARNING = "warning", _("warning")
    ALERT = "alert", _("alert")


class ModelReference(models.Model):
    """The distributions a monitored policy version is compared with, frozen the first night it is
    monitored and never changed after: a copy of its development's reference when it has one
    (`ScorecardDevelopment.reference`), else the book's own distribution that night (a hand-set
    policy such as v1). Same shape either way: `score_edges`, `score_counts`, `features` (per
    feature its bins' `edges` and `counts`, the last count the missing values) and `rows`.

    Written by modelling/services/monitoring.py only."""

    class Source(models.TextChoices):
        DEVELOPMENT = "development", _("the development sample")
        BOOK = "book", _("the book on the first night monitored")

    policy_version = models.OneToOneField(
        "decisions.PolicyVersion", on_delete=models.PROTECT, related_name="monitoring_reference", verbose_name=_("policy version")
    )
    source = models.CharField(_("source"), max_length=12, choices=Source.choices)
    reference = models.JSONField(_("reference"), help_text=_("Score deciles and feature bins with their counts."))
    as_of = models.DateField(_("as of"), help_text=_("The night it was frozen on (from the book), or first used on (from a development)."))
    frozen_at = models.DateTimeField(_("frozen at"))

    class Meta:
        verbose_name = _("monitoring reference")
        verbose_name_plural = _("monitoring references")

    def __str__(self) -> str:
        return f"reference of policy version {self.policy_version_id} ({self.source})"


class ModelHealth(models.Model):
    """One night's stability figures for one policy version: the score's PSI and each feature's
    CSI against the version's `ModelReference`, over each customer's latest scored snapshot.

    `level` is the worst level among the score and the features. `counts` keeps the distribution
    measured (per score bucket and per feature bin) so a night can be explained and a rerun that
    finds the same book writes nothing. Written by modelling/services/monitoring.py only."""

    Level = MonitoringLevel

    policy_version = models.ForeignKey(
        "decisions.PolicyVersion", on_delete=models.PROTECT, related_name="health", verbose_name=_("policy version")
    )
    day = models.DateField(_("night (as of)"))
    score_psi = models.FloatField(_("score PSI"))
    csi = models.JSONField(_("CSI per feature"), default=dict)
    counts = models.JSONField(_("distribution measured"), default=dict)
    rows = models.PositiveIntegerField(_("customers measured"))
    level = models.CharField(_("level"), max_length=8, choices=MonitoringLevel.choices)
    computed_at = models.DateTimeField(_("computed at"))

    class Meta:
        ordering = ["-day"]
        verbose_name = _("model health")
        verbose_name_plural = _("model health")
        constraints = [
            models.UniqueConstraint(fields=["policy_version", "day"], name="model_health_one_per_version_night"),
            models.CheckConstraint(condition=Q(level__in=MonitoringLevel.values), name="model_health_level_valid"),
            models.CheckConstraint(condition=Q(score_psi__gte=0), name="model_health_psi_non_negative"),
        ]

    def __str__(self) -> str:
        return f"policy version {self.policy_version_id} on {self.day}: PSI {self.score_psi:.3f} ({self.level})"


class ModelAlertStatus(models.TextChoices):
    OPEN = "open", _("open")
    ACKNOWLEDGED = "acknowledged", _("acknowledged")


class ModelAlert(models.Model):
    """A metric (the score's PSI, or one feature's CSI) that reached the alert level, PSI ≥ 0.25:
    raised once per incident (until the metric falls below the level again) and acknowledged by a
    risk admin with a note. Written by modelling/services/monitoring.py only."""

    Status = ModelAlertStatus

    policy_version = models.ForeignKey(
        "decisions.PolicyVersion", on_delete=models.PROTECT, related_name="model_alerts", verbose_name=_("policy version")
    )
    health = models.ForeignKey(ModelHealth, on_delete=models.PROTECT, related_name="alerts", verbose_name=_("raised by the night"))
    metric = models.CharField(_("metric"), max_length=64, help_text=_('"score" for the score PSI, else the feature whose CSI it is.'))
    value = models.FloatField(_("value"))
    level = models.CharField(_("level"), max_length=8, choices=MonitoringLevel.choices, default=MonitoringLevel.ALERT)
    raised_at = models.DateTimeField(_("raised at"))
    status = models.CharField(_("status"), max_length=12, choices=ModelAlertStatus.choices, default=ModelAlertStatus.OPEN)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name=_("acknowledged by")
    )
    acknowledged_at = models.DateTimeField(_("acknowledged at"), null=True, blank=True)
    note = models.TextField(_("note"), blank=True)

    class Meta:
        ordering = ["-raised_at", "-id"]
        verbose_name = _("model alert")
        verbose_name_plural = _("model alerts")
        constraints = [
            # One incident at a time per metric: a second night above the level is the same alert.
            models.UniqueConstraint(
                fields=["policy_version", "metric"], condition=Q(status=ModelAlertStatus.OPEN.value), name="model_alert_one_open_per_metric"
            ),
            models.CheckConstraint(condition=Q(status__in=ModelAlertStatus.values), name="model_alert_status_valid"),
            models.CheckConstraint(condition=Q(level__in=MonitoringLevel.values), name="model_alert_level_valid"),
            # Acknowledged ⇔ someone, a moment and a note.
            models.CheckConstraint(
                condition=Q(status=ModelAlertStatus.OPEN.value, acknowledged_at__isnull=True, acknowledged_by__isnull=True)
                | (
                    Q(status=ModelAlertStatus.ACKNOWLEDGED.value, acknowledged_at__isnull=False, acknowledged_by__isnull=False)
                    & ~Q(note="")
                ),
                name="model_alert_acknowledged_iff_noted",
            ),
        ]

    def __str__(self) -> str:
        return f"model alert {self.metric} {self.value:.3f} on policy version {self.policy_version_id} ({self.status})"
