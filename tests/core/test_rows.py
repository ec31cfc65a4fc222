"""insert_row: the hand-written INSERT stores what the ORM would, on every backend."""

from datetime import datetime, timezone as dt_timezone
from decimal import Decimal

import pytest

from draws.models import DrawCheck
from riskops.core.rows import insert_row
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db


def test_an_inserted_row_reads_back_through_the_orm_field_for_field(django_assert_num_queries):
    customer = CustomerFactory()
    values = {
        "customer_id": customer.pk, "amount": Decimal("1234.50"), "currency": "CNY", "channel": "app",
        "merchant_category": "5411", "device_id": "dev-é", "decision": "deny",
        "reasons": [{"code": "OVER_AVAILABLE", "text": "超过可用额度"}], "available": Decimal("0.00"), "held": Decimal("10.01"),
        "latency_ms": 1.25, "checked_at": datetime(2026, 12, 1, 9, 30, 15, 123456, tzinfo=dt_timezone.utc), "client_ref": "payments",
    }
    with django_assert_num_queries(1):
        made = insert_row(DrawCheck, values=values)
    stored = DrawCheck.objects.get(pk=made.pk)
    for name, value in values.items():
        assert getattr(stored, name) == value, name
        assert getattr(made, name) == value, name
    assert made.pk and made._state.adding is False and made._state.db == "default"
    second = insert_row(DrawCheck, values={**values, "decision": "allow", "reasons": []})
    assert second.pk > made.pk and DrawCheck.objects.get(pk=second.pk).reasons == []


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_async_commit_lasts_for_its_own_statement_only_and_the_row_is_committed():
    from django.db import connection, transaction
    from django.test.utils import CaptureQueriesContext

    def commit_mode() -> str:
        with connection.cursor() as cursor:
            cursor.execute("SHOW synchronous_commit")
            return cursor.fetchone()[0]

    customer = CustomerFactory()
    values = {
        "customer_id": customer.pk, "amount": Decimal("5.00"), "currency": "CNY", "channel": "app", "merchant_category": "",
        "device_id": "", "decision": "allow", "reasons": [], "available": Decimal("1.00"), "held": Decimal("0.00"),
        "latency_ms": 0.5, "checked_at": datetime(2026, 12, 1, tzinfo=dt_timezone.utc), "client_ref": "",
    }
    assert commit_mode() == "on"
    with CaptureQueriesContext(connection) as queries:
        made = insert_row(DrawCheck, values=values, async_commit=True)
    assert "set_config('synchronous_commit', 'off', true)" in queries[0]["sql"]
    # the same construction, read back inside its statement: off for that transaction only
    with connection.cursor() as cursor:
        cursor.execute("WITH commit_mode AS (SELECT set_config('synchronous_commit', 'off', true)) "
                       "SELECT current_setting('synchronous_commit') FROM commit_mode")
        assert cursor.fetchone()[0] == "off"
    assert commit_mode() == "on"  # the session's setting is untouched after the statement
    # committed: another connection sees it at once
    other = connection.copy()
    try:
        with other.cursor() as cursor:
            cursor.execute("SELECT amount FROM draws_drawcheck WHERE id = %s", [made.pk])
            assert cursor.fetchone()[0] == Decimal("5.00")
    finally:
        other.close()
    # inside a transaction the INSERT never changes how the enclosing transaction commits
    with transaction.atomic(), CaptureQueriesContext(connection) as queries:
        insert_row(DrawCheck, values=values, async_commit=True)
        assert commit_mode() == "on" and "set_config" not in queries[0]["sql"]
    assert DrawCheck.objects.count() == 2
