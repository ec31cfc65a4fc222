"""The customer and what the customer gives us. Event tables are append-only ledgers."""

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext, gettext_lazy as _

from riskops.core.formats import money, when
from riskops.core.masking import mask_national_id, mask_phone


class CustomerLanguage(models.TextChoices):
    ENGLISH = "en", _("English")
    CHINESE = "zh-hans", _("Simplified Chinese")


class Customer(models.Model):
    external_id = models.CharField(max_length=40, unique=True, help_text=_("id in the payments app"), verbose_name=_("external id"))
    full_name = models.CharField(max_length=120, verbose_name=_("full name"))
    # PII is stored once, here, and shown masked everywhere else.
    national_id = models.CharField(max_length=20, unique=True, verbose_name=_("national id"))
    phone = models.CharField(max_length=20, verbose_name=_("phone"))
    onboarded_at = models.DateTimeField(verbose_name=_("onboarded at"))
    # What the customer reads in the app: notices about decisions are written in it.
    language = models.CharField(max_length=10, choices=CustomerLanguage.choices, default=CustomerLanguage.ENGLISH, verbose_name=_("language"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))

    class Meta:
        verbose_name = _("customer")
        verbose_name_plural = _("customers")
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
    INCOME = "income", _("Income (salary, transfer in)")
    PURCHASE = "purchase", _("Card / QR purchase")
    BILL = "bill", _("Bill payment")
    TRANSFER_OUT = "transfer_out", _("Transfer out")
    CASH_OUT = "cash_out", _("Cash withdrawal")
    CREDIT_DRAW = "credit_draw", _("Credit-line draw")
    REPAYMENT = "repayment", _("Credit-line repayment")


class Transaction(models.Model):
    """A payment movement in the app's wallet. Amounts are positive; the kind gives the direction."""

    Kind = TransactionKind

    external_id = models.CharField(max_length=40, unique=True, verbose_name=_("external id"))
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="transactions", verbose_name=_("customer"))
    kind = models.CharField(max_length=16, choices=Kind.choices, verbose_name=_("kind"))
    amount = models.DecimalField(max_digits=14, decimal_places=2, verbose_name=_("amount"))
    merchant_category = models.CharField(max_length=32, blank=True, verbose_name=_("merchant category"))
    occurred_at = models.DateTimeField(verbose_name=_("occurred at"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))

    class Meta:
        verbose_name = _("transaction")
        verbose_name_plural = _("transactions")
        ordering = ["-occurred_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="transaction_amount_positive"),
            models.CheckConstraint(condition=Q(kind__in=TransactionKind.values), name="transaction_kind_valid"),
        ]
        indexes = [models.Index(fields=["customer", "occurred_at"], name="txn_customer_time_idx")]

    def __str__(self) -> str:
        return f"{self.external_id} {self.kind} {money(self.amount)}"


class RepaymentInstallment(models.Model):
    """One scheduled repayment of a credit-line draw. Days past due derive from due_on and paid_at."""

    draw = models.ForeignKey(Transaction, on_delete=models.PROTECT, related_name="installments", verbose_name=_("draw"))
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="installments", verbose_name=_("customer"))
    sequence = models.PositiveSmallIntegerField(verbose_name=_("sequence"))
    due_on = models.DateField(verbose_name=_("due on"))
    amount_due = models.DecimalField(max_digits=14, decimal_places=2, verbose_name=_("amount due"))
    amount_paid = models.DecimalField(max_digits=14, decimal_places=2, default=0, verbose_name=_("amount paid"))
    paid_at = models.DateTimeField(null=True, blank=True, verbose_name=_("paid at"))

    class Meta:
        verbose_name = _("repayment installment")
        verbose_name_plural = _("repayment installments")
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
        return gettext("%(draw)s#%(n)s due %(date)s") % {"draw": self.draw_id, "n": self.sequence, "date": self.due_on}


class CreditApplicationChannel(models.TextChoices):
    APP = "app", _("App")
    WEB = "web", _("Web")
    PARTNER = "partner", _("Partner")


