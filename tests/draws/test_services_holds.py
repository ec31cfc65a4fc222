"""Holds: an allowed check holds its amount against the available limit until its draw is
posted (policy `draws.hold_hours`), and the policy's bounds on it."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from decisions.engine.policy import DrawRules, default_policy_body, parse_policy, validate_policy
from decisions.governance.services.policy import policy_activate, policy_create
from draws.models import DrawCheck
from draws.services import draw_check
from riskops.core.exceptions import PolicyInvalid
from tests.factories import CreditLineFactory, RepaymentInstallmentFactory, TransactionFactory

from .factories import DrawCheckFactory

pytestmark = pytest.mark.django_db


def body(customer, amount="100.00"):
    return {"customer": customer.external_id, "amount": amount, "currency": "CNY", "channel": "app"}


def codes(check):
    return [r["code"] for r in check.reasons]


def _activate(draws: dict, admin) -> None:
    version = policy_create(name=f"holds {draws}"[:80], body=default_policy_body() | {"draws": draws}, actor=admin)
    policy_activate(version=version, actor=admin)


def _wide_velocity() -> dict:
    """Velocity out of the way, so the available limit alone decides."""
    window = {"max_count": 10_000, "max_amount": "1000000000"}
    return {"hour": window, "day": window}


# --- the available amount goes down between checks ----------------------------------------------

def test_four_checks_of_3000_against_3200_available_allow_only_the_first():
    # given 3,200 available (a 5,000 limit, 1,800 still owed on an earlier draw)
    line = CreditLineFactory(limit_amount=Decimal("5000.00"))
    now = timezone.now()
    RepaymentInstallmentFactory(
        draw__customer=line.customer, draw__amount=Decimal("1800.00"), draw__occurred_at=now - timedelta(days=3),
        amount_due=Decimal("1800.00"),
    )
    # when four checks of 3,000 arrive before any draw is posted
    checks = [draw_check(data=body(line.customer, "3000.00"), now=now + timedelta(seconds=i)) for i in range(4)]
    # then the first is allowed and holds 3,000; the others see 200 available and are denied
    assert [c.decision for c in checks] == ["allow", "deny", "deny", "deny"]
    assert (checks[0].available, checks[0].held) == (Decimal("3200.00"), Decimal("0.00"))
    assert all(codes(c) == ["OVER_AVAILABLE"] for c in checks[1:])
    assert [(c.available, c.held) for c in checks[1:]] == [(Decimal("200.00"), Decimal("3000.00"))] * 3
    stored = DrawCheck.objects.get(pk=checks[1].pk)
    assert (stored.available, stored.held) == (Decimal("200.00"), Decimal("3000.00"))  # on the record too


def test_holds_add_up_and_a_check_within_what_is_left_is_allowed():
    line = CreditLineFactory(limit_amount=Decimal("1000.00"))
    now = timezone.now()
    assert draw_check(data=body(line.customer, "400.00"), now=now).decision == "allow"
    second = draw_check(data=body(line.customer, "600.00"), now=now + timedelta(seconds=1))  # exactly what is left
    assert (second.decision, second.available, second.held) == ("allow", Decimal("600.00"), Decimal("400.00"))
    third = draw_check(data=body(line.customer, "0.01"), now=now + timedelta(seconds=2))
    assert (third.decision, codes(third), third.available, third.held) == ("deny", ["OVER_AVAILABLE"], Decimal("0.00"), Decimal("1000.00"))


def test_only_allowed_checks_of_this_customer_inside_the_window_hold():
    line = CreditLineFactory(limit_amount=Decimal("1000.00"))
    now = timezone.now()
    DrawCheckFactory(customer=line.customer, amount=Decimal("300.00"), checked_at=now - timedelta(hours=23))  # held
    DrawCheckFactory(customer=line.customer, amount=Decimal("500.00"), checked_at=now - timedelta(hours=24, minutes=1))  # expired
    DrawCheckFactory(customer=line.customer, amount=Decimal("500.00"), decision="deny", checked_at=now - timedelta(minutes=5))
    DrawCheckFactory(customer=line.customer, amount=Decimal("500.00"), decision="review", checked_at=now - timedelta(minutes=5))
    DrawCheckFactory(amount=Decimal("500.00"), checked_at=now - timedelta(minutes=5))  # another customer
    check = draw_check(data=body(line.customer, "700.00"), now=now)
    assert (check.decision, check.available, check.held) == ("allow", Decimal("700.00"), Decimal("300.00"))


# --- a posted draw releases its hold -------------------------------------------------------------

def test_a_posted_credit_draw_releases_its_hold_and_is_not_counted_twice():
    # given an allowed check of 3,000 against a 5,000 line
    line = CreditLineFactory(limit_amount=Decimal("5000.00"))
    now = timezone.now()
    assert draw_check(data=body(line.customer, "3000.00"), now=now - timedelta(minutes=10)).decision == "allow"
    assert draw_check(data=body(line.customer, "2000.01"), now=now - timedelta(minutes=9)).decision == "deny"  # 2,000 left
    # when its draw is posted (the transaction and its installment: the drawn balance)
    RepaymentInstallmentFactory(
        draw__customer=line.customer, draw__amount=Decimal("3000.00"), draw__occurred_at=now - timedelta(minutes=5),
        amount_due=Decimal("3000.00"),
    )
    # then the 3,000 is in the drawn balance only: 2,000 still available, no hold left
    check = draw_check(data=body(line.customer, "2000.00"), now=now)
    assert (check.decision, check.available, check.held) == ("allow", Decimal("2000.00"), Decimal("0.00"))


def test_posted_draws_release_no_more_than_is_held_and_other_kinds_release_nothing():
    line = CreditLineFactory(limit_amount=Decimal("1000.00"))
    now = timezone.now()
    DrawCheckFactory(customer=line.customer, amount=Decimal("200.00"), checked_at=now - timedelta(hours=1))
    TransactionFactory(customer=line.customer, purchase=True, amount=Decimal("900.00"), occurred_at=now - timedelta(minutes=30))
    TransactionFactory(customer=line.customer, credit_draw=True, amount=Decimal("50.00"), occurred_at=now - timedelta(hours=25))  # before
    TransactionFactory(credit_draw=True, amount=Decimal("900.00"), occurred_at=now - timedelta(minutes=30))  # another customer
    assert draw_check(data=body(line.customer, "800.01"), now=now).held == Decimal("200.00")
    # a draw larger than what is held (posted without a check) brings the hold to 0, not below
    TransactionFactory(customer=line.customer, credit_draw=True, amount=Decimal("500.00"), occurred_at=now - timedelta(minutes=1))
    check = draw_check(data=body(line.customer, "1000.00"), now=now)
    assert (check.decision, check.available, check.held) == ("allow", Decimal("1000.00"), Decimal("0.00"))


def test_a_hold_is_reported_on_a_line_without_access_but_available_stays_zero():
    # given a check allowed an hour ago, before the line was suspended
    line = CreditLineFactory(suspended=True)
    now = timezone.now()
    DrawCheckFactory(customer=line.customer, amount=Decimal("300.00"), checked_at=now - timedelta(hours=1))
    check = draw_check(data=body(line.customer, "1.00"), now=now)
    assert (check.decision, check.available, check.held) == ("deny", Decimal("0.00"), Decimal("300.00"))


# --- the policy's hold_hours ---------------------------------------------------------------------

def test_hold_hours_zero_disables_holds(risk_admin):
    _activate({"hold_hours": 0, "velocity": _wide_velocity()}, risk_admin)
    line = CreditLineFactory(limit_amount=Decimal("3200.00"))
    now = timezone.now()
    checks = [draw_check(data=body(line.customer, "3000.00"), now=now) for _ in range(4)]  # at the same instant, too
    assert [(c.decision, c.available, c.held) for c in checks] == [("allow", Decimal("3200.00"), Decimal("0.00"))] * 4


def test_hold_hours_from_the_policy_sets_the_window(risk_admin):
    line = CreditLineFactory(limit_amount=Decimal("1000.00"))
    now = timezone.now()
    DrawCheckFactory(customer=line.customer, amount=Decimal("600.00"), checked_at=now - timedelta(hours=3))
    assert draw_check(data=body(line.customer, "600.00"), now=now).decision == "deny"  # 24 h by default: still held
    _activate({"hold_hours": 2}, risk_admin)
    check = draw_check(data=body(line.customer, "600.00"), now=now + timedelta(seconds=1))
    assert (check.decision, check.held) == ("allow", Decimal("0.00"))
    # 30 days, with the device and channel rules off: the read's window widens to the hold's
    _activate({"hold_hours": 720, "new_device_days": 0, "new_channel_days": 0}, risk_admin)
    DrawCheckFactory(customer=line.customer, amount=Decimal("100.00"), checked_at=now - timedelta(days=29))
    check = draw_check(data=body(line.customer, "1.00"), now=now + timedelta(seconds=2))
    # 600 three hours ago, 600 allowed a moment ago, 100 29 days ago
    assert (check.decision, check.held, check.available) == ("deny", Decimal("1300.00"), Decimal("0.00"))


def test_hold_hours_defaults_to_24_when_the_draws_section_omits_it():
    policy = parse_policy(default_policy_body() | {"draws": {"limited": "allow"}})
    assert policy.draws.hold_hours == DrawRules().hold_hours == 24
    assert parse_policy(default_policy_body()).draws.hold_hours == 24  # policy v1 has no draws section
    assert parse_policy(default_policy_body() | {"draws": {"hold_hours": 0}}).draws.hold_hours == 0
    assert parse_policy(default_policy_body() | {"draws": {"hold_hours": 720}}).draws.hold_hours == 720


@pytest.mark.parametrize("value", [-1, 721, 10**9, "24", 1.5, None, True])
def test_hold_hours_out_of_bounds_or_not_an_integer_is_refused_naming_the_field(value):
    with pytest.raises(PolicyInvalid) as err:
        validate_policy(default_policy_body() | {"draws": {"hold_hours": value}})
    assert err.value.field == "draws.hold_hours"
    assert str(err.value).startswith("draws.hold_hours: ")


def test_holds_cost_no_extra_query(django_assert_max_num_queries):
    line = CreditLineFactory(limit_amount=Decimal("900000.00"))
    now = timezone.now()
    DrawCheckFactory.create_batch(40, customer=line.customer, amount=Decimal("10.00"), checked_at=now - timedelta(hours=2))
    TransactionFactory.create_batch(
        40, customer=line.customer, credit_draw=True, amount=Decimal("5.00"), occurred_at=now - timedelta(hours=1)
    )
    # one read (customer ⟕ line, drawn balance, posted draws, active policy row, velocity and holds) and the insert
    with django_assert_max_num_queries(2):
        check = draw_check(data=body(line.customer, "1.00"), now=now)
    assert check.held == Decimal("200.00")  # 400 held less 200 posted
