"""Daily book aggregates (`BookDailyStat`) behind the overview page.

The overview must not scan the book or its transactions on every view (at 100k customers a
COUNT over transactions alone cost 250–370 ms). Instead a handful of GROUP BY queries run here,
at the end of every recompute run and hourly by beat, and the page reads the few hundred rows
they leave behind.

Two kinds of metric (see `BookMetric`):
- **snapshot** metrics (customers by access state and by band, score distribution, total limit
  exposure, total drawn balance) describe the book *now*, so they are written only for today
  (UTC): the last refresh of a day is that day's picture. A past day keeps the picture it had.
- **flow** metrics (alerts raised per rule, limit increases and cuts) count what happened during
  the day and can be recounted from history at any time, so a past day is recounted too (the
  hourly task recounts yesterday as well, to catch what happened after its last refresh).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, time, timedelta, timezone as dt_timezone
from decimal import Decimal

from django.db import transaction
from django.db.models import Count, DecimalField, ExpressionWrapper, F, Q, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from accounts.models import Customer, RepaymentInstallment
from riskops.core.exceptions import ValidationFailed

from decisions.models import Access, AlertRule, Band, BookDailyStat, BookMetric, CreditDecision, CreditLine, RiskAlert

SNAPSHOT_METRICS = (
    BookMetric.CUSTOMERS_BY_ACCESS,
    BookMetric.CUSTOMERS_BY_BAND,
    BookMetric.SCORE_BUCKET,
    BookMetric.LIMIT_EXPOSURE,
    BookMetric.DRAWN_BALANCE,
)
FLOW_METRICS = (BookMetric.ALERTS_RAISED, BookMetric.LIMIT_CHANGES)
SCORE_BUCKET_WIDTH = 10  # band cut-offs in the shipped policy are multiples of 10
UNSCORED = ""  # the band key for customers without a score (no consent, or never recomputed)
ZERO = Decimal("0.00")
_MONEY = DecimalField(max_digits=18, decimal_places=2)


def utc_today() -> date:
    return timezone.now().astimezone(dt_timezone.utc).date()


def _day_bounds(day: date) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time.min, tzinfo=dt_timezone.utc)
    return start, start + timedelta(days=1)


def _snapshot_values() -> dict[tuple[str, str], Decimal]:
    values: dict[tuple[str, str], Decimal] = {}
    # 1. Customers by access and limit exposure: one GROUP BY over customers ⟕ lines. A customer
    #    the engine has not reached yet has no line and counts as not offered.
    by_access = (
        Customer.objects.values(state=Coalesce("credit_line__access", Value(Access.NOT_OFFERED.value)))
        .annotate(n=Count("id"), exposure=Coalesce(Sum("credit_line__limit_amount"), Value(ZERO), output_field=_MONEY))
        .order_by()
    )
    total_customers, exposure = 0, ZERO
    for access in Access.values:
        values[(BookMetric.CUSTOMERS_BY_ACCESS, access)] = ZERO  # zeros too: a state that empties shows 0
    for row in by_access:
        values[(BookMetric.CUSTOMERS_BY_ACCESS, row["state"])] = Decimal(row["n"])
        total_customers += row["n"]
        exposure += row["exposure"]
    values[(BookMetric.LIMIT_EXPOSURE, "")] = exposure
    # 2. Score distribution: one GROUP BY over lines with a score, by band and 10-point bucket.
    buckets = (
        CreditLine.objects.filter(score__isnull=False)
        .values("band", bucket=F("score") / SCORE_BUCKET_WIDTH * SCORE_BUCKET_WIDTH)
        .annotate(n=Count("id"))
        .order_by()
    )
    by_band: dict[str, int] = defaultdict(int)
    for row in buckets:
        band = row["band"] or UNSCORED
        values[(BookMetric.SCORE_BUCKET, f"{band}:{int(row['bucket'])}")] = Decimal(row["n"])
        by_band[band] += row["n"]
    scored = sum(n for band, n in by_band.items() if band != UNSCORED)
    for band in Band.values:
        values[(BookMetric.CUSTOMERS_BY_BAND, band)] = Decimal(by_band.get(band, 0))
    values[(BookMetric.CUSTOMERS_BY_BAND, UNSCORED)] = Decimal(total_customers - scored)
    # 3. Drawn balance: what is still owed on unpaid installments (one aggregate; partial index
    #    not needed: this runs hourly, not per page view).
    owed = RepaymentInstallment.objects.filter(paid_at__isnull=True).aggregate(
        owed=Coalesce(Sum(ExpressionWrapper(F("amount_due") - F("amount_paid"), output_field=_MONEY)), Value(ZERO), output_field=_MONEY)
    )["owed"]
    values[(BookMetric.DRAWN_BALANCE, "")] = Decimal(owed)
    return values


def _flow_values(day: date) -> dict[tuple[str, str], Decimal]:
    start, end = _day_bounds(day)
    values: dict[tuple[str, str], Decimal] = {(BookMetric.ALERTS_RAISED, rule): ZERO for rule in AlertRule.values}
    # 4. Alerts raised that day, per rule (a re-seen open alert keeps its raised_at: counted once).
    for row in RiskAlert.objects.filter(raised_at__gte=start, raised_at__lt=end).values("rule").annotate(n=Count("id")).order_by():
        values[(BookMetric.ALERTS_RAISED, row["rule"])] = Decimal(row["n"])
    # 5. Limit increases and cuts that day. A first decision (no previous limit) is a grant, not an
    #    increase; a suspension or closure takes the limit to 0 and so counts as a cut.
    changes = CreditDecision.objects.filter(decided_at__gte=start, decided_at__lt=end).aggregate(
        increase=Count("id", filter=Q(previous_limit__isnull=False, limit_amount__gt=F("previous_limit"))),
        cut=Count("id", filter=Q(previous_limit__isnull=False, limit_amount__lt=F("previous_limit"))),
    )
    values[(BookMetric.LIMIT_CHANGES, "increase")] = Decimal(changes["increase"])
    values[(BookMetric.LIMIT_CHANGES, "cut")] = Decimal(changes["cut"])
    return values


def book_stats_refresh(*, day: date, now: datetime | None = None) -> int:
    """Recount the day's book aggregates and upsert them; return the number of rows written.

    Idempotent: the rows are keyed by (day, metric, key) and rewritten in place, and keys that no
    longer occur for a recounted metric (a score bucket that emptied) are deleted, so two calls
    with the same data leave the same rows. Snapshot metrics are written only when `day` is today
    (UTC); for a past day only the flow metrics are recounted. A future day is refused. `now` is
    the clock (a replay passes its day's end, so that day's snapshot is the book as it stood then).
    """
    now = now or timezone.now()
    today = now.astimezone(dt_timezone.utc).date()
    if day > today:
        raise ValidationFailed(f"{day} is in the future", field="day")
    # Reads first, outside the write transaction: the aggregates may take a while on a big book
    # and need no lock (each is a consistent statement on PostgreSQL).
    values = _flow_values(day)
    metrics = list(FLOW_METRICS)
    if day == today:
        values.update(_snapshot_values())
        metrics += SNAPSHOT_METRICS
    rows = [BookDailyStat(day=day, metric=m, key=k, value=v, computed_at=now) for (m, k), v in values.items()]
    with transaction.atomic():
        BookDailyStat.objects.bulk_create(
            rows, update_conflicts=True, unique_fields=["day", "metric", "key"], update_fields=["value", "computed_at"]
        )
        stale = Q()
        for metric in metrics:
            keys = [k for (m, k) in values if m == metric]
            stale |= Q(metric=metric) & ~Q(key__in=keys)
        BookDailyStat.objects.filter(stale, day=day).delete()
    return len(rows)
