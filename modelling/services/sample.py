"""The development sample: per customer and observation date, the features as the engine computed
them at that date and the matured outcome that followed.

Features come from the engine's own record, the customer's latest `ScoreSnapshot` computed at or
before the observation point (00:00 UTC on the date) and no more than `SNAPSHOT_MAX_AGE_DAYS`
before it: not recomputed here, so a model is fitted on exactly what the engine saw, point in time
by construction. Outcomes are the materialised `Outcome` rows (modelling/services/outcomes.py),
matured ones only; that table already leaves out a customer whose scoring consent was not active at
the observation point, and the sample counts them per date, with the customers who had no recent
snapshot, as its exclusions.

The sample is not stored: its digest is (rows, dates, definition, a SHA-256 over every row's
customer, date, outcome and snapshot), so the sample a draft was fitted on can be rebuilt and
checked against it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np
import pandas as pd
from django.db.models import F, Window
from django.db.models.functions import RowNumber
from django.utils.translation import gettext as _

from accounts.models import Customer
from decisions.engine.policy import FEATURE_NAMES
from decisions.models import ScoreSnapshot
from riskops.core.exceptions import ValidationFailed

from ..models import Outcome
from ..performance import start_of

# The newest snapshot must be this recent: the nightly run writes one a day, the month-end run of
# a bench book one a month; older than a month, it no longer says what the engine saw at the date.
SNAPSHOT_MAX_AGE_DAYS = 31


@dataclass
class DevelopmentSample:
    frame: pd.DataFrame  # customer_id, observation_date, bad, snapshot_id, one column per feature
    definition: dict
    exclusions: dict[str, dict[str, int]] = field(default_factory=dict)  # date -> reason -> customers

    @property
    def dates(self) -> list[date]:
        return sorted(set(self.frame["observation_date"]))

    def digest(self) -> dict:
        frame = self.frame.sort_values(["observation_date", "customer_id"])
        h = hashlib.sha256()
        for row in zip(frame["customer_id"], frame["observation_date"], frame["bad"], frame["snapshot_id"]):
            h.update(f"{row[0]},{row[1].isoformat()},{int(row[2])},{row[3]}\n".encode())
        dates = self.dates
        return {
            "rows": int(len(frame)),
            "bads": int(frame["bad"].sum()),
            "customers": int(frame["customer_id"].nunique()),
            "observation_from": dates[0].isoformat() if dates else None,
            "observation_to": dates[-1].isoformat() if dates else None,
            "observation_dates": len(dates),
            "definition": self.definition,
            "excluded": {
                reason: sum(by_reason.get(reason, 0) for by_reason in self.exclusions.values())
                for reason in ("no_scoring_consent", "no_recent_snapshot")
            },
            "sha256": h.hexdigest(),
        }


def _matured_dates(observation_from: date | None, observation_to: date | None) -> list[date]:
    rows = Outcome.objects.filter(matured=True)
    if observation_from:
        rows = rows.filter(observation_date__gte=observation_from)
    if observation_to:
        rows = rows.filter(observation_date__lte=observation_to)
    return sorted(rows.order_by().values_list("observation_date", flat=True).distinct())


def _no_matured_outcome(observation_from: date | None, observation_to: date | None) -> ValidationFailed:
    latest = Outcome.objects.order_by("-observation_date").values_list("observation_date", "horizon_end").first()
    asked = _("between %(start)s and %(end)s") % {
        "start": observation_from.isoformat() if observation_from else _("the book's start"),
        "end": observation_to.isoformat() if observation_to else _("today"),
    }
    if latest is None:
        hint = _("no outcome is materialised yet: run `manage.py outcomes` first")
    else:
        first_matured = Outcome.objects.order_by("observation_date").values_list("observation_date", "horizon_end").first()
        hint = _("the first observation date, %(first)s, matures on %(end)s") % {
            "first": first_matured[0].isoformat(),
            "end": first_matured[1].isoformat(),
        }
    return ValidationFailed(
        _("No matured outcome %(asked)s (%(hint)s).") % {"asked": asked, "hint": hint}, field="observation_from"
    )


def _latest_snapshots(moment, customer_ids: set[int]) -> dict[int, tuple[int, dict]]:
    """customer id -> (snapshot id, features) of the newest scored snapshot in the window."""
    ranked = (
        ScoreSnapshot.objects.filter(
            computed_at__lte=moment, computed_at__gt=moment - timedelta(days=SNAPSHOT_MAX_AGE_DAYS), score__isnull=False
        )
        .annotate(rank=Window(RowNumber(), partition_by=[F("customer_id")], order_by=[F("computed_at").desc(), F("id").desc()]))
        .filter(rank=1)
        .values_list("customer_id", "id", "features")
    )
    return {cid: (sid, features) for cid, sid, features in ranked.iterator(chunk_size=5000) if cid in customer_ids}


def _value(raw) -> float:
    return np.nan if raw is None else float(raw)


def development_sample(*, observation_from: date | None = None, observation_to: date | None = None) -> DevelopmentSample:
    """Matured observations between the dates (inclusive; either may be open).

    Refused (ValidationFailed naming the dates, nothing written) when none has matured."""
    dates = _matured_dates(observation_from, observation_to)
    if not dates:
        raise _no_matured_outcome(observation_from, observation_to)
    records: list[dict] = []
    exclusions: dict[str, dict[str, int]] = {}
    definitions = set()
    for day in dates:
        moment = start_of(day)
        outcomes = dict(
            Outcome.objects.filter(observation_date=day, matured=True).values_list("customer_id", "bad")
        )
        for d in Outcome.objects.filter(observation_date=day).order_by().values_list("bad_days_past_due", "horizon_months").distinct():
            definitions.add(d)
        onboarded = Customer.objects.filter(onboarded_at__lte=moment).count()
        with_outcome_rows = Outcome.objects.filter(observation_date=day).count()
        snapshots = _latest_snapshots(moment, set(outcomes))
        exclusions[day.isoformat()] = {
            "no_scoring_consent": max(onboarded - with_outcome_rows, 0),
            "no_recent_snapshot": len(set(outcomes) - set(snapshots)),
        }
        for cid, bad in outcomes.items():
            if cid not in snapshots:
                continue
            sid, features = snapshots[cid]
            records.append(
                {
                    "customer_id": cid,
                    "observation_date": day,
                    "bad": bool(bad),
                    "snapshot_id": sid,
                    **{name: _value(features.get(name)) for name in FEATURE_NAMES},
                }
            )
    if len(definitions) > 1:
        raise ValidationFailed(
            _("The outcomes were computed under more than one definition of bad: run `manage.py outcomes` again."),
            field="outcome",
        )
    (bad_dpd, horizon), = definitions
    columns = ["customer_id", "observation_date", "bad", "snapshot_id", *FEATURE_NAMES]
    frame = pd.DataFrame.from_records(records, columns=columns)
    for name in FEATURE_NAMES:
        frame[name] = frame[name].astype(float)
    return DevelopmentSample(frame, {"bad_days_past_due": bad_dpd, "horizon_months": horizon}, exclusions)
