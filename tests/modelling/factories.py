"""Factories for credit-outcome tests: a hand-built book on fixed dates, and outcome rows.

Dates are what these tests are about, so everything here takes calendar dates (UTC) and turns
them into the aware datetimes the models store, at noon so that no timezone can move them to
another day.
"""

from datetime import date, datetime, time, timedelta, timezone as dt_timezone
from decimal import Decimal

import copy

import factory

from accounts.models import Consent, Customer, RepaymentInstallment
from decisions.models import PolicyVersion
from decisions.engine.policy import default_policy_body
from modelling.models import Outcome
from tests.factories import ConsentFactory, CustomerFactory, PolicyVersionFactory, RepaymentInstallmentFactory, TransactionFactory


def at_noon(day: date) -> datetime:
    return datetime.combine(day, time(12, 0), tzinfo=dt_timezone.utc)


def book_customer(*, onboarded_on: date, scoring_consent: bool = True, **consent) -> Customer:
    """A customer onboarded on `onboarded_on`, with (by default) a credit_scoring consent granted
    the same day; `consent` overrides its fields (withdrawn_at, expires_at, state…)."""
    customer = CustomerFactory(onboarded_at=at_noon(onboarded_on))
    if scoring_consent:
        scoring_consent_for(customer, granted_on=onboarded_on, **consent)
    return customer


def scoring_consent_for(
    customer: Customer, *, granted_on: date, withdrawn_on: date | None = None, expires_on: date | None = None
) -> Consent:
    """A credit_scoring consent; withdrawn or expired on the given dates (state to match)."""
    if withdrawn_on is not None:
        state = Consent.State.WITHDRAWN
    elif expires_on is not None and expires_on <= date.today():
        state = Consent.State.EXPIRED
    else:
        state = Consent.State.ACTIVE
    return ConsentFactory(
        customer=customer,
        purpose=Consent.Purpose.CREDIT_SCORING,
        state=state,
        granted_at=at_noon(granted_on),
        withdrawn_at=at_noon(withdrawn_on) if withdrawn_on else None,
        expires_at=at_noon(expires_on) if expires_on else None,
    )


def installment(customer: Customer, *, drawn_on: date, due_on: date, paid_on: date | None = None) -> RepaymentInstallment:
    """One installment of a new draw made on `drawn_on`; fully paid on `paid_on`, or open."""
    draw = TransactionFactory(customer=customer, credit_draw=True, occurred_at=at_noon(drawn_on))
    amount = Decimal("100.00")
    return RepaymentInstallmentFactory(
        draw=draw,
        due_on=due_on,
        amount_due=amount,
        amount_paid=amount if paid_on else Decimal("0.00"),
        paid_at=at_noon(paid_on) if paid_on else None,
    )


def active_policy_version() -> PolicyVersion:
    return PolicyVersion.objects.get(state=PolicyVersion.State.ACTIVE)


def active_policy_with_outcome(outcome: dict) -> PolicyVersion:
    """A new active policy: the shipped default with this `outcome` section (v1 is retired)."""
    body = copy.deepcopy(default_policy_body())
    body["outcome"] = outcome
    return PolicyVersionFactory(active=True, body=body)


class OutcomeFactory(factory.django.DjangoModelFactory):
    """A matured, good outcome under the default definition (90 days, 12 months)."""

    class Meta:
        model = Outcome

    customer = factory.SubFactory(CustomerFactory)
    observation_date = date(2024, 1, 1)
    horizon_months = 12
    horizon_end = factory.LazyAttribute(
        lambda o: date(o.observation_date.year + (o.observation_date.month - 1 + o.horizon_months) // 12,
                       (o.observation_date.month - 1 + o.horizon_months) % 12 + 1, 1)
    )
    as_of = factory.LazyAttribute(lambda o: o.horizon_end + timedelta(days=10))
    worst_dpd = 0
    bad_days_past_due = 90
    # outcome_matured_iff_horizon_ended / outcome_bad_iff_threshold_reached
    matured = factory.LazyAttribute(lambda o: o.horizon_end <= o.as_of)
    bad = factory.LazyAttribute(lambda o: o.worst_dpd >= o.bad_days_past_due)
    policy_version = factory.LazyFunction(active_policy_version)
    computed_at = factory.LazyAttribute(lambda o: at_noon(o.as_of))
