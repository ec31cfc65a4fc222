"""Reads for the model-health page (/models/health/) and the overview's model-alert panel.

The page: the active version's reference, its nights' PSI and CSI (the trend and the latest
figures), its open and acknowledged model alerts, and the bad rate by band of each monthly vintage
of outcomes. The number of queries does not grow with the book (counted by a test); the vintage
table is one aggregate per vintage over its outcome rows, cached until the nightly
materialisation rewrites some of them (`bad_rates_by_vintage`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from django.core.cache import cache
from django.db.models import Count, Max, OuterRef, Subquery
from django.utils.translation import gettext as _, ngettext

from decisions.engine.policy import BANDS
from decisions.models import PolicyVersion, ScoreSnapshot

from . import health_charts
from .drift import SCORE
from .health_texts import level_name, metric_name
from .models import ModelAlert, ModelHealth, ModelReference, Outcome
from .performance import start_of
from .services.sample import SNAPSHOT_MAX_AGE_DAYS
from .validation import psi_level

HISTORY_NIGHTS = 90
VINTAGE_MONTHS = 24
ACKNOWLEDGED_SHOWN = 20
OVERVIEW_ALERTS_MAX = 20
VINTAGES_TTL = 300  # seconds: how long a page trusts the outcomes' stamps
VINTAGE_COUNTS_TTL = 7 * 24 * 3600  # a vintage's counts, under its stamp (a new stamp is a new key)
NO_BAND = ""  # no scored snapshot at the observation point


@dataclass
class MetricFigure:
    metric: str
    label: str
    value: float
    level: str
    level_text: str


@dataclass
class BandCell:
    band: str
    matured: int = 0
    matured_bad: int = 0
    open: int = 0
    open_bad: int = 0

    @property
    def rate(self) -> float | None:
        """Bad among matured rows; None while none has matured (the vintage is open)."""
        return self.matured_bad / self.matured if self.matured else None

    @property
    def rate_text(self) -> str:
        return "" if self.rate is None else f"{100 * self.rate:.1f}%"


@dataclass
class Vintage:
    month: date
    cells: list[BandCell]  # bands A–E, then no band

    @property
    def customers(self) -> int:
        return sum(c.matured + c.open for c in self.cells)

    @property
    def is_open(self) -> bool:
        return not any(c.matured for c in self.cells)


@dataclass
class HealthPage:
    version: PolicyVersion | None
    reference: ModelReference | None
    nights: list[ModelHealth]  # oldest first, the last HISTORY_NIGHTS measured
    latest: ModelHealth | None
    figures: list[MetricFigure]  # the latest night: the score first, then the features, worst first
    open_alerts: list[ModelAlert]
    acknowledged_alerts: list[ModelAlert]
    vintages: list[Vintage]  # newest first
    stability_chart: dict  # id, title, caption, figure, empty, empty_text (templates/decisions/_chart.html)
    vintage_chart: dict
    band_columns: list[str] = field(default_factory=lambda: [*BANDS, NO_BAND])


def _figures(night: ModelHealth) -> list[MetricFigure]:
    metrics = {SCORE: night.score_psi, **night.csi}
    out = [MetricFigure(m, metric_name(m), v, psi_level(v), level_name(psi_level(v))) for m, v in metrics.items()]
    score, features = out[:1], out[1:]
    return score + sorted(features, key=lambda f: -f.value)


def _cell(cells: dict[str, BandCell], band: str) -> BandCell:
    return cells.setdefault(band, BandCell(band))


def _vintage_stamps(months: int) -> list[tuple[date, int, str]]:
    """The newest `months` observation dates with their rows and their latest write: what a
    vintage's counts depend on besides snapshots at a point already past (one query)."""
    rows = (
        Outcome.objects.order_by()
        .values("observation_date")
        .annotate(rows=Count("id"), written=Max("computed_at"))
        .order_by("-observation_date")[:months]
    )
    return [(r["observation_date"], r["rows"], r["written"].isoformat()) for r in rows]


def _vintage_counts(month: date) -> list[tuple[str, bool, bool, int]]:
    """(band at the observation point, matured, bad, rows) of one vintage: one aggregate, the band
    of each outcome row found by a correlated subquery on the snapshot index (the customer's latest
    scored snapshot at the observation point, within the development sample's window, under
    whichever version was active then)."""
    point = start_of(month)
    band_then = (
        ScoreSnapshot.objects.filter(
            customer_id=OuterRef("customer_id"),
            score__isnull=False,
            computed_at__lte=point,
            computed_at__gt=point - timedelta(days=SNAPSHOT_MAX_AGE_DAYS),
        )
        .order_by("-computed_at", "-id")
        .values("band")[:1]
    )
    rows = (
        Outcome.objects.filter(observation_date=month)
        .annotate(band_then=Subquery(band_then))
        .order_by()
        .values("band_then", "matured", "bad")
        .annotate(rows=Count("id"))
    )
    return [(r["band_then"] or NO_BAND, r["matured"], r["bad"], r["rows"]) for r in rows]


