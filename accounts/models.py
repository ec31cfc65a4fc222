"""The customer and what the customer gives us. Event tables are append-only ledgers."""

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from riskops.core.masking import mask_national_id, mask_phone


class CustomerLanguage(models.TextChoices):
    ENGLISH = "en", "English"
    CHINESE = "zh-hans", "简体中文"


class Customer(models.Model):
    external_id = models.CharField(max_length=40, unique=True, help_text="id in the payments app")
    full_name = models.CharField(max_length=120)
    # PII is stored once, here, and shown masked everywhere else.
    national_id = models.CharField(max_length=20, unique=True)
    phone = models.CharField(max_length=20)
    onboarded_at = models.DateTimeField()
    # What the customer reads in the app: notices about decisions are written in it.
    language = models.CharField(max_length=10, choices=CustomerLanguage.choices, default=CustomerLanguage.ENGLISH)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(condition=~Q(external_id=""), name="customer_external_id_not_blank"),
            models.CheckConstraint(condition=Q(language__in=CustomerLanguage.values), name="customer_language_valid"),
        ]
        permissions = [("view_customer_pii", "Can see unmasked national id and phone")]

    def __str__(self) -> str:
        return self.external_id

    @property
    def national_id_masked(self) -> str:
        return mask_national_id(self.national_id)

    @property
    def phone_masked(self) -> str:
        return mask_phone(self.phone)


class TransactionKind(models.TextChoices):
    INCOME = "income", "Income (salary, transfer in)"
    PURCHASE = "purchase", "Card / QR purchase"
    BILL = "bill", "Bill payment"
    TRANSFER_OUT = "transfer_out", "Transfer out"
    CASH_OUT = "cash_out", "Cash withdrawal"
    CREDIT_DRAW = "credit_draw", "Credit-line draw"
    REPAYMENT = "repayment", "Credit-line repayment"


class Transaction(models.Model):
    """A payment movement in the app's wallet. Amounts are positive; the kind gives the direction."""

    Kind = TransactionKind

    external_id = models.CharField(max_length=40, unique=True)
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="transactions")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    amount = models.DecimalField(max_digits=14, decimal_places=2)
    merchant_category = models.CharField(max_length=32, blank=True)
    occurred_at = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-occurred_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="transaction_amount_positive"),
            models.CheckConstraint(condition=Q(kind__in=TransactionKind.values), name="transaction_kind_valid"),
        ]
        indexes = [models.Index(fields=["customer", "occurred_at"], name="txn_customer_time_idx")]

    def __str__(self) -> str:
        return f"{self.external_id} {self.kind} {self.amount}"


class RepaymentInstallment(models.Model):
    """One scheduled repayment of a credit-line draw. Days past due derive from due_on and paid_at."""

    draw = models.ForeignKey(Transaction, on_delete=models.PROTECT, related_name="installments")
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="installments")
    sequence = models.PositiveSmallIntegerField()
    due_on = models.DateField()
    amount_due = models.DecimalField(max_digits=14, decimal_places=2)
    amount_paid = models.DecimalField(max_digits=14, decimal_places=2, default=0)
    paid_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["due_on", "id"]
        constraints = [
            models.UniqueConstraint(fields=["draw", "sequence"], name="installment_unique_per_draw"),
            models.CheckConstraint(condition=Q(sequence__gte=1), name="installment_sequence_positive"),
            models.CheckConstraint(condition=Q(amount_due__gt=0), name="installment_amount_due_positive"),
            models.CheckConstraint(
                condition=Q(amount_paid__gte=0) & Q(amount_paid__lte=models.F("amount_due")),
                name="installment_amount_paid_in_range",
            ),
            # Fully paid ⇔ paid_at is set: a partial payment leaves the installment open.
            models.CheckConstraint(
                condition=(Q(paid_at__isnull=True) & Q(amount_paid__lt=models.F("amount_due")))
                | (Q(paid_at__isnull=False) & Q(amount_paid=models.F("amount_due"))),
                name="installment_paid_at_iff_fully_paid",
            ),
        ]
        indexes = [models.Index(fields=["customer", "due_on"], name="installment_customer_due_idx")]

    def __str__(self) -> str:
        return f"{self.draw_id}#{self.sequence} due {self.due_on}"


