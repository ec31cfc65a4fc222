"""factory_boy factories for every model, each producing a row the database accepts as-is.

Defaults satisfy every CheckConstraint and UniqueConstraint: money is Decimal, datetimes are
aware (UTC, from `timezone.now()`), external ids come from sequences, and fields that a
constraint ties together are derived from each other (`LazyAttribute`), so overriding one of
them (`RiskAlertFactory(action="suspend")`) keeps the row valid. Traits name the other
common valid shapes (`RepaymentInstallmentFactory(paid=True)`, `ConsentFactory(withdrawn=True)`).

There is deliberately no AuditEvent factory: audit rows are hash-chained, and a factory writing
them directly would fork the chain. Tests create audit rows through
`riskops.core.audit.audit_record`, as the code does.
"""

import copy
import hashlib
from datetime import date, datetime, timedelta
from functools import cache
from decimal import Decimal
from typing import Any

import factory
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group, User
from django.db.models import Max, Model
from django.utils import timezone

from accounts.models import (
    BureauReport,
    Consent,
    ConsentEvent,
    CreditApplication,
    Customer,
    Disclosure,
    DisclosureAcknowledgement,
    RepaymentInstallment,
    Transaction,
)
from decisions.engine.policy import default_policy_body
from decisions.engine.services.cases import cases_sync
from decisions.models import (
    Access,
    AlertAction,
    AlertRule,
    AlertStatus,
    Band,
    CaseNote,
    CreditDecision,
    CreditLine,
    Override,
    PolicyVersion,
    RecomputeChunk,
    RecomputeRun,
    RiskAlert,
    ScoreSnapshot,
    Trigger,
)

# Access values that may carry a limit (constraints *_no_limit_without_access).
ACCESS_WITH_LIMIT = (Access.OPEN, Access.LIMITED)
ZERO = Decimal("0.00")


def _now() -> datetime:
    return timezone.now()


def _days_ago(days: int) -> datetime:
    return timezone.now() - timedelta(days=days)


def _today() -> date:
    return timezone.now().date()


def _next_number(model: type[Model], field: str, default: int, **parent: Model) -> int:
    """Next free number under a (parent, number) unique key, so `create_batch(3, draw=draw)` works.

    Only looks in the database when the parent is saved; a built parent starts at `default`.
    """
    (name, obj), = parent.items()
    if obj is None or obj.pk is None:
        return default
    current = model.objects.filter(**{name: obj}).aggregate(m=Max(field))["m"]
    return default if current is None else current + 1


# --- auth ------------------------------------------------------------------------------------

TEST_PASSWORD = "pw-test-123"


@cache
def _test_password_hash() -> str:
    # PBKDF2 at Django's default cost takes ~0.5 s; hash once per process, not once per user.
    # `client.login(username=..., password=TEST_PASSWORD)` still works with the real hasher.
    return make_password(TEST_PASSWORD)



class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda o: f"{o.username}@example.test")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    password = factory.LazyFunction(_test_password_hash)

    @factory.post_generation
    def roles(self, create: bool, extracted: list[str] | None, **kwargs: Any) -> None:
        """`UserFactory(roles=["analyst"])`: join role groups created by the core migrations."""
        if create and extracted:
            self.groups.add(*Group.objects.filter(name__in=extracted))


# --- accounts ----------------------------------------------------------------------------------


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Customer

    external_id = factory.Sequence(lambda n: f"cust-{n:06d}")
    full_name = factory.Faker("name")
    national_id = factory.Sequence(lambda n: f"NID{n:09d}")
    phone = factory.Sequence(lambda n: f"+1555{n:07d}")
    onboarded_at = factory.LazyFunction(lambda: _days_ago(365))


class TransactionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Transaction

    external_id = factory.Sequence(lambda n: f"txn-{n:08d}")
    customer = factory.SubFactory(CustomerFactory)
    kind = Transaction.Kind.PURCHASE
    amount = Decimal("25.00")
    merchant_category = "groceries"
    occurred_at = factory.LazyFunction(_now)

    class Params:
        income = factory.Trait(kind=Transaction.Kind.INCOME, amount=Decimal("1500.00"), merchant_category="")
        purchase = factory.Trait(kind=Transaction.Kind.PURCHASE)
        bill = factory.Trait(kind=Transaction.Kind.BILL, amount=Decimal("60.00"), merchant_category="utilities")
        cash_out = factory.Trait(kind=Transaction.Kind.CASH_OUT, amount=Decimal("100.00"), merchant_category="")
        credit_draw = factory.Trait(kind=Transaction.Kind.CREDIT_DRAW, amount=Decimal("300.00"), merchant_category="")
        repayment = factory.Trait(kind=Transaction.Kind.REPAYMENT, amount=Decimal("100.00"), merchant_category="")


class RepaymentInstallmentFactory(factory.django.DjangoModelFactory):
    """Open (unpaid, not yet due) by default; traits `paid`, `partially_paid`, `overdue`."""

    class Meta:
        model = RepaymentInstallment

    draw = factory.SubFactory(TransactionFactory, credit_draw=True)
    # The installment belongs to whoever drew the money.
    customer = factory.LazyAttribute(lambda o: o.draw.customer)
    sequence = factory.LazyAttribute(lambda o: _next_number(RepaymentInstallment, "sequence", 1, draw=o.draw))
    due_on = factory.LazyAttribute(lambda o: (o.draw.occurred_at + timedelta(days=30 * o.sequence)).date())
    amount_due = Decimal("100.00")
    amount_paid = ZERO
    paid_at = None

    class Params:
        # installment_paid_at_iff_fully_paid: paid_at is set exactly when amount_paid == amount_due.
        paid = factory.Trait(
            amount_paid=factory.LazyAttribute(lambda o: o.amount_due),
            paid_at=factory.LazyFunction(_now),
        )
        partially_paid = factory.Trait(amount_paid=factory.LazyAttribute(lambda o: (o.amount_due / 2).quantize(Decimal("0.01"))))
        overdue = factory.Trait(
            draw=factory.SubFactory(TransactionFactory, credit_draw=True, occurred_at=factory.LazyFunction(lambda: _days_ago(90))),
            due_on=factory.LazyFunction(lambda: _today() - timedelta(days=45)),
        )


class CreditApplicationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CreditApplication

    external_id = factory.Sequence(lambda n: f"app-{n:08d}")
    customer = factory.SubFactory(CustomerFactory)
    requested_amount = Decimal("200.00")
    channel = CreditApplication.Channel.APP
    applied_at = factory.LazyFunction(_now)


class BureauReportFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = BureauReport

    external_id = factory.Sequence(lambda n: f"bur-{n:08d}")
    customer = factory.SubFactory(CustomerFactory)
    bureau = "national"
    score = 680
    external_lenders = 1
    external_debt = Decimal("1200.00")
    delinquencies_12m = 0
    reported_at = factory.LazyFunction(_now)
    raw = factory.LazyFunction(dict)


class DisclosureFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Disclosure

    kind = Disclosure.Kind.CONSENT_TEXT
    # One sequence across kinds keeps (kind, version) unique whatever kind a test picks.
    version = factory.Sequence(lambda n: n + 100)  # clear of the seeded versions 1 and 2
    title = factory.LazyAttribute(lambda o: f"{o.kind} v{o.version}")
    body = factory.LazyAttribute(lambda o: f"Text of {o.kind} version {o.version}. Read it before you agree.")
    content_hash = factory.LazyAttribute(lambda o: hashlib.sha256(o.body.encode()).hexdigest())
    published_at = factory.LazyFunction(lambda: _days_ago(30))


class DisclosureAcknowledgementFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = DisclosureAcknowledgement

    customer = factory.SubFactory(CustomerFactory)
    disclosure = factory.SubFactory(DisclosureFactory, kind=Disclosure.Kind.RISK_DISCLOSURE)
    channel = "app"
    shown_at = factory.LazyFunction(lambda: timezone.now() - timedelta(minutes=5))
    # acknowledged_after_shown
    acknowledged_at = factory.LazyAttribute(lambda o: o.shown_at + timedelta(minutes=1))


