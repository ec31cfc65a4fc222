"""Reads of credit outcomes for pages, the API and commands."""

from django.db.models import QuerySet

from accounts.models import Customer

from .models import Outcome


def customer_outcomes(customer_id: int) -> QuerySet[Outcome]:
    """A customer's outcome rows, newest observation date first (the profile's outcome history).

    Each row: observation_date, horizon_end, as_of, worst_dpd, matured, bad, bad_days_past_due,
    horizon_months, policy_version (its `version` number is read with it), computed_at. No
    rows for a month means the customer was not onboarded by then or had no credit_scoring
    consent at the observation date."""
    return (
        Outcome.objects.filter(customer_id=customer_id)
        .select_related("policy_version")
        .defer("policy_version__body")  # the version's number is shown, not its document
        .order_by("-observation_date")
    )


PROFILE_ROWS = 24  # two years of monthly observation dates


def customer_outcomes_for_profile(customer_id: int) -> list[Outcome]:
    """The profile's outcome panel: the newest PROFILE_ROWS observation dates (one query)."""
    return list(customer_outcomes(customer_id)[:PROFILE_ROWS])


def customers_to_materialise() -> int:
    """How many customers a materialisation reads (all of them): the progress bar's total."""
    return Customer.objects.count()
