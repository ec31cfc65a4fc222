"""The change outbox: every announced change leaves a mark in the event's transaction; the marks
are cleared by customer or by id range and the stale ones are found oldest first."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import transaction
from django.utils import timezone

from accounts import changes
from accounts.changes import (
    change_marks_clear,
    change_marks_clear_range,
    change_marks_take_range,
    customer_data_changed,
    stale_change_marks,
)
from accounts.events import transaction_record
from accounts.models import CustomerChangeMark
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db


def mark(customer, trigger: str, minutes_ago: float) -> CustomerChangeMark:
    return CustomerChangeMark.objects.create(
        customer=customer, trigger=trigger, marked_at=timezone.now() - timedelta(minutes=minutes_ago)
    )


def test_an_announced_change_leaves_one_mark_before_subscribers_hear_of_it(monkeypatch):
    customer = CustomerFactory()
    seen: list[int] = []
    # Replace the registry for this test: the subscriber records how many marks existed when called.
    monkeypatch.setattr(changes, "_SUBSCRIBERS", [lambda **kw: seen.append(CustomerChangeMark.objects.filter(customer=customer).count())])

    customer_data_changed(customer_id=customer.pk, trigger="bureau")

    stored = CustomerChangeMark.objects.get(customer=customer)
    assert stored.trigger == "bureau"
    assert abs((timezone.now() - stored.marked_at).total_seconds()) < 5
    assert seen == [1]


def test_the_mark_rolls_back_with_the_event(monkeypatch):
    customer = CustomerFactory()
    monkeypatch.setattr(changes, "_SUBSCRIBERS", [])

    with pytest.raises(RuntimeError):
        with transaction.atomic():
            customer_data_changed(customer_id=customer.pk, trigger="transaction")
            raise RuntimeError("the event's transaction fails after the announcement")

    assert not CustomerChangeMark.objects.exists()


def test_a_new_event_marks_its_customer_and_a_resent_one_does_not(django_capture_on_commit_callbacks, monkeypatch):
    customer = CustomerFactory()
    monkeypatch.setattr(changes, "_SUBSCRIBERS", [])  # no recompute: the mark must stay
    when = timezone.now()

    transaction_record(customer=customer, external_id="tx-m1", kind="purchase", amount=Decimal("5.00"), occurred_at=when)
    transaction_record(customer=customer, external_id="tx-m1", kind="purchase", amount=Decimal("5.00"), occurred_at=when)

    assert list(CustomerChangeMark.objects.filter(customer=customer).values_list("trigger", flat=True)) == ["transaction"]


def test_clear_removes_only_the_named_customers_marks():
    a, b = CustomerFactory(), CustomerFactory()
    mark(a, "transaction", 1), mark(a, "bureau", 2), mark(b, "consent", 3)

    assert change_marks_clear(customer_ids=[a.pk]) == 2
    assert change_marks_clear(customer_ids=[]) == 0

    assert list(CustomerChangeMark.objects.values_list("customer_id", flat=True)) == [b.pk]


def test_clear_range_is_inclusive_at_both_ends():
    first, middle, last, outside = (CustomerFactory() for _ in range(4))
    for customer in (first, middle, last, outside):
        mark(customer, "transaction", 1)

    assert change_marks_clear_range(first_id=first.pk, last_id=last.pk) == 3

    assert list(CustomerChangeMark.objects.values_list("customer_id", flat=True)) == [outside.pk]


def test_take_range_says_what_changed_per_customer_and_leaves_the_rest():
    first, last, outside = (CustomerFactory() for _ in range(3))
    mark(first, "transaction", 2)
    mark(first, "repayment", 1)
    mark(first, "transaction", 1)
    mark(last, "consent", 1)
    mark(outside, "bureau", 1)

    assert change_marks_take_range(first_id=first.pk, last_id=last.pk) == {
        first.pk: ["repayment", "transaction"], last.pk: ["consent"]
    }
    assert change_marks_take_range(first_id=first.pk, last_id=last.pk) == {}
    assert list(CustomerChangeMark.objects.values_list("customer_id", flat=True)) == [outside.pk]


def test_stale_marks_are_one_per_customer_oldest_first_with_the_oldest_trigger_and_bounded():
    fresh, old, older, oldest = (CustomerFactory() for _ in range(4))
    mark(fresh, "transaction", 0.5)
    mark(old, "repayment", 10), mark(old, "bureau", 20)  # two marks: the older names the trigger
    mark(older, "consent", 30)
    mark(oldest, "application", 40)
    cutoff = timezone.now() - timedelta(minutes=2)

    assert stale_change_marks(older_than=cutoff, limit=10) == [
        (oldest.pk, "application"), (older.pk, "consent"), (old.pk, "bureau"),
    ]
    assert stale_change_marks(older_than=cutoff, limit=2) == [(oldest.pk, "application"), (older.pk, "consent")]
    assert stale_change_marks(older_than=timezone.now() - timedelta(hours=1), limit=10) == []
    assert CustomerChangeMark.objects.count() == 5  # reading never clears