class CreditApplication(models.Model):
    """A customer asking for credit (a draw or a limit increase). Bursts are a risk signal."""

    Channel = CreditApplicationChannel

    external_id = models.CharField(max_length=40, unique=True, verbose_name=_("external id"))
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="applications", verbose_name=_("customer"))
    requested_amount = models.DecimalField(max_digits=14, decimal_places=2, verbose_name=_("requested amount"))
    channel = models.CharField(max_length=16, choices=Channel.choices, default=Channel.APP, verbose_name=_("channel"))
    applied_at = models.DateTimeField(verbose_name=_("applied at"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))

    class Meta:
        verbose_name = _("credit application")
        verbose_name_plural = _("credit applications")
        ordering = ["-applied_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(requested_amount__gt=0), name="application_amount_positive"),
            models.CheckConstraint(
                condition=Q(channel__in=CreditApplicationChannel.values), name="application_channel_valid"
            ),
        ]
        indexes = [models.Index(fields=["customer", "applied_at"], name="application_customer_time_idx")]

    def __str__(self) -> str:
        return f"{self.external_id} {money(self.requested_amount)}"


class BureauReport(models.Model):
    """A credit-bureau answer. Read only under a `bureau_query` consent."""

    external_id = models.CharField(max_length=40, unique=True, verbose_name=_("external id"))
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="bureau_reports", verbose_name=_("customer"))
    bureau = models.CharField(max_length=32, default="national", verbose_name=_("bureau"))
    score = models.PositiveSmallIntegerField(help_text=_("300–900"), verbose_name=_("score"))
    external_lenders = models.PositiveSmallIntegerField(help_text=_("lenders with an open account"), verbose_name=_("external lenders"))
    external_debt = models.DecimalField(max_digits=14, decimal_places=2, verbose_name=_("external debt"))
    delinquencies_12m = models.PositiveSmallIntegerField(default=0, verbose_name=_("delinquencies 12m"))
    reported_at = models.DateTimeField(verbose_name=_("reported at"))
    raw = models.JSONField(default=dict, blank=True, verbose_name=_("raw"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))

    class Meta:
        verbose_name = _("bureau report")
        verbose_name_plural = _("bureau reports")
        ordering = ["-reported_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(score__gte=300) & Q(score__lte=900), name="bureau_score_range"),
            models.CheckConstraint(condition=Q(external_debt__gte=0), name="bureau_debt_non_negative"),
        ]
        indexes = [models.Index(fields=["customer", "reported_at"], name="bureau_customer_time_idx")]

    def __str__(self) -> str:
        return gettext("%(id)s score %(score)s") % {"id": self.external_id, "score": self.score}


class DisclosureKind(models.TextChoices):
    RISK_DISCLOSURE = "risk_disclosure", _("Risk disclosure")
    PRODUCT_TERMS = "product_terms", _("Product terms")
    PRIVACY_NOTICE = "privacy_notice", _("Privacy notice")
    CONSENT_TEXT = "consent_text", _("Consent text")


