"""Nights of a scored book for monitoring tests: customers, and per night one snapshot each whose
features are drawn from a known population (`shift` moves it) and scored by the active policy
with the engine's own arithmetic (modelling/scoring_frame.py), so score and features move
together as they would in a real book."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone as dt_timezone

import numpy as np
import pandas as pd

from accounts.models import Customer
from decisions.engine.policy import FEATURE_NAMES
from decisions.engine.policy_reads import active_policy
from decisions.models import PolicyVersion, ScoreSnapshot, Trigger
from modelling.scoring_frame import policy_bands, policy_scores
from tests.factories import CustomerFactory

NIGHT = date(2026, 3, 2)


def nightly(day: date) -> datetime:
    """When the nightly run scored the book on `day` (02:00 UTC)."""
    return datetime.combine(day, time(2, 0), tzinfo=dt_timezone.utc)


def book_customers(n: int) -> list[Customer]:
    return Customer.objects.bulk_create(CustomerFactory.build_batch(n))


def features(rng: np.random.Generator, shift: float) -> dict:
    """Engine features as a snapshot records them (decimals as strings, some missing); `shift`
    makes the population riskier: a lower bureau score, more lenders, higher utilisation."""
    bureau = int(np.clip(rng.normal(650 - 45 * shift, 60), 300, 850))
    utilisation = float(np.clip(rng.beta(2, 3) + 0.15 * shift, 0, 1.5))
    on_time = float(np.clip(rng.beta(8, 2) - 0.1 * shift, 0, 1))
    return {
        "bureau_score": bureau if rng.random() > 0.05 else None,
        "external_lenders": int(rng.poisson(2 + shift)),
        "debt_to_income": f"{rng.gamma(2, 0.4 + 0.1 * shift):.4f}",
        "max_dpd_12m": int(rng.choice([0, 0, 0, 3, 12, 35])),
        "overdue_count": int(rng.poisson(0.3)),
        "on_time_ratio": None if rng.random() < 0.1 else f"{on_time:.4f}",
        "utilisation": f"{utilisation:.4f}",
        "income_proxy_3m": f"{rng.lognormal(7.5, 0.5):.2f}",
        "spend_spike_ratio": f"{rng.gamma(4, 0.3):.4f}",
        "applications_30d": int(rng.poisson(1)),
        "tenure_months": int(rng.integers(0, 48)),
    }


def feature_frame(rows: list[dict]) -> pd.DataFrame:
    return pd.DataFrame({name: [np.nan if r.get(name) is None else float(r[name]) for r in rows] for name in FEATURE_NAMES})


def scored_night(
    customers: list[Customer], *, day: date = NIGHT, shift: float = 0.0, seed: int = 1, version: PolicyVersion | None = None
) -> list[ScoreSnapshot]:
    """One snapshot per customer computed at 02:00 UTC on `day`, scored by the active policy."""
    rng = np.random.default_rng(seed)
    active, policy = active_policy()
    rows = [features(rng, shift) for _ in customers]
    frame = feature_frame(rows)
    scores = policy_scores(policy, frame)
    bands = policy_bands(policy, scores)
    return ScoreSnapshot.objects.bulk_create(
        [
            ScoreSnapshot(
                customer=customer, policy_version=version or active, computed_at=nightly(day), trigger=Trigger.NIGHTLY,
                score=int(score), band=band, features=row, points={}, reason_codes=[], data_sources=[],
            )
            for customer, row, score, band in zip(customers, rows, scores, bands)
        ]
    )


def night_after(day: date, nights: int = 1) -> date:
    return day + timedelta(days=nights)