def bad_rates_by_vintage(*, months: int = VINTAGE_MONTHS) -> list[Vintage]:
    """Per monthly vintage (observation date), newest first, per band at the observation point:
    matured rows and their bads, and the rows not yet matured (and bad so far) apart.

    A vintage's counts are cached under its stamp (rows, latest write): the bands at a past
    observation point never change, so a vintage is counted again only when the materialisation
    rewrote some of its outcomes — at most once a night for the open ones, never for the matured
    ones. The stamps themselves are cached for VINTAGES_TTL. Queries: the stamps (1) and one per
    vintage whose counts are not cached (at most `months`)."""
    stamps_key = f"modelling:vintage-stamps:{months}"
    stamps = cache.get(stamps_key)
    if stamps is None:
        stamps = _vintage_stamps(months)
        cache.set(stamps_key, stamps, VINTAGES_TTL)
    counts: list[tuple] = []
    for month, rows, written in stamps:
        key = f"modelling:vintage:{month.isoformat()}:{rows}:{written}"
        found = cache.get(key)
        if found is None:
            found = _vintage_counts(month)
            cache.set(key, found, VINTAGE_COUNTS_TTL)
        counts += [(month, *row) for row in found]
    by_month: dict[date, dict[str, BandCell]] = {}
    for month, band, matured, bad, rows in counts:
        cell = _cell(by_month.setdefault(month, {}), band)
        if matured:
            cell.matured += rows
            cell.matured_bad += rows if bad else 0
        else:
            cell.open += rows
            cell.open_bad += rows if bad else 0
    return [
        Vintage(month, [cells.get(band, BandCell(band)) for band in [*BANDS, NO_BAND]])
        for month, cells in sorted(by_month.items(), reverse=True)
    ]


def model_health_page() -> HealthPage:
    """Everything the page shows. Queries: the active version (1), its reference (1), its last
    HISTORY_NIGHTS nights (1), open alerts (1), acknowledged alerts with who acknowledged (1),
    the vintage table (the stamps, 1, and one per vintage not cached, at most VINTAGE_MONTHS)."""
    version = PolicyVersion.objects.filter(state=PolicyVersion.State.ACTIVE).defer("body").first()
    reference = nights = None
    open_alerts: list[ModelAlert] = []
    acknowledged: list[ModelAlert] = []
    if version is not None:
        reference = ModelReference.objects.filter(policy_version=version).first()
        nights = list(ModelHealth.objects.filter(policy_version=version).order_by("-day")[:HISTORY_NIGHTS])[::-1]
    alerts = ModelAlert.objects.select_related("policy_version", "health").defer("policy_version__body", "health__counts")
    open_alerts = sorted(alerts.filter(status=ModelAlert.Status.OPEN), key=_score_first)
    acknowledged = list(
        alerts.filter(status=ModelAlert.Status.ACKNOWLEDGED).select_related("acknowledged_by").order_by("-acknowledged_at", "-id")[:ACKNOWLEDGED_SHOWN]
    )
    for alert in [*open_alerts, *acknowledged]:
        alert.label = metric_name(alert.metric)
    nights = nights or []
    latest = nights[-1] if nights else None
    figures = _figures(latest) if latest else []
    vintages = bad_rates_by_vintage()
    return HealthPage(
        version=version,
        reference=reference,
        nights=nights,
        latest=latest,
        figures=figures,
        open_alerts=open_alerts,
        acknowledged_alerts=acknowledged,
        vintages=vintages,
        stability_chart=_stability_chart(nights, figures),
        vintage_chart=_vintage_chart(vintages),
    )


def _stability_chart(nights: list[ModelHealth], figures: list[MetricFigure]) -> dict:
    caption = ""
    if nights:
        worst_feature = next((f for f in figures if f.metric != SCORE), None)
        caption = _("Score PSI %(psi).3f on %(day)s; the feature that moved most: %(feature)s (CSI %(csi).3f).") % {
            "psi": nights[-1].score_psi, "day": nights[-1].day.isoformat(),
            "feature": worst_feature.label if worst_feature else "—", "csi": worst_feature.value if worst_feature else 0,
        } + " " + _("Dashed lines: warning at 0.10, alert at 0.25. Features still stable start hidden: click their name to show them.")
    return {
        "id": "chart-stability", "title": _("Score PSI and feature CSI per night"), "caption": caption,
        "figure": health_charts.stability_figure(nights, {f.metric: f.level for f in figures}), "empty": not nights,
        "empty_text": _("No night measured yet: monitoring runs nightly at 04:30 UTC (manage.py model_monitor runs it now)."),
    }


def _vintage_chart(vintages: list[Vintage]) -> dict:
    matured = [v for v in vintages if not v.is_open]
    caption = ""
    if matured:
        caption = ngettext(
            "Bad rate among matured outcomes, %(n)d vintage; vintages whose horizon has not ended are in the table only.",
            "Bad rate among matured outcomes, %(n)d vintages; vintages whose horizon has not ended are in the table only.",
            len(matured),
        ) % {"n": len(matured)}
    figure = health_charts.vintage_figure(vintages)
    return {
        "id": "chart-vintage-bad-rates", "title": _("Bad rate by band per vintage"), "caption": caption,
        "figure": figure, "empty": not figure["data"],
        "empty_text": _("No vintage with a banded customer has matured yet: a month's outcomes mature when its horizon ends."),
    }


def open_model_alerts_for_overview() -> list[dict]:
    """The overview's panel: the open model alerts, largest first (one query; empty: no panel)."""
    alerts = (
        ModelAlert.objects.filter(status=ModelAlert.Status.OPEN)
        .select_related("policy_version", "health")
        .only("metric", "value", "raised_at", "policy_version__version", "health__day")
        .order_by("-raised_at", "-id")[:OVERVIEW_ALERTS_MAX]
    )
    return [
        {"label": metric_name(a.metric), "value": a.value, "version": a.policy_version.version, "night": a.health.day, "raised_at": a.raised_at}
        for a in sorted(alerts, key=_score_first)
    ]


def _score_first(alert: ModelAlert) -> tuple:
    """The score's alert first (the model's output), then the features, largest shift first."""
    return (alert.metric != SCORE, -alert.value, -alert.raised_at.timestamp())
