"""The synthetic book's oracle for model validation: each customer's true monthly default hazard
in the month that starts at an observation date (`SyntheticHazard`). A model that ranked
customers by it would rank as well as anything knowing the generative model could; its AUC is
the "oracle AUC" a validation report puts beside the model's (modelling/oracle.py)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .models import SyntheticHazard


def hazard_at_observation(frame: pd.DataFrame) -> np.ndarray | None:
    if frame.empty or not SyntheticHazard.objects.exists():
        return None
    dates = sorted(set(frame["observation_date"]))
    customers = set(frame["customer_id"].tolist())
    known: dict[tuple[int, object], float] = {}
    for day in dates:
        for cid, hazard in SyntheticHazard.objects.filter(month=day).values_list("customer_id", "hazard").iterator(chunk_size=10000):
            if cid in customers:
                known[(cid, day)] = float(hazard)
    if not known:
        return None
    return np.array(
        [known.get((cid, day), np.nan) for cid, day in zip(frame["customer_id"], frame["observation_date"])], dtype=float
    )
