"""The API's request and response shapes, for the OpenAPI schema and for shaping output.

Write requests are not validated by these serializers: the ingestion services validate every
field themselves (`accounts/validation.py`) and name the one at fault, and the batch path must
not pay DRF's per-field cost 1,000 times. These classes document exactly what the services accept.
"""

from decimal import Decimal

from django.core.validators import MaxLengthValidator, MinLengthValidator
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.events import MAX_INSTALLMENTS
from accounts.models import Consent, ConsentChannel, CreditApplicationChannel, DisclosureKind, TransactionKind
from decisions.models import Access, AlertRule, AlertStatus

MAX_BATCH = 1000
TRANSACTION_KINDS = [k for k in TransactionKind.values if k != TransactionKind.REPAYMENT]


class ApiErrorSerializer(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()
    field = serializers.CharField(required=False, help_text="the body field or header at fault, e.g. items[3].amount")
    index = serializers.IntegerField(required=False, help_text="in a batch: the position of the first bad item")


def _money(**kw):
    return serializers.DecimalField(max_digits=14, decimal_places=2, coerce_to_string=True, **kw)


class _Currency(serializers.Serializer):
    currency = serializers.CharField(help_text="the book's currency (RISKOPS_CURRENCY); any other is refused")


class InstallmentIn(serializers.Serializer):
    due_on = serializers.DateField(help_text="YYYY-MM-DD; after the draw's date (UTC) and after the previous installment's")
    amount_due = _money(min_value=Decimal("0.01"))


class TransactionIn(_Currency):
    customer = serializers.CharField(max_length=40, help_text="the customer's external id")
    external_id = serializers.CharField(max_length=40)
    kind = serializers.ChoiceField(choices=TRANSACTION_KINDS)
    amount = _money(min_value=Decimal("0.01"))
    occurred_at = serializers.DateTimeField(help_text="ISO 8601 with a timezone; at most 5 min in the future")
    merchant_category = serializers.CharField(max_length=32, required=False, allow_blank=True)
    # An explicit ListSerializer: its length validators are what the schema's minItems/maxItems
    # are read from (`many=True` keeps min_length/max_length to itself).
    installments = serializers.ListSerializer(
        child=InstallmentIn(), required=False, validators=[MinLengthValidator(1), MaxLengthValidator(MAX_INSTALLMENTS)],
        help_text=(
            f"credit_draw only, and required there: its repayment schedule, 1 to {MAX_INSTALLMENTS} installments "
            "(numbered 1..n in this order) whose amount_due add up to at least the draw's amount; any other kind must not send it"
        ),
    )


class TransactionBatchItemIn(TransactionIn):
    kind = serializers.ChoiceField(
        choices=[k for k in TRANSACTION_KINDS if k != TransactionKind.CREDIT_DRAW],
        help_text="not credit_draw: a draw is posted through POST /api/v1/transactions/ with its schedule",
    )
    installments = None  # no schedules in a batch


class RepaymentIn(_Currency):
    draw = serializers.CharField(max_length=40, help_text="external id of the credit_draw transaction")
    sequence = serializers.IntegerField(min_value=1, max_value=32767, help_text="the installment's number within the draw")
    external_id = serializers.CharField(max_length=40)
    amount = _money(min_value=Decimal("0.01"))
    paid_at = serializers.DateTimeField()


class CreditApplicationIn(_Currency):
    customer = serializers.CharField(max_length=40)
    external_id = serializers.CharField(max_length=40)
    requested_amount = _money(min_value=Decimal("0.01"))
    applied_at = serializers.DateTimeField()
    channel = serializers.ChoiceField(choices=CreditApplicationChannel.choices, required=False)


class BureauReportIn(_Currency):
    customer = serializers.CharField(max_length=40)
    external_id = serializers.CharField(max_length=40)
    score = serializers.IntegerField(min_value=300, max_value=900)
    external_lenders = serializers.IntegerField(min_value=0, max_value=32767)
    external_debt = _money(min_value=Decimal("0"))
    reported_at = serializers.DateTimeField()
    delinquencies_12m = serializers.IntegerField(min_value=0, max_value=32767, required=False)
    bureau = serializers.CharField(max_length=32, required=False)
    raw = serializers.JSONField(required=False, help_text="the bureau's payload, a JSON object of at most 64 KiB")


def batch_of(item: type[serializers.Serializer], name: str) -> type[serializers.Serializer]:
    return type(name, (serializers.Serializer,), {"items": item(many=True, help_text=f"1 to {MAX_BATCH} events")})


TransactionBatchIn = batch_of(TransactionBatchItemIn, "TransactionBatchIn")
RepaymentBatchIn = batch_of(RepaymentIn, "RepaymentBatchIn")
CreditApplicationBatchIn = batch_of(CreditApplicationIn, "CreditApplicationBatchIn")
BureauReportBatchIn = batch_of(BureauReportIn, "BureauReportBatchIn")


class EventOut(serializers.Serializer):
    id = serializers.IntegerField()
    external_id = serializers.CharField()
    customer = serializers.CharField()


class InstallmentOut(serializers.Serializer):
    id = serializers.IntegerField()
    sequence = serializers.IntegerField(help_text="the installment's number within the draw (repayments name it)")
    due_on = serializers.DateField()
    amount_due = _money()


class TransactionOut(EventOut):
    installments = InstallmentOut(many=True, required=False, help_text="credit_draw only: the draw's repayment schedule, as stored")


class RepaymentOut(serializers.Serializer):
    external_id = serializers.CharField()
    customer = serializers.CharField()
    draw = serializers.CharField()
    sequence = serializers.IntegerField()
    amount_due = _money()
    amount_paid = _money()
    paid_at = serializers.DateTimeField(allow_null=True)


class BatchOut(serializers.Serializer):
    created = serializers.IntegerField(help_text="events stored by this request")
    existing = serializers.IntegerField(help_text="events already stored under the same external id, identical")
    customers = serializers.IntegerField(help_text="distinct customers whose recompute was asked for")


class ConsentGrantIn(serializers.Serializer):
    customer = serializers.CharField(max_length=40)
    purpose = serializers.ChoiceField(choices=Consent.Purpose.values)
    disclosure_version = serializers.IntegerField(min_value=1, help_text="version of the consent_text disclosure shown")
    channel = serializers.ChoiceField(choices=ConsentChannel.choices)
    evidence = serializers.JSONField(help_text="a JSON object: device, IP, signature reference…")
    expires_at = serializers.DateTimeField(required=False, allow_null=True)


class ConsentWithdrawIn(serializers.Serializer):
    customer = serializers.CharField(max_length=40)
    purpose = serializers.ChoiceField(choices=Consent.Purpose.values)
    channel = serializers.ChoiceField(choices=ConsentChannel.choices, required=False)
    evidence = serializers.JSONField(required=False)


class ConsentOut(serializers.Serializer):
    id = serializers.IntegerField()
    customer = serializers.CharField()
    purpose = serializers.CharField()
    state = serializers.CharField()
    disclosure_version = serializers.IntegerField()
    granted_at = serializers.DateTimeField()
    expires_at = serializers.DateTimeField(allow_null=True)
    withdrawn_at = serializers.DateTimeField(allow_null=True)


class AcknowledgementIn(serializers.Serializer):
    customer = serializers.CharField(max_length=40)
    disclosure_kind = serializers.ChoiceField(choices=DisclosureKind.values)
    disclosure_version = serializers.IntegerField(min_value=1)
    shown_at = serializers.DateTimeField()
    acknowledged_at = serializers.DateTimeField()
    channel = serializers.ChoiceField(choices=ConsentChannel.choices, required=False)


class AcknowledgementOut(serializers.Serializer):
    id = serializers.IntegerField()
    customer = serializers.CharField()
    disclosure_kind = serializers.CharField()
    disclosure_version = serializers.IntegerField()
    channel = serializers.CharField()
    shown_at = serializers.DateTimeField()
    acknowledged_at = serializers.DateTimeField()


class ReasonOut(serializers.Serializer):
    code = serializers.CharField()
    text = serializers.CharField()


class ModelDecisionOut(serializers.Serializer):
    access = serializers.ChoiceField(choices=Access.values)
    limit = _money()


class OverrideOut(serializers.Serializer):
    id = serializers.IntegerField()
    access = serializers.ChoiceField(choices=Access.values, allow_null=True, help_text="null: the model's access stands")
    limit = _money(allow_null=True, help_text="null: the model's limit stands")
    until = serializers.DateTimeField()


class NoticeOut(serializers.Serializer):
    id = serializers.IntegerField()
    decision = serializers.IntegerField(source="decision_id", help_text="the decision this notice explains")
    kind = serializers.CharField()
    language = serializers.CharField()
    reasons = ReasonOut(many=True)
    review_text = serializers.CharField()
    risk_disclosure_version = serializers.IntegerField(
        source="disclosure.version", allow_null=True, help_text="the risk disclosure in force when the notice was written"
    )
    created_at = serializers.DateTimeField()


class DecisionOut(serializers.Serializer):
    customer = serializers.CharField()
    access = serializers.ChoiceField(choices=Access.values)
    limit = _money()
    drawn = _money(help_text="still owed on unpaid installments")
    available = _money(help_text="limit minus drawn, never below 0; 0 when the line is not usable")
    band = serializers.CharField(allow_null=True)
    score = serializers.IntegerField(allow_null=True)
    suspended_until = serializers.DateTimeField(allow_null=True)
    decided_at = serializers.DateTimeField(allow_null=True)
    reasons = ReasonOut(many=True, help_text="why the current access and limit")
    score_reasons = ReasonOut(many=True, help_text="the features that cost the score most")
    model = ModelDecisionOut(help_text="the model's decision before any override")
    override = OverrideOut(allow_null=True)
    notice = NoticeOut(allow_null=True, help_text="the notice sent to the customer about the decision in force (adverse decisions have one)")


class DecisionHistoryOut(serializers.Serializer):
    id = serializers.IntegerField()
    decided_at = serializers.DateTimeField()
    trigger = serializers.CharField()
    access = serializers.ChoiceField(choices=Access.values)
    limit = _money(source="limit_amount")
    previous_access = serializers.CharField(allow_blank=True)
    previous_limit = _money(allow_null=True)
    model_access = serializers.CharField()
    model_limit = _money()
    override = serializers.IntegerField(source="override_id", allow_null=True)
    suspended_until = serializers.DateTimeField(allow_null=True)
    notice = NoticeOut(allow_null=True, help_text="the notice this decision produced, if it was adverse")
    reasons = serializers.SerializerMethodField()

    @extend_schema_field(ReasonOut(many=True))
    def get_reasons(self, obj) -> list[dict[str, str]]:
        from .selectors import reasons_with_text

        return reasons_with_text(obj.reasons)


class AlertOut(serializers.Serializer):
    id = serializers.IntegerField()
    customer = serializers.CharField(source="customer.external_id")
    rule = serializers.ChoiceField(choices=AlertRule.values)
    action = serializers.CharField()
    status = serializers.ChoiceField(choices=AlertStatus.values)
    severity = serializers.IntegerField()
    raised_at = serializers.DateTimeField()
    last_seen_at = serializers.DateTimeField()
    effective_until = serializers.DateTimeField(allow_null=True)
    evidence = serializers.JSONField()
