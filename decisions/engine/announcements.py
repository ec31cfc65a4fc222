"""How the engine announces "decisions written" without knowing who listens.

`decisions/engine/services/writing.py` calls `plans_written(plans, decisions)` inside the transaction that
wrote the plans' snapshots, alerts and decisions; each listener (registered in its AppConfig.ready)
runs there too, so what it writes commits or rolls back with the decisions. Today `webhooks`
listens, to put its events in the outbox. The same shape as `accounts.changes`: an explicit
registry a reader can follow, which keeps the engine from importing the apps above it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable, Iterable

if TYPE_CHECKING:  # pragma: no cover
    from decisions.models import CreditDecision
    from .planning import CustomerPlan

Listener = Callable[["Iterable[CustomerPlan]", "list[CreditDecision]"], object]
_LISTENERS: list[Listener] = []


def listen(listener: Listener) -> Listener:
    """Register a listener once (AppConfig.ready may run more than once in tests)."""
    if listener not in _LISTENERS:
        _LISTENERS.append(listener)
    return listener


def plans_written(plans: list["CustomerPlan"], decisions: list["CreditDecision"]) -> None:
    for listener in _LISTENERS:
        listener(plans, decisions)
