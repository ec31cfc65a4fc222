"""A model-ready book for scorecard tests: customers, the engine's recorded features at each
observation date (score snapshots the day before) and matured outcomes drawn from a known model.

Built with factories and bulk writes, not the replay: a scorecard test needs hundreds of
observations, not the months of events behind them. The outcome depends on the features through
a logistic model (risk rises with days past due, overdue count and utilisation, falls with the
bureau score and the on-time ratio), so a fit has something real to find.
"""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np

from accounts.models import Customer
from decisions.models import PolicyVersion, ScoreSnapshot, Trigger
from modelling.models import Outcome
from modelling.performance import add_months, start_of
from tests.factories import CustomerFactory
from tests.modelling.factories import OutcomeFactory, active_policy_version

FIRST_DATE = date(2024, 1, 1)


def _features(rng: np.random.Generator, shift: float = 0.0) -> dict:
    bureau = int(np.clip(rng.normal(650 - 40 * shift, 60), 300, 850))
    dpd = int(rng.choice([0, 0, 0, 0, 3, 12, 35, 95], p=[0.4, 0.15, 0.1, 0.1, 0.1, 0.08, 0.05, 0.02]))
    utilisation = round(float(np.clip(rng.beta(2, 3) + 0.1 * shift, 0, 1.5)), 4)
    on_time = None if rng.random() < 0.1 else round(float(np.clip(rng.beta(8, 2), 0, 1)), 4)
    return {
        "bureau_score": bureau if rng.random() > 0.05 else None,
        "external_lenders": int(rng.poisson(2)),
        "debt_to_income": f"{rng.gamma(2, 0.4):.4f}",
        "max_dpd_12m": dpd,
        "overdue_count": int(dpd > 0) + int(rng.poisson(0.3)),
        "on_time_ratio": None if on_time is None else f"{on_time:.4f}",
        "utilisation": f"{utilisation:.4f}",
        "income_proxy_3m": f"{rng.lognormal(7.5, 0.5):.2f}",
        "spend_spike_ratio": f"{rng.gamma(4, 0.3):.4f}",
        "applications_30d": int(rng.poisson(1)),
        "tenure_months": int(rng.integers(0, 48)),
        # engine features the scorecard does not use, as a snapshot holds them
        "current_dpd": 0,
        "outstanding": "0.00",
    }


def _true_logit(f: dict) -> float:
    bureau = f["bureau_score"] if f["bureau_score"] is not None else 600
    on_time = float(f["on_time_ratio"]) if f["on_time_ratio"] is not None else 0.7
    return (
        -2.2
        - (bureau - 650) / 45
        + 0.025 * f["max_dpd_12m"]
        + 0.35 * f["overdue_count"]
        + 1.2 * float(f["utilisation"])
        - 1.5 * (on_time - 0.8)
    )


def modelling_book(*, customers: int = 400, dates: int = 4, seed: int = 7, shift: float = 0.0, first: date = FIRST_DATE) -> list[Customer]:
    """`customers` customers observed on `dates` consecutive month starts from `first`, each with a
    snapshot of engine features at 23:59 the day before and a matured outcome (12-month horizon)."""
    rng = np.random.default_rng(seed)
    version = PolicyVersion.objects.get(pk=active_policy_version().pk)
    people = CustomerFactory.create_batch(customers, onboarded_at=start_of(first) - timedelta(days=400))
    snapshots, outcomes = [], []
    for i in range(dates):
        day = add_months(first, i)
        for customer in people:
            features = _features(rng, shift)
            bad = rng.random() < 1 / (1 + np.exp(-_true_logit(features)))
            snapshots.append(
                ScoreSnapshot(
                    customer=customer, policy_version=version, computed_at=start_of(day) - timedelta(minutes=1),
                    trigger=Trigger.NIGHTLY, score=600, band="C", features=features, points={}, reason_codes=[], data_sources=[],
                )
            )
            outcomes.append(
                OutcomeFactory.build(
                    customer=customer, observation_date=day, worst_dpd=120 if bad else 0, policy_version=version,
                )
            )
    ScoreSnapshot.objects.bulk_create(snapshots, batch_size=2000)
    Outcome.objects.bulk_create(outcomes, batch_size=2000)
    return people