class CreditApplicationChannel(models.TextChoices):
    APP = "app", "App"
    WEB = "web", "Web"
    PARTNER = "partner", "Partner"


class CreditApplication(models.Model):
    """A customer asking for credit (a draw or a limit increase). Bursts are a risk signal."""

    Channel = CreditApplicationChannel

    external_id = models.CharField(max_length=40, unique=True)
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="applications")
    requested_amount = models.DecimalField(max_digits=14, decimal_places=2)
    channel = models.CharField(max_length=16, choices=Channel.choices, default=Channel.APP)
    applied_at = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-applied_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(requested_amount__gt=0), name="application_amount_positive"),
            models.CheckConstraint(
                condition=Q(channel__in=CreditApplicationChannel.values), name="application_channel_valid"
            ),
        ]
        indexes = [models.Index(fields=["customer", "applied_at"], name="application_customer_time_idx")]

    def __str__(self) -> str:
        return f"{self.external_id} {self.requested_amount}"


class BureauReport(models.Model):
    """A credit-bureau answer. Read only under a `bureau_query` consent."""

    external_id = models.CharField(max_length=40, unique=True)
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="bureau_reports")
    bureau = models.CharField(max_length=32, default="national")
    score = models.PositiveSmallIntegerField(help_text="300–900")
    external_lenders = models.PositiveSmallIntegerField(help_text="lenders with an open account")
    external_debt = models.DecimalField(max_digits=14, decimal_places=2)
    delinquencies_12m = models.PositiveSmallIntegerField(default=0)
    reported_at = models.DateTimeField()
    raw = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-reported_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(score__gte=300) & Q(score__lte=900), name="bureau_score_range"),
            models.CheckConstraint(condition=Q(external_debt__gte=0), name="bureau_debt_non_negative"),
        ]
        indexes = [models.Index(fields=["customer", "reported_at"], name="bureau_customer_time_idx")]

    def __str__(self) -> str:
        return f"{self.external_id} score {self.score}"


class DisclosureKind(models.TextChoices):
    RISK_DISCLOSURE = "risk_disclosure", "Risk disclosure"
    PRODUCT_TERMS = "product_terms", "Product terms"
    PRIVACY_NOTICE = "privacy_notice", "Privacy notice"
    CONSENT_TEXT = "consent_text", "Consent text"