class ConsentFactory(factory.django.DjangoModelFactory):
    """Active by default; traits `withdrawn` and `expired` set the matching timestamps."""

    class Meta:
        model = Consent

    customer = factory.SubFactory(CustomerFactory)
    purpose = Consent.Purpose.CREDIT_SCORING
    disclosure = factory.SubFactory(DisclosureFactory, kind=Disclosure.Kind.CONSENT_TEXT)
    channel = Consent.Channel.APP
    evidence = factory.LazyFunction(lambda: {"device": "test-device", "ip": "203.0.113.7"})
    state = Consent.State.ACTIVE
    granted_at = factory.LazyFunction(lambda: _days_ago(30))
    expires_at = None
    # consent_withdrawn_at_iff_withdrawn
    withdrawn_at = factory.LazyAttribute(
        lambda o: o.granted_at + timedelta(days=1) if o.state == Consent.State.WITHDRAWN else None
    )

    class Params:
        withdrawn = factory.Trait(state=Consent.State.WITHDRAWN)
        expired = factory.Trait(
            state=Consent.State.EXPIRED,
            expires_at=factory.LazyAttribute(lambda o: o.granted_at + timedelta(days=1)),
        )


class ConsentEventFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ConsentEvent

    consent = factory.SubFactory(ConsentFactory)
    kind = ConsentEvent.Kind.GRANTED
    occurred_at = factory.LazyAttribute(lambda o: o.consent.granted_at)
    channel = factory.LazyAttribute(lambda o: o.consent.channel)
    evidence = factory.LazyAttribute(lambda o: dict(o.consent.evidence))

    class Params:
        withdrawn = factory.Trait(
            consent=factory.SubFactory(ConsentFactory, withdrawn=True),
            kind=ConsentEvent.Kind.WITHDRAWN,
            occurred_at=factory.LazyAttribute(lambda o: o.consent.withdrawn_at),
        )


# --- decisions ---------------------------------------------------------------------------------


class PolicyVersionFactory(factory.django.DjangoModelFactory):
    """Draft by default, with the shipped default body; `active=True` retires whichever policy was active."""

    class Meta:
        model = PolicyVersion

    version = factory.Sequence(lambda n: n + 1000)  # v1 is the default policy shipped by a migration
    name = factory.LazyAttribute(lambda o: f"test policy v{o.version}")
    body = factory.LazyFunction(lambda: copy.deepcopy(default_policy_body()))
    state = PolicyVersion.State.DRAFT

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        # An active factory policy takes over from the shipped default (one active at a time).
        if kwargs.get("state") == PolicyVersion.State.ACTIVE:
            model_class.objects.filter(state=PolicyVersion.State.ACTIVE).update(state=PolicyVersion.State.RETIRED)
        return super()._create(model_class, *args, **kwargs)

    class Params:
        active = factory.Trait(state=PolicyVersion.State.ACTIVE, activated_at=factory.LazyFunction(_now))
        retired = factory.Trait(
            state=PolicyVersion.State.RETIRED, activated_at=factory.LazyFunction(lambda: _days_ago(30))
        )


class RecomputeRunFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = RecomputeRun

    status = RecomputeRun.Status.PENDING
    trigger = Trigger.MANUAL
    policy_version = factory.SubFactory(PolicyVersionFactory)
    chunk_size = 2000

    class Params:
        running = factory.Trait(status=RecomputeRun.Status.RUNNING, started_at=factory.LazyFunction(_now))
        succeeded = factory.Trait(
            status=RecomputeRun.Status.SUCCEEDED,
            started_at=factory.LazyFunction(lambda: timezone.now() - timedelta(minutes=10)),
            finished_at=factory.LazyFunction(_now),
        )


class RecomputeChunkFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = RecomputeChunk

    run = factory.SubFactory(RecomputeRunFactory)
    index = factory.LazyAttribute(lambda o: _next_number(RecomputeChunk, "index", 0, run=o.run))
    first_customer_id = factory.LazyAttribute(lambda o: o.index * o.run.chunk_size + 1)
    last_customer_id = factory.LazyAttribute(lambda o: (o.index + 1) * o.run.chunk_size)
    size = factory.LazyAttribute(lambda o: o.run.chunk_size)
    status = RecomputeChunk.Status.PENDING


