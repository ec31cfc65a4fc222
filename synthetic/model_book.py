"""A model-ready book: customers, the engine's recorded features at each observation date (a score
snapshot a minute before it) and matured outcomes drawn from a known logistic model.

For what needs observations and not the months of events behind them: the scorecard tests (a few
hundred rows) and the fitting benchmark (100,000 customers × 12 observation dates, written with
COPY on PostgreSQL in a couple of minutes where a replay would take hours). Risk rises with days
past due, overdue count and utilisation, and falls with the bureau score and the on-time ratio;
`shift` moves the population (a drifted book for monitoring tests).
"""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
from django.db import transaction

from accounts.models import Customer
from decisions.models import PolicyVersion, ScoreSnapshot, Trigger
from modelling.models import Outcome
from modelling.performance import add_months, start_of
from riskops.core.bulk import copy_rows, insert_objects, refresh_planner_statistics

FIRST_DATE = date(2024, 1, 1)
HORIZON_MONTHS = 12
BAD_DAYS = 90


def features(rng: np.random.Generator, shift: float = 0.0) -> dict:
    bureau = int(np.clip(rng.normal(650 - 40 * shift, 60), 300, 850))
    dpd = int(rng.choice([0, 0, 0, 0, 3, 12, 35, 95], p=[0.4, 0.15, 0.1, 0.1, 0.1, 0.08, 0.05, 0.02]))
    utilisation = float(np.clip(rng.beta(2, 3) + 0.1 * shift, 0, 1.5))
    on_time = None if rng.random() < 0.1 else float(np.clip(rng.beta(8, 2), 0, 1))
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


def true_logit(f: dict) -> float:
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


@transaction.atomic
def model_ready_book(
    *, customers: int = 400, dates: int = 4, seed: int = 7, shift: float = 0.0, first: date = FIRST_DATE, id_prefix: str = "mb"
) -> list[int]:
    """`customers` new customers observed on `dates` consecutive month starts from `first`; returns
    their ids. Outcomes are matured (computed 10 days after their 12-month horizon)."""
    rng = np.random.default_rng(seed)
    version = PolicyVersion.objects.get(state=PolicyVersion.State.ACTIVE)
    onboarded = start_of(first) - timedelta(days=400)
    people = insert_objects(
        Customer,
        [
            Customer(
                external_id=f"{id_prefix}-{seed}-{i:07d}", full_name=f"Model book {i}", national_id=f"MB{seed:03d}{i:09d}",
                phone=f"+1666{i:07d}", onboarded_at=onboarded, created_at=onboarded,
            )
            for i in range(customers)
        ],
    )
    snapshot_rows, outcome_rows = [], []
    for month in range(dates):
        day = add_months(first, month)
        horizon_end = add_months(day, HORIZON_MONTHS)
        as_of = horizon_end + timedelta(days=10)
        computed = start_of(day) - timedelta(minutes=1)
        for customer in people:
            f = features(rng, shift)
            bad = bool(rng.random() < 1 / (1 + np.exp(-true_logit(f))))
            snapshot_rows.append((customer.pk, version.pk, computed, Trigger.NIGHTLY, 600, "C", f, {}, [], []))
            outcome_rows.append(
                (customer.pk, day, horizon_end, as_of, 120 if bad else 0, True, bad, BAD_DAYS, HORIZON_MONTHS, version.pk, start_of(as_of))
            )
    copy_rows(
        ScoreSnapshot,
        ["customer", "policy_version", "computed_at", "trigger", "score", "band", "features", "points", "reason_codes", "data_sources"],
        snapshot_rows,
    )
    copy_rows(
        Outcome,
        ["customer", "observation_date", "horizon_end", "as_of", "worst_dpd", "matured", "bad", "bad_days_past_due", "horizon_months", "policy_version", "computed_at"],
        outcome_rows,
    )
    refresh_planner_statistics(Customer, ScoreSnapshot, Outcome)
    return [c.pk for c in people]
