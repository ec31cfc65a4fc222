"""A credit draw carries its repayment schedule: `transaction_record` stores the installments with
the draw, so the drawn balance (draw checks, the decision read, the engine's utilisation) sees it,
and repayments have installments to pay. The validation table is in test_events_validation.py."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone as dt_timezone
from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone

from accounts import events
from accounts.events import repayment_record, transaction_record
from accounts.models import CustomerChangeMark, RepaymentInstallment, Transaction
from api.selectors import drawn_balance
from riskops.core.exceptions import Conflict, ValidationFailed
from tests.factories import CustomerFactory, RepaymentInstallmentFactory

pytestmark = pytest.mark.django_db

AT = timezone.now() - timedelta(hours=2)  # one fixed time: a resend must be identical
DRAWN_ON = AT.astimezone(dt_timezone.utc).date()


def monthly(n: int = 3, amount: str = "110.00", first: int = 30) -> list[dict]:
    return [{"due_on": DRAWN_ON + timedelta(days=first + 30 * k), "amount_due": Decimal(amount)} for k in range(n)]


def draw(customer, *, external_id: str = "dr-1", amount: str = "300.00", installments=None, occurred_at: datetime = AT):
    return transaction_record(
        customer=customer, external_id=external_id, kind="credit_draw", amount=Decimal(amount), occurred_at=occurred_at,
        installments=monthly() if installments is None else installments,
    )


def counts() -> tuple[int, int, int]:
    return Transaction.objects.count(), RepaymentInstallment.objects.count(), CustomerChangeMark.objects.count()


@pytest.fixture
def customer():
    return CustomerFactory(onboarded_at=timezone.now() - timedelta(days=200))


def test_a_draw_stores_its_schedule_and_raises_the_drawn_balance_by_its_total(customer, django_capture_on_commit_callbacks):
    # given a customer who already owes 100.00 on an earlier draw
    RepaymentInstallmentFactory(draw__customer=customer, draw__occurred_at=AT - timedelta(days=20), amount_due=Decimal("100.00"))
    assert drawn_balance(customer_id=customer.pk) == Decimal("100.00")

    # when the loan system posts a draw of 300.00 repaid in three installments of 110.00 (8% fees)
    with django_capture_on_commit_callbacks() as callbacks:
        row = draw(customer)

    # then the installments are stored with it, numbered 1..3, open, and the balance rose by 330.00
    stored = list(RepaymentInstallment.objects.filter(draw=row).order_by("sequence"))
    assert [(i.sequence, i.due_on, i.amount_due, i.amount_paid, i.paid_at) for i in stored] == [
        (n, DRAWN_ON + timedelta(days=30 * n), Decimal("110.00"), Decimal("0.00"), None) for n in (1, 2, 3)
    ]
    assert {i.customer_id for i in stored} == {customer.pk}
    assert drawn_balance(customer_id=customer.pk) == Decimal("430.00")
    # one change mark and one recompute, as for any transaction
    assert CustomerChangeMark.objects.filter(customer=customer, trigger="transaction").count() == 1
    assert len(callbacks) == 1

    # and a repayment through repayment_record pays installment 1
    first = stored[0]
    with django_capture_on_commit_callbacks():
        paid = repayment_record(installment=first, external_id="rp-1", amount=Decimal("110.00"), paid_at=timezone.now())
    assert paid.pk == first.pk and paid.amount_paid == Decimal("110.00") and paid.paid_at is not None
    assert drawn_balance(customer_id=customer.pk) == Decimal("320.00")


def test_a_schedule_exactly_the_principal_and_one_of_sixty_installments_are_accepted(customer, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks():
        draw(customer, external_id="dr-flat", installments=monthly(3, "100.00"))
        draw(customer, external_id="dr-one", amount="50.00", installments=[{"due_on": DRAWN_ON + timedelta(days=1), "amount_due": "50"}])
        draw(customer, external_id="dr-60", amount="600.00", installments=monthly(60, "10.00"))
    assert RepaymentInstallment.objects.filter(draw__external_id="dr-60").count() == events.MAX_INSTALLMENTS == 60
    assert drawn_balance(customer_id=customer.pk) == Decimal("950.00")


def test_due_dates_are_judged_against_the_draws_utc_date(customer, django_capture_on_commit_callbacks):
    # given a draw at 17:30 UTC on day D, sent as 01:30 of day D+1 in UTC+08:00
    day = (timezone.now() - timedelta(days=3)).astimezone(dt_timezone.utc).date()
    occurred_at = datetime(day.year, day.month, day.day, 17, 30, tzinfo=dt_timezone.utc).astimezone(dt_timezone(timedelta(hours=8)))
    assert occurred_at.date() == day + timedelta(days=1)

    # when the first installment is due on D / then it is refused: it is not after the draw's date
    with pytest.raises(ValidationFailed) as exc:
        draw(customer, occurred_at=occurred_at, installments=[{"due_on": day, "amount_due": "300.00"}])
    assert exc.value.field == "installments[0].due_on" and day.isoformat() in exc.value.message
    # and due on D+1 (the sender's local date of the draw, the day after it in UTC) is accepted
    with django_capture_on_commit_callbacks():
        draw(customer, occurred_at=occurred_at, installments=[{"due_on": day + timedelta(days=1), "amount_due": "300.00"}])
    assert RepaymentInstallment.objects.get().due_on == day + timedelta(days=1)


def test_the_identical_resend_returns_the_draw_and_writes_nothing_even_after_a_repayment(customer, django_capture_on_commit_callbacks):
    # given a draw posted, and its first installment partly repaid since
    with django_capture_on_commit_callbacks():
        first = draw(customer)
        repayment_record(installment=first.installments.get(sequence=1), external_id="rp-1", amount=Decimal("10.00"), paid_at=timezone.now())
    before = counts()

    # when it is sent again, identical (amounts as strings of another scale)
    with django_capture_on_commit_callbacks() as callbacks:
        again = draw(customer, installments=[{**i, "amount_due": "110"} for i in monthly()])

    # then the stored draw comes back; nothing written, no recompute asked for
    assert again.pk == first.pk
    assert counts() == before and callbacks == []
    assert first.installments.get(sequence=1).amount_paid == Decimal("10.00")


@pytest.mark.parametrize(
    "installments",
    [
        monthly(3, "110.01"),
        monthly(4),
        monthly(2, "165.00"),
        monthly(3, first=31),
        [*monthly(2), {"due_on": DRAWN_ON + timedelta(days=91), "amount_due": Decimal("110.00")}],
    ],
    ids=["amounts", "one-more", "one-fewer", "dates", "last-date"],
)
def test_a_resend_with_another_schedule_is_a_conflict_naming_installments(customer, django_capture_on_commit_callbacks, installments):
    with django_capture_on_commit_callbacks():
        draw(customer)
    before = counts()
    with django_capture_on_commit_callbacks() as callbacks:
        with pytest.raises(Conflict) as exc:
            draw(customer, installments=installments)
    assert exc.value.field == "installments" and "dr-1" in exc.value.message
    assert counts() == before and callbacks == []


def test_a_draw_stored_without_a_schedule_conflicts_with_any_schedule(customer):
    # given a draw stored before draws carried schedules (no installments)
    Transaction.objects.create(external_id="dr-old", customer=customer, kind="credit_draw", amount=Decimal("300.00"), occurred_at=AT)
    # when the loan system resends it with its schedule / then it is a conflict, not a silent backfill
    with pytest.raises(Conflict) as exc:
        draw(customer, external_id="dr-old")
    assert exc.value.field == "installments"
    assert RepaymentInstallment.objects.count() == 0


def test_the_draw_and_its_installments_commit_together(customer, monkeypatch, django_capture_on_commit_callbacks):
    # given the installments' insert fails (a lost connection, a bug)
    def fail(*args, **kwargs):
        raise RuntimeError("insert failed")

    monkeypatch.setattr(RepaymentInstallment.objects, "bulk_create", fail)
    # when the draw is recorded / then neither it nor its change mark is left behind
    with django_capture_on_commit_callbacks() as callbacks:
        with pytest.raises(RuntimeError):
            draw(customer)
    assert counts() == (0, 0, 0) and callbacks == []


def test_only_a_credit_draw_carries_a_schedule(customer):
    with pytest.raises(ValidationFailed) as exc:
        transaction_record(customer=customer, external_id="p-1", kind="purchase", amount=Decimal("5.00"), occurred_at=AT, installments=monthly())
    assert exc.value.field == "installments" and "credit_draw" in exc.value.message
    with pytest.raises(ValidationFailed) as exc:
        transaction_record(customer=customer, external_id="d-1", kind="credit_draw", amount=Decimal("5.00"), occurred_at=AT)
    assert exc.value.field == "installments" and "required" in exc.value.message
    assert counts() == (0, 0, 0)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_same_draw_sent_at_once_four_times_is_stored_once_with_one_schedule():
    # the later inserts wait on the unique key, then find the committed draw and its schedule
    customer = CustomerFactory(onboarded_at=timezone.now() - timedelta(days=200))
    barrier, results = threading.Barrier(4), [None] * 4

    def worker(i: int) -> None:
        try:
            barrier.wait()
            results[i] = draw(customer).pk
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            results[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert len(set(results)) == 1 and isinstance(results[0], int), results
    assert Transaction.objects.filter(external_id="dr-1").count() == 1
    assert list(RepaymentInstallment.objects.filter(draw_id=results[0]).values_list("sequence", flat=True).order_by("sequence")) == [1, 2, 3]
