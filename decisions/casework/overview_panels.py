"""Sections other apps add to the overview page, without `decisions` importing them.

The overview belongs to `decisions`; model alerts (`modelling`) are read by an app that depends on
`decisions`, not the other way round. Each registers a panel (a template and a reader of the rows
it shows) in its AppConfig.ready; the overview renders every panel the viewer's role may see whose
reader returned something, in registration order (riskops/core/panels.py). A reader runs a fixed
number of queries: the overview's query budget counts them.
"""

from __future__ import annotations

from typing import Any

from riskops.core.panels import Panel as OverviewPanel, PanelRegistry, RenderedPanel

__all__ = ["OverviewPanel", "RenderedPanel", "register", "panels_for"]

_REGISTRY = PanelRegistry(skip_empty=True)
register = _REGISTRY.register


def panels_for(*, user: Any) -> list[RenderedPanel]:
    return _REGISTRY.render(user=user)
