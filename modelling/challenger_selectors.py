"""What the champion-and-challenger page shows (/models/challenger/), in a fixed number of queries.

- The attachment: which version is the challenger now, and the drafts and retired versions a risk
  admin may attach instead.
- The latest nightly run that scored a challenger in shadow (`decisions.ShadowScore`): the swap
  sets — champion band × challenger band, champion access × challenger access — and the limits:
  the sum and the distribution of challenger limit − champion limit (Decimal, in the buckets of
  the policy simulation, decisions/governance/services/simulation.py: `limit_change_bucket`).
- As outcomes mature: AUC and KS of the champion's and the challenger's scores on the same
  customers. For each matured observation date, the rows of the challenger's nightly run nearest
  before it (its clock at or before 00:00 UTC on the date, and at most `SNAPSHOT_MAX_AGE_DAYS`
  before, as the development sample takes the engine's features), joined with the matured
  `Outcome` rows of that date; pooled over the dates, ranked by `modelling.metrics.ranking`.
  With nothing to rank the page says why, honestly: no matured outcome yet, none after a shadowed
  night, or no bad (or no good) among them.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.db.models import Count, OuterRef, Q, Subquery
from django.utils.translation import gettext as _, ngettext

from decisions.governance.services.challenger import CHALLENGER_STATES
from decisions.governance.services.simulation import limit_change_bucket, limit_change_buckets
from decisions.engine.policy_reads import body_stamp
from decisions.presentation.texts import access_name
from decisions.models import ACCESS_VALUES, BAND_VALUES, ChallengerAttachment, PolicyVersion, RecomputeRun, ShadowScore, Trigger

from .metrics import NotEnoughOutcomes, ranking
from .models import Outcome
from .performance import start_of
from .services.sample import SNAPSHOT_MAX_AGE_DAYS

ZERO = Decimal("0.00")


@dataclass
class Attached:
    attachment: ChallengerAttachment
    # Why the nightly runs are not scoring it now, if they are not (None: they are).
    paused: str | None


@dataclass
class Swaps:
    run: RecomputeRun
    challenger: PolicyVersion
    champion: PolicyVersion
    customers: int  # customers with a shadow row (scored by both)
    run_customers: int  # every customer the run computed (the rest had no score)
    bands: list[list[int]]  # [champion band][challenger band], A..E
    band_better: int  # customers the challenger puts in a better band
    band_worse: int
    access: list[list[int]]  # [champion access][challenger access]
    access_swaps: list[dict]  # the off-diagonal cells, largest first: from, to, customers
    limit_sum: Decimal  # Σ (challenger limit − champion limit)
    limit_up: int
    limit_up_sum: Decimal
    limit_down: int
    limit_down_sum: Decimal
    limit_same: int
    limit_buckets: list[tuple[str, int]]
    champion_exposure: Decimal
    challenger_exposure: Decimal

    @property
    def band_rows(self) -> list[dict]:
        return [{"band": band, "cells": cells} for band, cells in zip(BAND_VALUES, self.bands)]


@dataclass
class Performance:
    """AUC and KS of both scores on the same (customer, observation date) pairs, or why not."""

    dates: list[date] = field(default_factory=list)
    rows: int = 0
    bads: int = 0
    champion: dict | None = None  # Ranking.as_json()
    challenger: dict | None = None
    message: str = ""  # shown instead of the figures when there is nothing to rank
    labels: tuple[str, str] = ("", "")

    @property
    def rankings(self) -> list[tuple[str, dict]]:
        if self.champion is None or self.challenger is None:
            return []
        return [(self.labels[0], self.champion), (self.labels[1], self.challenger)]


@dataclass
class ChallengerPage:
    attached: Attached | None
    candidates: list[PolicyVersion]
    swaps: Swaps | None
    performance: Performance | None


def _attached() -> Attached | None:
    attachment = (
        ChallengerAttachment.objects.filter(state=ChallengerAttachment.State.ATTACHED)
        .select_related("version", "attached_by").defer("version__body").first()
    )
    if attachment is None:
        return None
    version, paused = attachment.version, None
    if version.state == PolicyVersion.State.ACTIVE:
        paused = _("It has been activated since: it is the champion now, and nothing is scored in shadow. Detach it.")
    elif body_stamp(version) != attachment.body_edited_at:
        paused = _("The draft was edited after it was attached: the nightly runs stop scoring it until it is attached again.")
    return Attached(attachment, paused)


def _candidates() -> list[PolicyVersion]:
    return list(PolicyVersion.objects.filter(state__in=CHALLENGER_STATES).defer("body").order_by("-version"))


def _latest_shadowed_run() -> RecomputeRun | None:
    # The key's index leads with the run: the newest run with a row is one index probe.
    run_id = ShadowScore.objects.order_by("-run_id").values_list("run_id", flat=True).first()
    if run_id is None:
        return None
    return RecomputeRun.objects.select_related("policy_version").defer("policy_version__body").get(pk=run_id)


def _matrix(counts: dict[tuple[str, str], int], values: list[str]) -> list[list[int]]:
    return [[counts.get((a, b), 0) for b in values] for a in values]


def _swaps(run: RecomputeRun) -> Swaps:
    rows = ShadowScore.objects.filter(run=run)
    challenger_id = rows.values_list("challenger_id", flat=True).first()
    challenger = PolicyVersion.objects.defer("body").get(pk=challenger_id)
    bands = {(a, b): n for a, b, n in rows.values_list("champion_band", "band").annotate(n=Count("*")).order_by()}
    access = {(a, b): n for a, b, n in rows.values_list("champion_access", "access").annotate(n=Count("*")).order_by()}
    # Limits are rounded to the policy's step, so there are few distinct (champion, challenger)
    # pairs: grouped in the database, bucketed and summed here exactly (Decimal), in the buckets
    # of the policy simulation.
    pairs = rows.values_list("champion_limit", "limit_amount").annotate(n=Count("*")).order_by()
    buckets: Counter = Counter()
    up = down = same = 0
    up_sum = down_sum = champion_exposure = challenger_exposure = ZERO
    for champion_limit, limit, n in pairs:
        delta = limit - champion_limit
        buckets[limit_change_bucket(delta)] += n
        champion_exposure += champion_limit * n
        challenger_exposure += limit * n
        if delta > 0:
            up, up_sum = up + n, up_sum + delta * n
        elif delta < 0:
            down, down_sum = down + n, down_sum + delta * n
        else:
            same += n
    band_order = {b: i for i, b in enumerate(BAND_VALUES)}
    swaps = sorted(
        (
            {"from": a, "to": b, "customers": n, "from_name": access_name(a), "to_name": access_name(b)}
            for (a, b), n in access.items() if a != b and n
        ),
        key=lambda s: (-s["customers"], s["from"], s["to"]),
    )
    return Swaps(
        run=run, challenger=challenger, champion=run.policy_version,
        customers=sum(bands.values()), run_customers=run.done_customers,
        bands=_matrix(bands, BAND_VALUES),
        band_better=sum(n for (a, b), n in bands.items() if band_order[b] < band_order[a]),
        band_worse=sum(n for (a, b), n in bands.items() if band_order[b] > band_order[a]),
        access=_matrix(access, ACCESS_VALUES), access_swaps=swaps,
        limit_sum=up_sum + down_sum, limit_up=up, limit_up_sum=up_sum, limit_down=down, limit_down_sum=down_sum, limit_same=same,
        limit_buckets=[(label, buckets.get(label, 0)) for label in limit_change_buckets()],
        champion_exposure=champion_exposure, challenger_exposure=challenger_exposure,
    )


def run_clock(run: RecomputeRun) -> datetime:
    """When a run computed: its own clock (a replayed night), or when it started."""
    return run.as_of or run.started_at or run.created_at


def _nearest_runs(runs: list[RecomputeRun], dates: list[date]) -> dict[date, int]:
    """For each observation date, the shadowed run nearest before its observation point, if recent."""
    chosen = {}
    for day in dates:
        moment = start_of(day)
        before = [r for r in runs if moment - timedelta(days=SNAPSHOT_MAX_AGE_DAYS) <= run_clock(r) <= moment]
        if before:
            chosen[day] = max(before, key=lambda r: (run_clock(r), r.pk)).pk
    return chosen


def _performance(challenger: PolicyVersion) -> Performance:
    matured = sorted(Outcome.objects.filter(matured=True).order_by().values_list("observation_date", flat=True).distinct())
    if not matured:
        return Performance(message=_("No matured outcome yet: AUC and KS appear once the first observation date after a shadowed night has matured (manage.py outcomes materialises them)."))
    # A run's rows are all of one challenger (the one attached when it started): its first row
    # says which, one probe of the key's index per nightly run.
    runs = list(
        RecomputeRun.objects.filter(trigger=Trigger.NIGHTLY)
        .annotate(shadowed=Subquery(ShadowScore.objects.filter(run=OuterRef("pk")).order_by("customer_id").values("challenger_id")[:1]))
        .filter(shadowed=challenger.pk)
        .only("pk", "as_of", "started_at", "created_at")
    )
    chosen = _nearest_runs(runs, matured)
    if not chosen:
        return Performance(message=_(
            "No matured outcome follows a night this challenger was scored on yet: the latest matured observation date is %(date)s."
        ) % {"date": matured[-1].isoformat()})
    # One query: each shadowed run's rows joined with the matured outcomes of its date (one join:
    # the conditions on the outcome sit in one filter, so they are about the same outcome row).
    pairs = Q()
    for day, run_id in chosen.items():
        pairs |= Q(run_id=run_id, customer__outcomes__observation_date=day)
    rows = list(
        ShadowScore.objects.filter(pairs, challenger=challenger, customer__outcomes__matured=True)
        .values_list("champion_score", "score", "customer__outcomes__bad")
    )
    bads = sum(1 for r in rows if r[2])
    labels = (_("Champion (each night's active policy)"), _("Challenger v%(version)s") % {"version": challenger.version})
    performance = Performance(dates=sorted(chosen), rows=len(rows), bads=bads, labels=labels)
    if not rows:
        performance.message = _("No customer scored on those nights has a matured outcome yet.")
        return performance
    bad = [bool(r[2]) for r in rows]
    try:
        # Risk is the score negated: a higher score means less likely to go bad.
        performance.champion = ranking([-r[0] for r in rows], bad).as_json()
        performance.challenger = ranking([-r[1] for r in rows], bad).as_json()
    except NotEnoughOutcomes:
        performance.message = ngettext(
            "%(rows)s matured outcome, but AUC and KS need both a bad and a good one: %(bads)s bad.",
            "%(rows)s matured outcomes, but AUC and KS need both bad and good ones: %(bads)s bad.",
            len(rows),
        ) % {"rows": f"{len(rows):,}", "bads": f"{bads:,}"}
    return performance


def challenger_page() -> ChallengerPage:
    """Everything /models/challenger/ shows (about ten queries, whatever the book's size)."""
    run = _latest_shadowed_run()
    swaps = _swaps(run) if run is not None else None
    return ChallengerPage(
        attached=_attached(),
        candidates=_candidates(),
        swaps=swaps,
        performance=_performance(swaps.challenger) if swaps is not None else None,
    )
