"""An event is recorded whatever happens to its recompute: the change mark is the record of the work."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from kombu.exceptions import OperationalError as BrokerDown

from accounts.events import transaction_record
from accounts.models import CustomerChangeMark, Transaction
from decisions.tasks import recompute_customer
from tests.decisions.scenarios import make_customer

pytestmark = pytest.mark.django_db


def record(customer, external_id="sub-1"):
    return transaction_record(
        customer=customer, external_id=external_id, kind="purchase", amount=Decimal("12.00"),
        occurred_at=timezone.now() - timedelta(minutes=1),
    )


def test_a_failing_recompute_does_not_undo_or_hide_the_event(monkeypatch, caplog, django_capture_on_commit_callbacks):
    customer = make_customer()
    CustomerChangeMark.objects.all().delete()

    def broken(**kwargs):
        raise OverflowError("the policy cannot decide this customer")

    monkeypatch.setattr("decisions.tasks.decision_recompute", broken)

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        row = record(customer)  # eager mode: the recompute runs, and fails, after the commit

    assert len(callbacks) == 1

    assert Transaction.objects.filter(pk=row.pk).exists()
    assert CustomerChangeMark.objects.filter(customer=customer, trigger="transaction").exists()
    assert "change mark stays for the recovery sweep" in caplog.text


def test_an_unreachable_broker_does_not_fail_the_event(monkeypatch, django_capture_on_commit_callbacks):
    customer = make_customer()
    CustomerChangeMark.objects.all().delete()

    def down(*args, **kwargs):
        raise BrokerDown("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(recompute_customer, "delay", down)

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        row = record(customer, "sub-2")

    assert len(callbacks) == 1

    assert Transaction.objects.filter(pk=row.pk).exists()
    assert CustomerChangeMark.objects.filter(customer=customer).count() == 1
