"""book_stats_refresh: set-based daily aggregates behind the overview, idempotent per day."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from decisions.models import BookDailyStat, BookMetric
from decisions.casework.services.book_stats import book_stats_refresh, utc_today
from decisions.tasks import refresh_book_stats
from riskops.core.exceptions import ValidationFailed
from tests.factories import (
    CreditDecisionFactory,
    CreditLineFactory,
    CustomerFactory,
    RepaymentInstallmentFactory,
    RiskAlertFactory,
)

pytestmark = pytest.mark.django_db


def _stats(day) -> dict[tuple[str, str], Decimal]:
    return {(s.metric, s.key): s.value for s in BookDailyStat.objects.filter(day=day)}


@pytest.fixture
def small_book():
    """Four customers: open (score 703, A), limited (645, B), suspended (561, D), never recomputed."""
    now = timezone.now()
    open_line = CreditLineFactory(access="open", limit_amount=Decimal("1000.00"), score=703, band="A")
    limited = CreditLineFactory(access="limited", limit_amount=Decimal("500.00"), score=645, band="B")
    suspended = CreditLineFactory(suspended=True, score=561, band="D")
    CustomerFactory()  # no line yet
    # Drawn: 100 unpaid + 50 left on a half-paid 100; a paid installment owes nothing.
    RepaymentInstallmentFactory(draw__customer=open_line.customer)
    RepaymentInstallmentFactory(draw__customer=open_line.customer, partially_paid=True)
    RepaymentInstallmentFactory(draw__customer=limited.customer, paid=True)
    # Alerts raised today (2 over-borrowing, 1 overdue) and one yesterday.
    RiskAlertFactory(customer=open_line.customer, rule="OVER_BORROWING", raised_at=now)
    RiskAlertFactory(customer=limited.customer, rule="OVER_BORROWING", raised_at=now)
    RiskAlertFactory(customer=suspended.customer, rule="OVERDUE_30", raised_at=now, suspend=True)
    RiskAlertFactory(customer=suspended.customer, rule="SPENDING_SPIKE", raised_at=now - timedelta(days=1))
    # Decisions today: an increase, a cut (a suspension takes the limit to 0), a first grant.
    CreditDecisionFactory(customer=open_line.customer, decided_at=now, limit_amount=Decimal("1000.00"), previous_limit=Decimal("800.00"))
    CreditDecisionFactory(customer=suspended.customer, suspended=True, decided_at=now, previous_limit=Decimal("300.00"))
    CreditDecisionFactory(customer=limited.customer, decided_at=now, previous_limit=None)
    return now


def test_refresh_counts_the_book_by_access_band_score_exposure_and_drawn(small_book):
    # Given the small book; when today is refreshed
    today = utc_today()
    book_stats_refresh(day=today)
    stats = _stats(today)
    # then each figure matches the book
    assert stats[(BookMetric.CUSTOMERS_BY_ACCESS, "open")] == 1
    assert stats[(BookMetric.CUSTOMERS_BY_ACCESS, "limited")] == 1
    assert stats[(BookMetric.CUSTOMERS_BY_ACCESS, "suspended")] == 1
    assert stats[(BookMetric.CUSTOMERS_BY_ACCESS, "not_offered")] == 1  # the customer without a line
    assert stats[(BookMetric.CUSTOMERS_BY_ACCESS, "closed")] == 0
    assert stats[(BookMetric.CUSTOMERS_BY_BAND, "A")] == 1
    assert stats[(BookMetric.CUSTOMERS_BY_BAND, "B")] == 1
    assert stats[(BookMetric.CUSTOMERS_BY_BAND, "D")] == 1
    assert stats[(BookMetric.CUSTOMERS_BY_BAND, "")] == 1  # unscored
    assert stats[(BookMetric.SCORE_BUCKET, "A:700")] == 1
    assert stats[(BookMetric.SCORE_BUCKET, "B:640")] == 1
    assert stats[(BookMetric.SCORE_BUCKET, "D:560")] == 1
    assert stats[(BookMetric.LIMIT_EXPOSURE, "")] == Decimal("1500.00")
    assert stats[(BookMetric.DRAWN_BALANCE, "")] == Decimal("150.00")
    assert stats[(BookMetric.ALERTS_RAISED, "OVER_BORROWING")] == 2
    assert stats[(BookMetric.ALERTS_RAISED, "OVERDUE_30")] == 1
    assert stats[(BookMetric.ALERTS_RAISED, "SPENDING_SPIKE")] == 0  # that one was yesterday
    assert stats[(BookMetric.LIMIT_CHANGES, "increase")] == 1
    assert stats[(BookMetric.LIMIT_CHANGES, "cut")] == 1  # the first grant is neither


def test_refresh_is_idempotent(small_book):
    # Given a refreshed day; when it is refreshed again with the same data
    today = utc_today()
    first = book_stats_refresh(day=today)
    rows_before = sorted(BookDailyStat.objects.values_list("day", "metric", "key", "value"))
    second = book_stats_refresh(day=today)
    # then the same rows, no duplicates
    assert first == second
    assert sorted(BookDailyStat.objects.values_list("day", "metric", "key", "value")) == rows_before
    assert BookDailyStat.objects.count() == len(rows_before)


def test_refresh_drops_a_score_bucket_that_emptied(small_book):
    today = utc_today()
    book_stats_refresh(day=today)
    # When the A customer's score moves to another bucket
    from decisions.models import CreditLine

    CreditLine.objects.filter(score=703).update(score=688)
    book_stats_refresh(day=today)
    stats = _stats(today)
    # then the old bucket is gone and the new one counted
    assert (BookMetric.SCORE_BUCKET, "A:700") not in stats
    assert stats[(BookMetric.SCORE_BUCKET, "A:680")] == 1


def test_a_past_day_recounts_flow_metrics_only(small_book):
    yesterday = utc_today() - timedelta(days=1)
    book_stats_refresh(day=yesterday)
    stats = _stats(yesterday)
    assert stats[(BookMetric.ALERTS_RAISED, "SPENDING_SPIKE")] == 1
    # The book as it stands now is not yesterday's picture: no snapshot rows for a past day.
    assert not any(metric == BookMetric.CUSTOMERS_BY_ACCESS for metric, _key in stats)


def test_a_future_day_is_refused(db):
    with pytest.raises(ValidationFailed):
        book_stats_refresh(day=utc_today() + timedelta(days=1))
    assert not BookDailyStat.objects.exists()


def test_an_empty_book_gives_zeros(db):
    today = utc_today()
    book_stats_refresh(day=today)
    stats = _stats(today)
    assert stats[(BookMetric.CUSTOMERS_BY_ACCESS, "open")] == 0
    assert stats[(BookMetric.LIMIT_EXPOSURE, "")] == 0
    assert stats[(BookMetric.DRAWN_BALANCE, "")] == 0


def test_hourly_task_refreshes_today_and_yesterday(small_book):
    refresh_book_stats.delay()
    days = set(BookDailyStat.objects.values_list("day", flat=True))
    assert days == {utc_today(), utc_today() - timedelta(days=1)}


def test_the_beat_schedule_runs_the_refresh_hourly(settings):
    entries = [e for e in settings.CELERY_BEAT_SCHEDULE.values() if e["task"] == "decisions.tasks.refresh_book_stats"]
    assert len(entries) == 1


@pytest.mark.django_db
def test_a_finished_run_refreshes_the_overviews_daily_figures(django_capture_on_commit_callbacks):
    from decisions.models import BookDailyStat
    from decisions.engine.services.runs import recompute_run_process_inline, recompute_run_start
    from tests.decisions.scenarios import make_customer

    make_customer()
    with django_capture_on_commit_callbacks(execute=True):
        recompute_run_process_inline(run=recompute_run_start(enqueue=False))

    assert BookDailyStat.objects.filter(metric="customers_by_access", key="open").exists()