class ScoreSnapshotFactory(factory.django.DjangoModelFactory):
    """A scored snapshot (band B) outside any run; `unscored=True` is the no-consent shape."""

    class Meta:
        model = ScoreSnapshot
        skip_postgeneration_save = True

    customer = factory.SubFactory(CustomerFactory)
    policy_version = factory.SubFactory(PolicyVersionFactory)
    run = None
    computed_at = factory.LazyFunction(_now)
    trigger = Trigger.MANUAL
    score = 700
    probability_of_default = Decimal("0.02500")
    band = Band.B
    features = factory.LazyFunction(lambda: {"income_90d": "4500.00", "max_dpd_12m": 0})
    points = factory.LazyFunction(lambda: {"income_90d": 40, "max_dpd_12m": 60})
    reason_codes = factory.LazyFunction(list)
    data_sources = factory.LazyFunction(lambda: ["transactions", "installments"])

    class Params:
        unscored = factory.Trait(
            score=None,
            probability_of_default=None,
            band="",
            features=factory.LazyFunction(dict),
            points=factory.LazyFunction(dict),
            reason_codes=factory.LazyFunction(lambda: ["NO_SCORING_CONSENT"]),
            data_sources=factory.LazyFunction(list),
        )

    @factory.post_generation
    def consents_used(self, create: bool, extracted: list[Consent] | None, **kwargs: Any) -> None:
        """`ScoreSnapshotFactory(consents_used=[consent])`."""
        if create and extracted:
            self.consents_used.set(extracted)


def _limit_for(access: str, amount: str) -> Decimal:
    return Decimal(amount) if access in ACCESS_WITH_LIMIT else ZERO


def _suspension_end(access: str, start: datetime) -> datetime | None:
    return start + timedelta(days=7) if access == Access.SUSPENDED else None


class CreditDecisionFactory(factory.django.DjangoModelFactory):
    """Open with a 500.00 limit. Any `access` keeps the row valid: limit 0 and suspended_until follow it."""

    class Meta:
        model = CreditDecision

    customer = factory.SubFactory(CustomerFactory)
    snapshot = None
    policy_version = factory.SubFactory(PolicyVersionFactory)
    decided_at = factory.LazyFunction(_now)
    trigger = Trigger.MANUAL
    access = Access.OPEN
    # decision_no_limit_without_access / decision_suspension_has_expiry
    limit_amount = factory.LazyAttribute(lambda o: _limit_for(o.access, "500.00"))
    previous_access = ""
    previous_limit = None
    model_access = factory.LazyAttribute(lambda o: o.access)
    model_limit = factory.LazyAttribute(lambda o: o.limit_amount)
    reasons = factory.LazyFunction(list)
    suspended_until = factory.LazyAttribute(lambda o: _suspension_end(o.access, o.decided_at))

    class Params:
        suspended = factory.Trait(access=Access.SUSPENDED)
        closed = factory.Trait(access=Access.CLOSED)


class CreditLineFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CreditLine

    customer = factory.SubFactory(CustomerFactory)
    access = Access.OPEN
    # line_no_limit_without_access
    limit_amount = factory.LazyAttribute(lambda o: _limit_for(o.access, "500.00"))
    score = 700
    band = Band.B
    suspended_until = factory.LazyAttribute(lambda o: _suspension_end(o.access, timezone.now()))
    cycle_started_at = factory.LazyFunction(_now)
    cycle_base_limit = factory.LazyAttribute(lambda o: o.limit_amount)
    model_access = factory.LazyAttribute(lambda o: o.access)
    model_limit = factory.LazyAttribute(lambda o: o.limit_amount)

    class Params:
        suspended = factory.Trait(access=Access.SUSPENDED)
        closed = factory.Trait(access=Access.CLOSED)
        not_offered = factory.Trait(access=Access.NOT_OFFERED, score=None, band="")


