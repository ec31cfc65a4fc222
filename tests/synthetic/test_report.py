"""The engine-over-time figures read back from decisions and installments."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from synthetic.report import limit_reversals
from tests.factories import CreditDecisionFactory, CustomerFactory, RiskAlertFactory, TransactionFactory

pytestmark = pytest.mark.django_db


def _moves(customer, *steps):
    """(days ago, previous, new) limit changes of one customer."""
    now = timezone.now()
    for days, previous, new in steps:
        CreditDecisionFactory(
            customer=customer, decided_at=now - timedelta(days=days), previous_access="open",
            previous_limit=Decimal(previous), limit_amount=Decimal(new),
        )


def test_up_then_down_within_30_days_with_nothing_between_is_a_reversal():
    _moves(CustomerFactory(), (40, "1000.00", "1200.00"), (30, "1200.00", "900.00"))  # 10 days apart
    assert limit_reversals() == 1


def test_down_then_up_counts_too_but_not_the_same_way_twice_nor_a_month_apart():
    _moves(CustomerFactory(), (50, "1000.00", "800.00"), (45, "800.00", "700.00"))  # down, down
    _moves(CustomerFactory(), (90, "1000.00", "800.00"), (50, "800.00", "1000.00"))  # 40 days apart
    _moves(CustomerFactory(), (20, "1000.00", "800.00"), (5, "800.00", "1000.00"))  # down then up
    assert limit_reversals() == 1


def test_an_event_or_a_persons_decision_between_makes_it_no_reversal():
    with_purchase, triaged = CustomerFactory(), CustomerFactory()
    _moves(with_purchase, (40, "1000.00", "1200.00"), (30, "1200.00", "900.00"))
    TransactionFactory(customer=with_purchase, occurred_at=timezone.now() - timedelta(days=35))
    _moves(triaged, (40, "1000.00", "800.00"), (30, "800.00", "1000.00"))
    RiskAlertFactory(customer=triaged, dismissed=True, resolved_at=timezone.now() - timedelta(days=33))
    assert limit_reversals() == 0


def test_a_due_date_passed_unpaid_between_is_news_but_one_paid_on_time_is_not():
    from tests.factories import RepaymentInstallmentFactory

    now = timezone.now()
    missed, paid = CustomerFactory(), CustomerFactory()
    for customer, paid_at in ((missed, None), (paid, now - timedelta(days=36))):
        _moves(customer, (40, "1000.00", "1200.00"), (30, "1200.00", "900.00"))
        draw = TransactionFactory(customer=customer, credit_draw=True, occurred_at=now - timedelta(days=70))
        extra = {"paid": True, "paid_at": paid_at} if paid_at else {}
        RepaymentInstallmentFactory(draw=draw, due_on=(now - timedelta(days=35)).date(), **extra)
    # The purchase that opened the draw is long before the first change: only the due date is between.
    assert limit_reversals() == 1


def test_a_suspension_ending_at_its_date_is_one_decision_but_lifted_early_on_nothing_is_a_reversal():
    now = timezone.now()
    on_time, early = CustomerFactory(), CustomerFactory()
    for customer, back_days in ((on_time, 33), (early, 37)):
        CreditDecisionFactory(
            customer=customer, decided_at=now - timedelta(days=40), previous_access="open", access="suspended",
            previous_limit=Decimal("1000.00"), limit_amount=Decimal("0.00"), suspended_until=now - timedelta(days=33),
        )
        CreditDecisionFactory(
            customer=customer, decided_at=now - timedelta(days=back_days), previous_access="suspended", access="open",
            previous_limit=Decimal("0.00"), limit_amount=Decimal("1000.00"),
        )
    assert limit_reversals() == 1


def test_defaults_caught_early_are_those_limited_suspended_or_closed_before_90_days():
    from decisions.models import Trigger
    from synthetic.report import defaults_caught_early
    from tests.factories import RecomputeRunFactory, RepaymentInstallmentFactory

    now = timezone.now()
    # the replayed nights began 150 days ago
    for days in (150, 1):  # the replayed nights ran from 150 days ago to yesterday
        RecomputeRunFactory(succeeded=True, trigger=Trigger.NIGHTLY, night=(now - timedelta(days=days)).date(), as_of=now - timedelta(days=days))
    already_late = CustomerFactory()  # overdue before the replay began: not counted
    old_draw = TransactionFactory(customer=already_late, credit_draw=True, occurred_at=now - timedelta(days=230))
    RepaymentInstallmentFactory(draw=old_draw, due_on=(now - timedelta(days=200)).date())
    caught, missed, paid = CustomerFactory(), CustomerFactory(), CustomerFactory()
    for customer in (caught, missed, paid):
        draw = TransactionFactory(customer=customer, credit_draw=True, occurred_at=now - timedelta(days=160))
        RepaymentInstallmentFactory(draw=draw, due_on=(now - timedelta(days=120)).date())  # 90 days past due 30 days ago
    RepaymentInstallment = type(draw.installments.first())
    RepaymentInstallment.objects.filter(customer=paid).update(amount_paid=Decimal("100.00"), paid_at=now - timedelta(days=100))
    CreditDecisionFactory(customer=caught, decided_at=now - timedelta(days=80), access="suspended")
    CreditDecisionFactory(customer=missed, decided_at=now - timedelta(days=80), access="open")
    assert defaults_caught_early() == (2, 1)


def test_customer_years_are_the_calendar_time_the_nights_cover():
    from decisions.models import Trigger
    from synthetic.report import customer_years
    from tests.factories import RecomputeRunFactory

    now = timezone.now()
    # a month-end run 365 days ago and one yesterday: the nights cover a year, whatever ran between
    for days in (365, 1):
        RecomputeRunFactory(succeeded=True, trigger=Trigger.NIGHTLY, night=(now - timedelta(days=days)).date(), as_of=now - timedelta(days=days))
    CustomerFactory(onboarded_at=now - timedelta(days=900))
    CustomerFactory(onboarded_at=now - timedelta(days=183))  # half the period
    assert customer_years() == pytest.approx(1.0 + 183 / 365, abs=0.01)
