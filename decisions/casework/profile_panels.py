"""Sections other apps add to the risk profile, without `decisions` importing them.

The profile belongs to `decisions`; denied draws (`draws`) and credit outcomes (`modelling`) are
read by apps that depend on `decisions`, not the other way round. Each registers a panel (a
template and a reader of one customer's rows) in its AppConfig.ready; the profile renders every
panel the viewer's role may see, in registration order (riskops/core/panels.py).
"""

from __future__ import annotations

from typing import Any

from riskops.core.panels import Panel as ProfilePanel, PanelRegistry, RenderedPanel

__all__ = ["ProfilePanel", "RenderedPanel", "register", "panels_for"]

_REGISTRY = PanelRegistry()
register = _REGISTRY.register


def panels_for(*, customer_id: int, user: Any) -> list[RenderedPanel]:
    return _REGISTRY.render(customer_id, user=user)
