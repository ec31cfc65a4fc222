"""Sections other apps add to the risk profile, without `decisions` importing them.

The profile belongs to `decisions`; denied draws (`draws`) and credit outcomes (`modelling`) are
read by apps that depend on `decisions`, not the other way round. Each registers a panel in its
AppConfig.ready — a template and a reader of one customer's rows — and the profile renders every
panel the viewer's role may see, in registration order. The same idea as `accounts.changes`:
an explicit registry a reader can follow, not a signal.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from riskops.core.roles import has_role


@dataclass(frozen=True)
class ProfilePanel:
    name: str
    template: str  # rendered with `rows` (what `read` returned) in its context
    read: Callable[[int], Any]  # customer id -> rows; a fixed number of queries
    roles: tuple[str, ...]  # who sees it


@dataclass(frozen=True)
class RenderedPanel:
    name: str
    template: str
    rows: Any


_PANELS: list[ProfilePanel] = []


def register(panel: ProfilePanel) -> None:
    """Add a panel once (AppConfig.ready may run more than once in tests)."""
    if all(p.name != panel.name for p in _PANELS):
        _PANELS.append(panel)


def panels_for(*, customer_id: int, user: Any) -> list[RenderedPanel]:
    return [RenderedPanel(p.name, p.template, p.read(customer_id)) for p in _PANELS if has_role(user, *p.roles)]