class RiskAlertFactory(factory.django.DjangoModelFactory):
    """An open review alert. `action="suspend"` gets an effective_until; resolved/dismissed/confirmed
    a resolved_at; in_review an analyst assignee and a claim time."""

    class Meta:
        model = RiskAlert
        skip_postgeneration_save = True

    customer = factory.SubFactory(CustomerFactory)
    rule = AlertRule.OVER_BORROWING
    action = AlertAction.REVIEW
    status = AlertStatus.OPEN
    severity = 3
    evidence = factory.LazyFunction(lambda: {"debt_to_income": "0.82"})
    snapshot = None
    raised_at = factory.LazyFunction(lambda: timezone.now() - timedelta(hours=1))
    last_seen_at = factory.LazyAttribute(lambda o: o.raised_at)
    # alert_suspend_has_expiry
    effective_until = factory.LazyAttribute(
        lambda o: o.raised_at + timedelta(days=7) if o.action == AlertAction.SUSPEND else None
    )
    # alert_resolved_at_iff_closed
    resolved_at = factory.LazyAttribute(
        lambda o: o.raised_at + timedelta(minutes=30)
        if o.status in (AlertStatus.RESOLVED, AlertStatus.DISMISSED, AlertStatus.CONFIRMED)
        else None
    )
    resolution = factory.LazyAttribute(lambda o: "Checked, handled." if o.resolved_at else "")
    # alert_in_review_is_assigned: a claimed alert has its claimant and claim time.
    assigned_to = factory.Maybe(
        factory.LazyAttribute(lambda o: o.status == AlertStatus.IN_REVIEW),
        yes_declaration=factory.SubFactory(UserFactory, roles=["analyst"]),
        no_declaration=None,
    )
    claimed_at = factory.LazyAttribute(
        lambda o: o.raised_at + timedelta(minutes=5) if o.status == AlertStatus.IN_REVIEW else None
    )

    class Params:
        suspend = factory.Trait(action=AlertAction.SUSPEND, severity=4)
        close = factory.Trait(action=AlertAction.CLOSE, severity=5)
        in_review = factory.Trait(status=AlertStatus.IN_REVIEW)
        resolved = factory.Trait(status=AlertStatus.RESOLVED, resolved_by=factory.SubFactory(UserFactory))
        dismissed = factory.Trait(status=AlertStatus.DISMISSED, resolved_by=factory.SubFactory(UserFactory))
        confirmed = factory.Trait(status=AlertStatus.CONFIRMED, resolved_by=factory.SubFactory(UserFactory))

    @factory.post_generation
    def account_case(obj, create, extracted, **kwargs):
        """The account's case follows its alerts, as the engine and triage keep it in the same
        transaction (decisions/engine/services/cases.py). `account_case=False` leaves it stale."""
        if create and extracted is not False:
            cases_sync(customer_ids=[obj.customer_id], now=timezone.now())


class CaseNoteFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CaseNote

    customer = factory.SubFactory(CustomerFactory)
    alert = None
    author = factory.SubFactory(UserFactory)
    body = "Called the customer; income confirmed from payslip."


class OverrideFactory(factory.django.DjangoModelFactory):
    """Pending, open at 300.00 for 30 days. `approved`/`rejected` add a second person as decider."""

    class Meta:
        model = Override

    customer = factory.SubFactory(CustomerFactory)
    access = Access.OPEN
    # override_no_limit_without_access
    limit_amount = factory.LazyAttribute(lambda o: _limit_for(o.access, "300.00"))
    reason = "Verified new employment contract; model has not seen the salary yet."
    created_at = factory.LazyFunction(_now)
    # override_expires_after_created
    expires_at = factory.LazyAttribute(lambda o: o.created_at + timedelta(days=30))
    state = Override.State.PENDING
    requested_by = factory.SubFactory(UserFactory)
    decided_by = None
    decided_at = None

    class Params:
        # override_four_eyes / override_decision_recorded: a different user decides, with a time.
        approved = factory.Trait(
            state=Override.State.APPROVED,
            decided_by=factory.SubFactory(UserFactory),
            decided_at=factory.LazyAttribute(lambda o: o.created_at + timedelta(hours=1)),
        )
        rejected = factory.Trait(
            state=Override.State.REJECTED,
            decided_by=factory.SubFactory(UserFactory),
            decided_at=factory.LazyAttribute(lambda o: o.created_at + timedelta(hours=1)),
            decision_note="Not enough evidence.",
        )
