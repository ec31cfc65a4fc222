"""The bulk writers behave the same on both backends, below and above the COPY threshold."""

from decimal import Decimal

import pytest
from django.utils import timezone

from decisions.models import CreditLine, RiskAlert
from riskops.core.bulk import SMALL_BATCH, insert_objects, update_objects
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
