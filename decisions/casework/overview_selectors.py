"""Reads for the overview page `/`: book KPIs and book-wide charts.

Nothing here scans the book or its transactions: book-wide figures come from `BookDailyStat`
(kept by `decisions.casework.services.book_stats`), and the live parts are indexed counts (open alerts by
severity on `alert_queue_idx`, the latest run by its ordering). Four queries in all, whatever the
size of the book.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.db.models import Count, Q, Subquery
from django.utils import timezone
from django.utils.translation import gettext as _, ngettext

from decisions.presentation import charts
from decisions.presentation.formats import currency_symbol, money  # noqa: F401  (the overview shows money)
from decisions.models import Access, AlertRule, Band, BookDailyStat, BookMetric, RecomputeRun, RiskAlert
from decisions.engine.selectors import recompute_runs, run_progress
from .services.book_stats import UNSCORED, utc_today
from decisions.engine.policy import DEFAULT_ALERT_SLA_HOURS
from decisions.engine.policy_reads import alert_sla_hours  # noqa: F401  (read here and by the queue)
from decisions.presentation.texts import access_name, rule_name

HISTORY_DAYS = 90
SEVERITIES = (5, 4, 3, 2, 1)
# Until the policy carries its own SLA per severity (Policy.alert_sla_hours), these hours apply.
DEFAULT_SLA_HOURS = dict(DEFAULT_ALERT_SLA_HOURS)


@dataclass
class AlertCounts:
    by_severity: list[dict] = field(default_factory=list)  # severity, open, past_sla, sla_hours
    total: int = 0
    past_sla: int = 0


def open_alert_counts(*, now: datetime | None = None) -> AlertCounts:
    """Open alerts per severity and how many are past their SLA: one conditional aggregate over
    the open slice of `alert_queue_idx` (status, -severity, raised_at)."""
    now = now or timezone.now()
    sla = alert_sla_hours()
    aggregates = {}
    for sev in SEVERITIES:
        aggregates[f"open_{sev}"] = Count("id", filter=Q(severity=sev))
        aggregates[f"late_{sev}"] = Count("id", filter=Q(severity=sev, raised_at__lt=now - timedelta(hours=sla[sev])))
    row = RiskAlert.objects.filter(status__in=RiskAlert.OPEN_STATUSES).aggregate(**aggregates)
    counts = AlertCounts()
    for sev in SEVERITIES:
        counts.by_severity.append({"severity": sev, "open": row[f"open_{sev}"], "past_sla": row[f"late_{sev}"], "sla_hours": sla[sev]})
        counts.total += row[f"open_{sev}"]
        counts.past_sla += row[f"late_{sev}"]
    return counts


def last_recompute_run() -> RecomputeRun | None:
    # The runs page's own read (one query, with the latest chunk activity for "stalled").
    return next(iter(recompute_runs(limit=1)), None)


@dataclass
class Overview:
    as_of: date | None  # the day of the latest snapshot row; None: never refreshed
    computed_at: datetime | None
    customers: list[dict]  # access, label, count
    customers_total: int
    exposure: str
    drawn: str
    bands: list[dict]  # band, count
    alerts: AlertCounts
    last_run: RecomputeRun | None
    last_run_progress: dict | None  # status in words (a stalled run says so), counts
    charts: list[dict]  # id, title, caption, figure, empty


def _snapshot_rows() -> list[BookDailyStat]:
    latest = BookDailyStat.objects.filter(metric=BookMetric.CUSTOMERS_BY_ACCESS).values("day").order_by("-day")[:1]
    snapshot = [m.value for m in (BookMetric.CUSTOMERS_BY_ACCESS, BookMetric.CUSTOMERS_BY_BAND, BookMetric.SCORE_BUCKET,
                                  BookMetric.LIMIT_EXPOSURE, BookMetric.DRAWN_BALANCE)]
    return list(BookDailyStat.objects.filter(day=Subquery(latest), metric__in=snapshot))


def _history_rows(start: date) -> list[BookDailyStat]:
    history = [BookMetric.CUSTOMERS_BY_ACCESS, BookMetric.ALERTS_RAISED, BookMetric.LIMIT_CHANGES]
    return list(BookDailyStat.objects.filter(day__gte=start, metric__in=history).only("day", "metric", "key", "value"))


def book_overview() -> Overview:
    """Everything the overview shows. Queries: latest snapshot day's rows (1, the day found by a
    subquery), 90 days of history rows (1), open alerts by severity (1, plus the active policy's
    row for SLA hours, 1), the last recompute run with its policy and requester joined (1)."""
    snapshot = _snapshot_rows()
    today = utc_today()
    start = today - timedelta(days=HISTORY_DAYS - 1)
    history = _history_rows(start)

    values: dict[str, dict[str, Decimal]] = defaultdict(dict)
    for row in snapshot:
        values[row.metric][row.key] = row.value
    access_counts = values[BookMetric.CUSTOMERS_BY_ACCESS]
    customers = [
        {"access": a, "label": access_name(a), "count": int(access_counts.get(a, 0))} for a in Access.values
    ]
    band_counts = values[BookMetric.CUSTOMERS_BY_BAND]
    bands = [{"band": b, "count": int(band_counts.get(b, 0))} for b in Band.values]
    bands.append({"band": UNSCORED, "count": int(band_counts.get(UNSCORED, 0))})
    buckets: dict[str, dict[int, int]] = defaultdict(dict)
    for key, n in values[BookMetric.SCORE_BUCKET].items():
        band, _sep, start_points = key.partition(":")
        buckets[band][int(start_points)] = int(n)

    days = [start + timedelta(days=i) for i in range(HISTORY_DAYS)]
    index = {d: i for i, d in enumerate(days)}
    mix: dict[str, list[int]] = {a: [0] * len(days) for a in Access.values}
    alerts: dict[str, list[int]] = {r: [0] * len(days) for r in AlertRule.values}
    increases, cuts = [0] * len(days), [0] * len(days)
    mix_days: set[date] = set()
    for row in history:
        i = index.get(row.day)
        if i is None:
            continue
        n = int(row.value)
        if row.metric == BookMetric.CUSTOMERS_BY_ACCESS and row.key in mix:
            mix[row.key][i] = n
            mix_days.add(row.day)
        elif row.metric == BookMetric.ALERTS_RAISED and row.key in alerts:
            alerts[row.key][i] = n
        elif row.metric == BookMetric.LIMIT_CHANGES:
            (increases if row.key == "increase" else cuts)[i] = n
    # The access mix is a snapshot: a day without a refresh has no picture, so it is left out
    # rather than drawn as an empty book.
    mix_index = [index[d] for d in sorted(mix_days)]
    mix_series = {a: [mix[a][i] for i in mix_index] for a in mix}

    last_run = last_recompute_run()
    as_of = snapshot[0].day if snapshot else None
    computed_at = max((r.computed_at for r in snapshot), default=None)
    total = sum(c["count"] for c in customers)
    return Overview(
        as_of=as_of,
        computed_at=computed_at,
        customers=customers,
        customers_total=total,
        exposure=money(values[BookMetric.LIMIT_EXPOSURE].get("")),
        drawn=money(values[BookMetric.DRAWN_BALANCE].get("")),
        bands=bands,
        alerts=open_alert_counts(),
        last_run=last_run,
        last_run_progress=run_progress(run=last_run) if last_run else None,
        charts=[
            _score_chart(buckets, bands),
            _mix_chart(sorted(mix_days), mix_series),
            _alerts_chart(days, alerts),
            _limits_chart(days, increases, cuts),
        ],
    )


def _score_chart(buckets: dict[str, dict[int, int]], bands: list[dict]) -> dict:
    scored = [b for b in bands if b["band"] != UNSCORED]
    total = sum(b["count"] for b in scored)
    if total:
        top = max(scored, key=lambda b: b["count"])
        caption = _("Most scored customers are in band %(band)s (%(share)s%% of %(total)s).") % {
            "band": top["band"], "share": round(100 * top["count"] / total), "total": f"{total:,}",
        }
    else:
        caption = ""
    return {
        "id": "chart-score-distribution", "title": _("Score distribution by band"), "caption": caption,
        "figure": charts.score_distribution_figure(buckets), "empty": not total,
        "empty_text": _("No customer has a score yet: run a recompute to score the book."),
    }


def _mix_chart(days: list[date], series: dict[str, list[int]]) -> dict:
    caption = ""
    if days:
        first = sum(s[0] for s in series.values()) or 1
        last = sum(s[-1] for s in series.values()) or 1
        before, after = round(100 * series["open"][0] / first), round(100 * series["open"][-1] / last)
        if len(days) == 1:
            caption = _("%(after)s%% of the book is open; the mix over time builds up day by day.") % {"after": after}
        else:
            caption = _("The open share went from %(before)s%% to %(after)s%% between %(first)s and %(last)s.") % {
                "before": before, "after": after, "first": days[0].isoformat(), "last": days[-1].isoformat(),
            }
    return {
        "id": "chart-access-mix", "title": _("Access-state mix, last 90 days"), "caption": caption,
        "figure": charts.access_mix_figure(days, series), "empty": not days,
        "empty_text": _("No daily figures yet: they are written at the end of each recompute run and every hour."),
    }


def _alerts_chart(days: list[date], counts: dict[str, list[int]]) -> dict:
    totals = {rule: sum(v) for rule, v in counts.items()}
    total = sum(totals.values())
    caption = ""
    if total:
        top = max(totals, key=totals.get)
        caption = ngettext(
            "%(total)s alert raised in 90 days; %(rule)s raised the most (%(n)s).",
            "%(total)s alerts raised in 90 days; %(rule)s raised the most (%(n)s).",
            total,
        ) % {"total": f"{total:,}", "rule": rule_name(top), "n": f"{totals[top]:,}"}
    return {
        "id": "chart-alerts-per-rule", "title": _("Alerts raised per rule per day"), "caption": caption,
        "figure": charts.alerts_per_rule_figure(days, counts), "empty": not total,
        "empty_text": _("No alert was raised in the last 90 days."),
    }


def _limits_chart(days: list[date], increases: list[int], cuts: list[int]) -> dict:
    up, down = sum(increases), sum(cuts)
    caption = _("%(increases)s and %(cuts)s in 90 days.") % {
        "increases": ngettext("%(n)s limit increase", "%(n)s limit increases", up) % {"n": f"{up:,}"},
        "cuts": ngettext("%(n)s cut", "%(n)s cuts", down) % {"n": f"{down:,}"},
    } if up or down else ""
    return {
        "id": "chart-limit-changes", "title": _("Limit increases and cuts per day"), "caption": caption,
        "figure": charts.limit_changes_figure(days, increases, cuts), "empty": not (up or down),
        "empty_text": _("No limit was raised or cut in the last 90 days."),
    }