class Disclosure(models.Model):
    """A versioned document shown to customers. Never edited: a change is a new version."""

    Kind = DisclosureKind

    kind = models.CharField(max_length=24, choices=Kind.choices)
    version = models.PositiveIntegerField()
    title = models.CharField(max_length=200)
    body = models.TextField()
    content_hash = models.CharField(max_length=64, help_text="SHA-256 of the body")
    published_at = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["kind", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["kind", "version"], name="disclosure_unique_version"),
            models.CheckConstraint(condition=Q(version__gte=1), name="disclosure_version_positive"),
            models.CheckConstraint(condition=Q(kind__in=DisclosureKind.values), name="disclosure_kind_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} v{self.version}"


class ConsentChannel(models.TextChoices):
    APP = "app", "App"
    WEB = "web", "Web"
    CALL_CENTER = "call_center", "Call centre"
    BRANCH = "branch", "Branch"


class DisclosureAcknowledgement(models.Model):
    Channel = ConsentChannel

    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="acknowledgements")
    disclosure = models.ForeignKey(Disclosure, on_delete=models.PROTECT, related_name="acknowledgements")
    channel = models.CharField(max_length=16, choices=ConsentChannel.choices, default=ConsentChannel.APP)
    shown_at = models.DateTimeField()
    acknowledged_at = models.DateTimeField()

    class Meta:
        ordering = ["-acknowledged_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["customer", "disclosure"], name="acknowledgement_once_per_version"),
            models.CheckConstraint(condition=Q(channel__in=ConsentChannel.values), name="acknowledgement_channel_valid"),
            models.CheckConstraint(
                condition=Q(acknowledged_at__gte=models.F("shown_at")), name="acknowledged_after_shown"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.customer_id} acknowledged {self.disclosure_id}"


class ConsentPurpose(models.TextChoices):
    CREDIT_SCORING = "credit_scoring", _("Credit scoring")
    BUREAU_QUERY = "bureau_query", _("Credit bureau query")
    TRANSACTION_ANALYSIS = "transaction_analysis", _("Transaction analysis")
    MARKETING = "marketing", _("Marketing")


class ConsentState(models.TextChoices):
    ACTIVE = "active", _("Active")
    WITHDRAWN = "withdrawn", _("Withdrawn")
    EXPIRED = "expired", _("Expired")


class Consent(models.Model):
    """A purpose-specific permission to use the customer's data.

    `state` and `withdrawn_at` are the projection of the `ConsentEvent` ledger,
    written by the consent services in the same transaction as the event.
    """

    Purpose = ConsentPurpose
    State = ConsentState
    Channel = ConsentChannel

    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="consents")
    purpose = models.CharField(max_length=24, choices=Purpose.choices)
    disclosure = models.ForeignKey(
        Disclosure, on_delete=models.PROTECT, related_name="consents", help_text="consent text the customer saw"
    )
    channel = models.CharField(max_length=16, choices=Channel.choices)
    evidence = models.JSONField(default=dict, blank=True, help_text="device, IP, signature reference…")
    state = models.CharField(max_length=12, choices=State.choices, default=State.ACTIVE)
    granted_at = models.DateTimeField()
    expires_at = models.DateTimeField(null=True, blank=True)
    withdrawn_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-granted_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(purpose__in=ConsentPurpose.values), name="consent_purpose_valid"),
            models.CheckConstraint(condition=Q(state__in=ConsentState.values), name="consent_state_valid"),
            models.CheckConstraint(condition=Q(channel__in=ConsentChannel.values), name="consent_channel_valid"),
            models.CheckConstraint(
                condition=Q(state=ConsentState.WITHDRAWN.value, withdrawn_at__isnull=False)
                | (~Q(state=ConsentState.WITHDRAWN.value) & Q(withdrawn_at__isnull=True)),
                name="consent_withdrawn_at_iff_withdrawn",
            ),
            models.CheckConstraint(
                condition=Q(expires_at__isnull=True) | Q(expires_at__gt=models.F("granted_at")),
                name="consent_expires_after_granted",
            ),
            models.CheckConstraint(
                condition=Q(withdrawn_at__isnull=True) | Q(withdrawn_at__gte=models.F("granted_at")),
                name="consent_withdrawn_after_granted",
            ),
            # At most one live consent per purpose: a re-grant after withdrawal is a new row.
            models.UniqueConstraint(
                fields=["customer", "purpose"], condition=Q(state=ConsentState.ACTIVE.value), name="consent_one_active_per_purpose"
            ),
        ]
        indexes = [models.Index(fields=["customer", "purpose", "state"], name="consent_lookup_idx")]

    def __str__(self) -> str:
        return f"{self.customer_id} {self.purpose} ({self.state})"


class ConsentEventKind(models.TextChoices):
    GRANTED = "granted", "Granted"
    WITHDRAWN = "withdrawn", "Withdrawn"
    EXPIRED = "expired", "Expired"


class ConsentEvent(models.Model):
    """Append-only ledger of what happened to a consent."""

    Kind = ConsentEventKind

    consent = models.ForeignKey(Consent, on_delete=models.PROTECT, related_name="events")
    kind = models.CharField(max_length=12, choices=Kind.choices)
    occurred_at = models.DateTimeField()
    channel = models.CharField(max_length=16, blank=True)
    evidence = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["occurred_at", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(kind__in=ConsentEventKind.values), name="consent_event_kind_valid"),
        ]

    def __str__(self) -> str:
        return f"consent {self.consent_id} {self.kind}"


class CustomerChangeMark(models.Model):
    """Outbox: "this customer's data changed and needs a recompute", written in the event's
    transaction. The broker message that asks for the recompute can be lost (a broker restart
    drops queued messages); this row cannot, because it commits with the event. The recompute
    deletes the customer's marks; a frequent sweep re-enqueues marks nobody cleared in time.
    One row per event rather than one per customer: an insert never waits on another event's
    row lock, which keeps the event path as short as before."""

    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="change_marks")
    trigger = models.CharField(max_length=16)
    marked_at = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["marked_at", "id"]

    def __str__(self) -> str:
        return f"{self.customer_id} {self.trigger} at {self.marked_at:%Y-%m-%d %H:%M:%S}"
