"""The synthetic book's oracle for model validation: each customer's true probability of going bad
within the outcome horizon, as the generative model (`synthetic.life`) knows it at an observation
date. A model that ranked customers by it would rank as well as anything that knew the model's
state could; its AUC is the "oracle AUC" a validation report puts beside the model's
(modelling/oracle.py).

The state at the observation date (`SyntheticHazard` of that month): the true monthly hazard `h`,
whether the customer is already in default, and the days past due. From the model's rules:

- already 90+ days past due and in default: bad for certain (no cure after 90 days);
- in default at `d` days past due: bad unless cured at 30 days (0.35) or at 60 (0.15), so
  `0.65 · 0.85` under 30 days, `0.85` from 30 to 59, `1` from 60;
- in good standing: defaults within the horizon with probability `1 − (1 − h)^months` (the hazard
  held at its present value) and then fails to cure, `0.65 · 0.85`.

Only the order matters for an AUC; the values are still the model's own probabilities.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .life import CURE_AT
from .models import SyntheticHazard

NO_CURE = (1 - CURE_AT[30]) * (1 - CURE_AT[60])


def bad_probability(*, hazard: float, in_default: bool, days_past_due: int, horizon_months: int) -> float:
    if in_default:
        if days_past_due >= 60:
            return 1.0
        return 1 - CURE_AT[60] if days_past_due >= 30 else NO_CURE
    return (1 - (1 - hazard) ** horizon_months) * NO_CURE


def hazard_at_observation(frame: pd.DataFrame, horizon_months: int) -> np.ndarray | None:
    if frame.empty or not SyntheticHazard.objects.exists():
        return None
    dates = sorted(set(frame["observation_date"]))
    customers = set(frame["customer_id"].tolist())
    known: dict[tuple[int, object], float] = {}
    for day in dates:
        rows = SyntheticHazard.objects.filter(month=day).values_list("customer_id", "hazard", "in_default", "days_past_due")
        for cid, hazard, in_default, dpd in rows.iterator(chunk_size=10000):
            if cid in customers:
                known[(cid, day)] = bad_probability(
                    hazard=float(hazard), in_default=in_default, days_past_due=dpd, horizon_months=horizon_months
                )
    if not known:
        return None
    return np.array(
        [known.get((cid, day), np.nan) for cid, day in zip(frame["customer_id"], frame["observation_date"])], dtype=float
    )