class Disclosure(models.Model):
    """A versioned document shown to customers. Never edited: a change is a new version."""

    Kind = DisclosureKind

    kind = models.CharField(max_length=24, choices=Kind.choices, verbose_name=_("kind"))
    version = models.PositiveIntegerField(verbose_name=_("version"))
    title = models.CharField(max_length=200, verbose_name=_("title"))
    body = models.TextField(verbose_name=_("body"))
    # Staff pages show the document as the customer read it, marked with its language (lang=…),
    # beside headings in the viewer's language.
    language = models.CharField(
        max_length=10, choices=CustomerLanguage.choices, default=CustomerLanguage.ENGLISH,
        verbose_name=_("language"), help_text=_("The language the title and text are written in."),
    )
    content_hash = models.CharField(max_length=64, help_text=_("SHA-256 of the body"), verbose_name=_("content hash"))
    published_at = models.DateTimeField(verbose_name=_("published at"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))

    class Meta:
        verbose_name = _("disclosure")
        verbose_name_plural = _("disclosures")
        ordering = ["kind", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["kind", "version"], name="disclosure_unique_version"),
            models.CheckConstraint(condition=Q(version__gte=1), name="disclosure_version_positive"),
            models.CheckConstraint(condition=Q(kind__in=DisclosureKind.values), name="disclosure_kind_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} v{self.version}"


class ConsentChannel(models.TextChoices):
    APP = "app", _("App")
    WEB = "web", _("Web")
    CALL_CENTER = "call_center", _("Call centre")
    BRANCH = "branch", _("Branch")


class DisclosureAcknowledgement(models.Model):
    Channel = ConsentChannel

    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="acknowledgements", verbose_name=_("customer"))
    disclosure = models.ForeignKey(Disclosure, on_delete=models.PROTECT, related_name="acknowledgements", verbose_name=_("disclosure"))
    channel = models.CharField(max_length=16, choices=ConsentChannel.choices, default=ConsentChannel.APP, verbose_name=_("channel"))
    shown_at = models.DateTimeField(verbose_name=_("shown at"))
    acknowledged_at = models.DateTimeField(verbose_name=_("acknowledged at"))

    class Meta:
        verbose_name = _("disclosure acknowledgement")
        verbose_name_plural = _("disclosure acknowledgements")
        ordering = ["-acknowledged_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["customer", "disclosure"], name="acknowledgement_once_per_version"),
            models.CheckConstraint(condition=Q(channel__in=ConsentChannel.values), name="acknowledgement_channel_valid"),
            models.CheckConstraint(
                condition=Q(acknowledged_at__gte=models.F("shown_at")), name="acknowledged_after_shown"
            ),
        ]

    def __str__(self) -> str:
        return gettext("%(customer)s acknowledged %(disclosure)s") % {"customer": self.customer_id, "disclosure": self.disclosure_id}


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

    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="consents", verbose_name=_("customer"))
    purpose = models.CharField(max_length=24, choices=Purpose.choices, verbose_name=_("purpose"))
    disclosure = models.ForeignKey(
        Disclosure, on_delete=models.PROTECT, related_name="consents", help_text=_("consent text the customer saw"), verbose_name=_("disclosure")
    )
    channel = models.CharField(max_length=16, choices=Channel.choices, verbose_name=_("channel"))
    evidence = models.JSONField(default=dict, blank=True, help_text=_("device, IP, signature reference…"), verbose_name=_("evidence"))
    state = models.CharField(max_length=12, choices=State.choices, default=State.ACTIVE, verbose_name=_("state"))
    granted_at = models.DateTimeField(verbose_name=_("granted at"))
    expires_at = models.DateTimeField(null=True, blank=True, verbose_name=_("expires at"))
    withdrawn_at = models.DateTimeField(null=True, blank=True, verbose_name=_("withdrawn at"))

    class Meta:
        verbose_name = _("consent")
        verbose_name_plural = _("consents")
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
        return gettext("%(customer)s %(purpose)s (%(state)s)") % {"customer": self.customer_id, "purpose": self.get_purpose_display(), "state": self.get_state_display()}


class ConsentEventKind(models.TextChoices):
    GRANTED = "granted", _("Granted")
    WITHDRAWN = "withdrawn", _("Withdrawn")
    EXPIRED = "expired", _("Expired")


class ConsentEvent(models.Model):
    """Append-only ledger of what happened to a consent."""

    Kind = ConsentEventKind

    consent = models.ForeignKey(Consent, on_delete=models.PROTECT, related_name="events", verbose_name=_("consent"))
    kind = models.CharField(max_length=12, choices=Kind.choices, verbose_name=_("kind"))
    occurred_at = models.DateTimeField(verbose_name=_("occurred at"))
    channel = models.CharField(max_length=16, blank=True, verbose_name=_("channel"))
    evidence = models.JSONField(default=dict, blank=True, verbose_name=_("evidence"))

    class Meta:
        verbose_name = _("consent event")
        verbose_name_plural = _("consent events")
        ordering = ["occurred_at", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(kind__in=ConsentEventKind.values), name="consent_event_kind_valid"),
        ]

    def __str__(self) -> str:
        return gettext("consent %(id)s %(kind)s") % {"id": self.consent_id, "kind": self.get_kind_display()}


class CustomerChangeMark(models.Model):
    """Outbox: "this customer's data changed and needs a recompute", written in the event's
    transaction. The broker message that asks for the recompute can be lost (a broker restart
    drops queued messages); this row cannot, because it commits with the event. The recompute
    deletes the customer's marks; a frequent sweep re-enqueues marks nobody cleared in time.
    One row per event rather than one per customer: an insert never waits on another event's
    row lock, which keeps the event path as short as before."""

    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="change_marks", verbose_name=_("customer"))
    trigger = models.CharField(max_length=16, verbose_name=_("trigger"))
    marked_at = models.DateTimeField(db_index=True, verbose_name=_("marked at"))

    class Meta:
        verbose_name = _("customer change mark")
        verbose_name_plural = _("customer change marks")
        ordering = ["marked_at", "id"]

    def __str__(self) -> str:
        return gettext("%(customer)s %(trigger)s at %(when)s") % {"customer": self.customer_id, "trigger": self.trigger, "when": when(self.marked_at)}
