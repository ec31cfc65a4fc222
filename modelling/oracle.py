"""The best possible ranking, where one is known: a registry the synthetic book fills.

On a synthetic book the true monthly default hazard of every customer is known (it lives in the
`synthetic` app, which the engine and this app never import); a validation report puts the AUC of
that hazard — the oracle AUC — beside the model's. `synthetic` registers a provider in its
AppConfig.ready; on a real book there is none and the report says so.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable

if TYPE_CHECKING:  # the registry is filled at start-up: it must not load numpy and pandas then
    import numpy as np
    import pandas as pd

# (frame of customer_id and observation_date, horizon in months) -> a risk per row (NaN where
# unknown), or None when the provider knows nothing of this book
OracleProvider = Callable[["pd.DataFrame", int], "np.ndarray | None"]

_PROVIDERS: list[OracleProvider] = []


def register(provider: OracleProvider) -> None:
    if provider not in _PROVIDERS:
        _PROVIDERS.append(provider)


def oracle_risk(frame: pd.DataFrame, *, horizon_months: int) -> np.ndarray | None:
    for provider in _PROVIDERS:
        risk = provider(frame, horizon_months)
        if risk is not None:
            return risk
    return None
