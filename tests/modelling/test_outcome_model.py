"""The database refuses an outcome row that breaks its invariants, whoever writes it."""

from datetime import date, timedelta

import pytest
from django.db import IntegrityError, transaction

from tests.modelling.factories import OutcomeFactory

pytestmark = pytest.mark.django_db


def test_the_factory_row_is_valid():
    row = OutcomeFactory(worst_dpd=120)

    assert (row.bad, row.matured, row.horizon_end) == (True, True, date(2025, 1, 1))


@pytest.mark.parametrize(
    "fields",
    [
        pytest.param({"worst_dpd": -1}, id="negative worst_dpd"),
        pytest.param({"horizon_months": 0}, id="horizon 0"),
        pytest.param({"horizon_months": 37, "horizon_end": date(2027, 2, 1), "as_of": date(2027, 3, 1)}, id="horizon 37"),
        pytest.param({"bad_days_past_due": 0}, id="threshold 0"),
        pytest.param({"bad_days_past_due": 3651}, id="threshold above ten years"),
        pytest.param({"worst_dpd": 95, "bad": False}, id="bad not set at the threshold"),
        pytest.param({"worst_dpd": 10, "bad": True}, id="bad set below the threshold"),
        pytest.param({"matured": False}, id="not matured after the horizon"),
        pytest.param({"as_of": date(2024, 6, 1), "matured": True}, id="matured before the horizon"),
        pytest.param({"horizon_end": date(2024, 1, 1), "as_of": date(2024, 2, 1)}, id="horizon ending at observation"),
        pytest.param({"as_of": date(2023, 12, 31), "matured": False}, id="as_of before observation"),
    ],
)
def test_a_row_breaking_an_invariant_is_refused(fields):
    with pytest.raises(IntegrityError), transaction.atomic():
        OutcomeFactory(**fields)


def test_one_row_per_customer_and_observation_date():
    first = OutcomeFactory()

    with pytest.raises(IntegrityError), transaction.atomic():
        OutcomeFactory(customer=first.customer, observation_date=first.observation_date, as_of=first.as_of + timedelta(days=1))
