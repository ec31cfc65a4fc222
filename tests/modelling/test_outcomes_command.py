"""`manage.py outcomes` and the nightly task: the report as a table, bad dates refused."""

from datetime import date, timedelta
from io import StringIO

import pytest
from celery.schedules import crontab
from django.conf import settings
from django.core.management import CommandError, call_command
from django.utils import timezone

from modelling.models import Outcome
from modelling.tasks import materialise_outcomes
from riskops.core.models import AuditEvent
from tests.modelling.factories import book_customer, installment

pytestmark = pytest.mark.django_db


@pytest.fixture
def book():
    # Onboarded 2024-01-10: observation dates from 2024-02-01.
    late = book_customer(onboarded_on=date(2024, 1, 10))
    installment(late, drawn_on=date(2024, 2, 10), due_on=date(2024, 3, 10), paid_on=date(2024, 6, 13))
    book_customer(onboarded_on=date(2024, 1, 10))
    book_customer(onboarded_on=date(2024, 1, 10), scoring_consent=False)
    return late


def _run(*args: str) -> str:
    out = StringIO()
    call_command("outcomes", *args, stdout=out, stderr=StringIO())
    return out.getvalue()


def test_the_command_prints_the_report_as_a_table(book):
    output = _run("--as-of", "2025-03-15", "--no-progress")
    lines = output.splitlines()

    header = next(line for line in lines if line.startswith("observation date"))
    for column in ("customers", "excluded (no consent)", "matured", "bad", "bad rate"):
        assert column in header
    february = next(line for line in lines if line.startswith("2024-02-01")).split()
    assert february == ["2024-02-01", "2", "1", "2", "1", "50.00%"]
    june = next(line for line in lines if line.startswith("2024-06-01")).split()
    assert june[-1] == "open"  # horizon not ended: no rate yet
    assert "bad = worst days past due ≥ 90 within 12 months (policy v1)" in output
    assert "Excluded (no credit_scoring consent at the observation date): 14 customer-months in total." in output
    assert Outcome.objects.count() == 2 * 14


@pytest.mark.clock
def test_the_command_defaults_to_today(book):
    _run("--no-progress")

    today = timezone.now().date()
    assert set(Outcome.objects.values_list("as_of", flat=True)) == {today}
    assert Outcome.objects.order_by("-observation_date").first().observation_date == today.replace(day=1)


def test_a_second_run_reports_nothing_written(book):
    _run("--as-of", "2025-03-15", "--no-progress")

    output = _run("--as-of", "2025-03-15", "--no-progress")

    assert "28 outcomes: 0 written, 28 unchanged, 0 deleted" in output


@pytest.mark.parametrize(
    "value, message",
    [
        ((timezone.now() + timedelta(days=2)).date().isoformat(), "--as-of: "),
        ("2024-01-09", "--as-of: 2024-01-09 is before the book starts"),
        ("15/03/2025", "--as-of must be a date as YYYY-MM-DD, not '15/03/2025'"),
    ],
)
def test_a_bad_date_is_a_command_error_naming_the_option_and_nothing_is_written(book, value, message):
    events = AuditEvent.objects.count()

    with pytest.raises(CommandError) as refused:
        _run("--as-of", value, "--no-progress")

    assert message in str(refused.value)
    assert Outcome.objects.count() == 0
    assert AuditEvent.objects.count() == events


@pytest.mark.clock
def test_the_nightly_task_materialises_as_of_today(book):
    result = materialise_outcomes.delay().get()

    assert result["as_of"] == timezone.now().date().isoformat()
    assert result["rows"] == Outcome.objects.count() > 0
    assert AuditEvent.objects.filter(action="outcomes.materialise").count() == 1


def test_the_nightly_task_is_scheduled_at_04_15_utc():
    entry = settings.CELERY_BEAT_SCHEDULE["nightly-outcomes"]

    assert entry["task"] == "modelling.tasks.materialise_outcomes"
    assert entry["schedule"] == crontab(hour=4, minute=15)
    assert settings.CELERY_TIMEZONE == "UTC"


def test_a_date_before_the_first_observation_date_has_none_yet(book):
    output = _run("--as-of", "2024-01-20", "--no-progress")

    assert "No observation date yet" in output
    assert "0 outcomes: 0 written" in output
