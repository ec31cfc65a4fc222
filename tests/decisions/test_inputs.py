"""Reading a recompute's inputs: the locking read clears change marks; the dry-run read touches nothing."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.changes import customer_data_changed
from accounts.models import CustomerChangeMark
from decisions.models import CreditLine
from decisions.engine.services.inputs import load_chunk
from tests.decisions.scenarios import make_customer

pytestmark = pytest.mark.django_db


def test_the_locking_read_creates_lines_and_clears_the_chunks_change_marks():
    customer = make_customer()
    customer_data_changed(customer_id=customer.pk, trigger="transaction")

    contexts = load_chunk(first_id=customer.pk, last_id=customer.pk, now=timezone.now())

    assert [c.customer_id for c in contexts] == [customer.pk]
    assert CreditLine.objects.filter(customer=customer).exists()
    assert not CustomerChangeMark.objects.filter(customer=customer).exists()


def test_the_dry_run_read_takes_no_lock_creates_no_line_and_leaves_the_marks():
    customer = make_customer()
    customer_data_changed(customer_id=customer.pk, trigger="transaction")

    with CaptureQueriesContext(connection) as ctx:
        contexts = load_chunk(first_id=customer.pk, last_id=customer.pk, now=timezone.now(), lock=False)

    assert contexts[0].line.pk is None and contexts[0].features.features is not None
    assert not CreditLine.objects.filter(customer=customer).exists()
    assert CustomerChangeMark.objects.filter(customer=customer).exists()
    assert not any("FOR UPDATE" in q["sql"] or q["sql"].startswith(("INSERT", "DELETE", "UPDATE")) for q in ctx.captured_queries)
