"""Customers built to a recipe, for engine tests: what data they have and what they consented to."""

from datetime import datetime, timedelta, timezone as dt_timezone
from decimal import Decimal

from django.utils import timezone

from tests.factories import (
    BureauReportFactory,
    ConsentFactory,
    CreditApplicationFactory,
    CustomerFactory,
    RepaymentInstallmentFactory,
    TransactionFactory,
)

ALL_CONSENTS = ("credit_scoring", "bureau_query", "transaction_analysis")
GOOD_BUREAU = {"score": 720, "external_lenders": 1, "external_debt": Decimal("500.00")}


def days_ago(n: float):
    return timezone.now() - timedelta(days=n)


def months_ago_mid(n: int):
    """The 15th, noon UTC, of the calendar month `n` months before this one."""
    now = timezone.now().astimezone(dt_timezone.utc)
    index = now.year * 12 + now.month - 1 - n
    return datetime(index // 12, index % 12 + 1, 15, 12, tzinfo=dt_timezone.utc)


def make_customer(
    *,
    consents=ALL_CONSENTS,
    income: Decimal | None = Decimal("3000.00"),
    bureau: dict | None = GOOD_BUREAU,
    onboarded_days: int = 400,
    applications_last_week: int = 0,
    overdue_days: int | None = None,
    acknowledge_disclosure: bool = True,
):
    """A good customer by default: score 745, band A, limit 4,500.00 under the default policy
    (and, when a risk disclosure is published, it is acknowledged: no DISCLOSURE_MISSING)."""
    customer = CustomerFactory(onboarded_at=days_ago(onboarded_days))
    if acknowledge_disclosure:
        from accounts.models import Disclosure, DisclosureAcknowledgement

        for disclosure in Disclosure.objects.filter(kind="risk_disclosure"):
            DisclosureAcknowledgement.objects.create(
                customer=customer, disclosure=disclosure, shown_at=days_ago(2), acknowledged_at=days_ago(1)
            )
    for purpose in consents:
        ConsentFactory(customer=customer, purpose=purpose, granted_at=days_ago(onboarded_days - 1))
    if income:
        # A salary in each of the last three complete calendar months (the income proxy's window),
        # so the recipe gives the same limit whatever today's date.
        for month in range(3):
            TransactionFactory(customer=customer, income=True, amount=income, occurred_at=months_ago_mid(month + 1))
    if bureau:
        BureauReportFactory(customer=customer, reported_at=days_ago(10), **bureau)
    for n in range(applications_last_week):
        CreditApplicationFactory(customer=customer, applied_at=days_ago(1 + n * 0.5))
    if overdue_days is not None:
        draw = TransactionFactory(customer=customer, credit_draw=True, occurred_at=days_ago(overdue_days + 30))
        RepaymentInstallmentFactory(draw=draw, due_on=(timezone.now() - timedelta(days=overdue_days)).date())
    return customer
