"""The bulk writers behave the same on both backends, below and above the COPY threshold."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone

from accounts.models import Customer
from accounts.seeding.generator import CUSTOMER_COLUMNS
from decisions.models import CreditLine, RiskAlert
from riskops.core.bulk import SMALL_BATCH, copy_rows, ids_param, insert_objects, update_objects
from tests.factories import CreditLineFactory, CustomerFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("count", [3, SMALL_BATCH * 2 + 7])
def test_insert_objects_sets_ids_and_writes_json(count):
    customers = CustomerFactory.create_batch(count)
    now = timezone.now()
    alerts = [
        RiskAlert(customer=c, rule="SPENDING_SPIKE", action="review", evidence={"spike_ratio": "3.5", "n": i}, raised_at=now, last_seen_at=now)
        for i, c in enumerate(customers)
    ]

    insert_objects(RiskAlert, alerts)

    assert all(a.pk for a in alerts)
    stored = {a.pk: a.evidence for a in RiskAlert.objects.all()}
    assert [stored[a.pk] for a in alerts] == [{"spike_ratio": "3.5", "n": i} for i in range(count)]


@pytest.mark.parametrize("count", [3, SMALL_BATCH * 2 + 7])
def test_update_objects_writes_only_the_named_fields(count):
    lines = CreditLineFactory.create_batch(count, limit_amount=Decimal("500.00"), score=700)
    for n, line in enumerate(lines):
        line.limit_amount = Decimal("123.45") + n
        line.score = 1  # changed in memory but not named: must not be written

    update_objects(CreditLine, lines, ["limit_amount"])

    stored = dict(CreditLine.objects.values_list("pk", "limit_amount"))
    assert [stored[line.pk] for line in lines] == [Decimal("123.45") + n for n in range(count)]
    assert set(CreditLine.objects.values_list("score", flat=True)) == {700}



def _customer_rows(first: int, count: int) -> list[tuple]:
    at = timezone.now() - timedelta(days=100)
    return [(n, f"B{n:07d}", f"Bulk {n}", f"{n:011d}", f"+1555{n:07d}", at, "en", at) for n in range(first, first + count)]


def test_copy_rows_of_a_generator_writes_every_row_in_statements_the_backend_accepts(largest_statement):
    # 1,000 rows × 8 columns is 8,000 values: one INSERT would pass SQLite's 999-variable limit.
    rows = _customer_rows(10_000, 1_000)

    written = copy_rows(Customer, CUSTOMER_COLUMNS, (row for row in rows))

    assert written == 1_000
    assert list(Customer.objects.order_by("pk").values_list("pk", "external_id")) == [(r[0], r[1]) for r in rows]
    if connection.features.max_query_params:
        assert 0 < largest_statement[0] <= connection.features.max_query_params


def test_copy_rows_small_list_takes_the_insert_path_on_every_backend():
    rows = _customer_rows(20_000, SMALL_BATCH - 1)

    assert copy_rows(Customer, CUSTOMER_COLUMNS, rows) == SMALL_BATCH - 1
    assert Customer.objects.count() == SMALL_BATCH - 1


def test_ids_param_filters_a_whole_chunk_of_ids_within_the_variable_limit(largest_statement):
    copy_rows(Customer, CUSTOMER_COLUMNS, _customer_rows(1, 2_500))
    wanted = list(range(2, 2_500, 2))  # 1,249 ids: more than 999

    found = list(Customer.objects.filter(pk__in=ids_param(wanted)).order_by("pk").values_list("pk", flat=True))

    assert found == wanted
    if connection.features.max_query_params:
        assert largest_statement[0] <= connection.features.max_query_params


def test_ids_param_passes_a_short_list_through():
    assert ids_param([3, 1, 2]) == [3, 1, 2]
