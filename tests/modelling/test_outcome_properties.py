"""Properties of materialised outcomes on random small books.

1. worst_dpd never exceeds (horizon_end − due_on) of the customer's earliest installment: nothing
   is counted past the horizon (and a customer with no installment has 0).
2. Events dated after as_of (new draws and their installments, payments of what was owed,
   consents withdrawn and granted, new customers) do not change the outcomes computed as of
   as_of: a second run as of the same date rewrites no row.
"""

from datetime import date, datetime, time, timedelta, timezone as dt_timezone

import pytest
from django.db import transaction
from hypothesis import HealthCheck, event, given, settings, strategies as st

from accounts.models import Consent, Customer, RepaymentInstallment
from modelling.models import Outcome
from modelling.performance import Installment, days_past_due_reached
from modelling.services.outcomes import outcomes_materialise
from tests.modelling.factories import at_noon, book_customer, installment, scoring_consent_for

pytestmark = pytest.mark.django_db

START = date(2024, 1, 1)
DAY = st.integers(min_value=0, max_value=700)  # days after START
CONSENT = st.sampled_from(["active", "none", "withdrawn", "expires"])
INSTALLMENT = st.tuples(st.integers(min_value=0, max_value=500), st.integers(min_value=1, max_value=120), st.one_of(st.none(), st.integers(min_value=-20, max_value=250)))
ONBOARDED = st.integers(min_value=0, max_value=180)  # early enough for some horizons to mature
CUSTOMER = st.tuples(ONBOARDED, CONSENT, st.integers(min_value=1, max_value=400), st.lists(INSTALLMENT, max_size=4))
BOOK = st.lists(CUSTOMER, min_size=1, max_size=4)


def _day(offset: int) -> date:
    return START + timedelta(days=offset)


def _build(book) -> None:
    """Customers: (onboarded day, consent kind, days until the consent ends, installments as
    (draw day, days from draw to due, days from due to payment or None))."""
    for onboarded, consent, consent_days, installments in book:
        onboarded_on = _day(onboarded)
        ends = onboarded_on + timedelta(days=consent_days)
        customer = book_customer(
            onboarded_on=onboarded_on,
            scoring_consent=consent != "none",
            withdrawn_on=ends if consent == "withdrawn" else None,
            expires_on=ends if consent == "expires" else None,
        )
        for drawn, due_after, paid_after in installments:
            drawn_on = max(_day(drawn), onboarded_on)
            due_on = drawn_on + timedelta(days=due_after)
            paid_on = None if paid_after is None else max(drawn_on, due_on + timedelta(days=paid_after))
            installment(customer, drawn_on=drawn_on, due_on=due_on, paid_on=paid_on)


def _add_events_after(as_of: date) -> None:
    after = as_of + timedelta(days=1)
    # What was owed at as_of is paid after it.
    for owed in RepaymentInstallment.objects.filter(paid_at__isnull=True).select_related("draw"):
        owed.amount_paid, owed.paid_at = owed.amount_due, max(at_noon(after), owed.draw.occurred_at)
        owed.save(update_fields=["amount_paid", "paid_at"])
    # Every customer draws again, and the installment falls due (unpaid) soon after.
    for customer in Customer.objects.all():
        drawn_on = max(after, customer.onboarded_at.date())
        installment(customer, drawn_on=drawn_on, due_on=drawn_on + timedelta(days=5))
    # Active consents are withdrawn after as_of (or after their grant, if that was later still)…
    for consent in Consent.objects.filter(state=Consent.State.ACTIVE):
        consent.state, consent.withdrawn_at = Consent.State.WITHDRAWN, max(at_noon(after), consent.granted_at)
        consent.save(update_fields=["state", "withdrawn_at"])
    # …and everyone grants a new one later still.
    for customer in Customer.objects.all():
        latest = Consent.objects.filter(customer=customer).order_by("-granted_at").first()
        granted_on = after if latest is None else max(after, (latest.withdrawn_at or latest.granted_at).date() + timedelta(days=1))
        scoring_consent_for(customer, granted_on=granted_on)
    # A customer onboarded after as_of, late from the start.
    late = book_customer(onboarded_on=after)
    installment(late, drawn_on=after, due_on=after + timedelta(days=1))


def _values() -> dict:
    return {
        (r["customer_id"], r["observation_date"]): r
        for r in Outcome.objects.values(
            "customer_id", "observation_date", "horizon_end", "as_of", "worst_dpd", "matured", "bad", "computed_at"
        )
    }


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
# as_of days after the first onboarding, spread evenly: short books and matured horizons alike.
@given(book=BOOK, as_of_offset=st.sampled_from(range(0, 801, 5)))
def test_outcomes_stay_within_the_horizon_and_ignore_what_happens_after_as_of(book, as_of_offset):
    with transaction.atomic():
        _build(book)
        first_onboarding = min(_day(onboarded) for onboarded, *_ in book)
        as_of = first_onboarding + timedelta(days=as_of_offset)
        now = datetime.combine(as_of, time(23, 0), tzinfo=dt_timezone.utc)
        before_report = outcomes_materialise(as_of=as_of, now=now)
        before = _values()

        # Property 1: nothing past the horizon is counted
        earliest_due = {}
        for customer_id, due_on in RepaymentInstallment.objects.values_list("customer_id", "due_on"):
            earliest_due[customer_id] = min(due_on, earliest_due.get(customer_id, due_on))
        for (customer_id, _), row in before.items():
            due = earliest_due.get(customer_id)
            ceiling = 0 if due is None else max(0, (row["horizon_end"] - due).days)
            assert 0 <= row["worst_dpd"] <= ceiling

        event("some row bad" if any(r["bad"] for r in before.values()) else "no row bad")
        event("some row matured" if any(r["matured"] for r in before.values()) else "no row matured")

        # Property 2: events after as_of change nothing computed as of as_of
        _add_events_after(as_of)
        after_report = outcomes_materialise(as_of=as_of, now=now + timedelta(minutes=5))
        after = _values()
        transaction.set_rollback(True)

    assert after == before  # computed_at included: not even rewritten
    assert after_report.written == 0 and after_report.deleted == 0
    assert [vars(o) for o in after_report.observations] == [vars(o) for o in before_report.observations]


@given(
    due=DAY,
    drawn_before_due=st.integers(min_value=0, max_value=60),
    paid_after_due=st.one_of(st.none(), st.integers(min_value=-30, max_value=400)),
    observation=DAY,
    length=st.integers(min_value=0, max_value=500),
    longer_by=st.integers(min_value=0, max_value=100),
)
def test_an_installments_days_past_due_is_bounded_and_grows_with_the_window(due, drawn_before_due, paid_after_due, observation, length, longer_by):
    due_on = _day(due)
    item = Installment(
        draw_date=due_on - timedelta(days=drawn_before_due),
        due_on=due_on,
        paid_on=None if paid_after_due is None else due_on + timedelta(days=paid_after_due),
    )
    observation_date = _day(observation)
    end = observation_date + timedelta(days=length)

    reached = days_past_due_reached(item, observation_date, end)

    assert 0 <= reached <= max(0, (end - due_on).days)
    if item.paid_on is not None:
        assert reached <= max(0, (item.paid_on - due_on).days)
    assert days_past_due_reached(item, observation_date, end + timedelta(days=longer_by)) >= reached
