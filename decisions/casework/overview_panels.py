"""Sections other apps add to the overview page, without `decisions` importing them.

The overview belongs to `decisions`; model alerts (`modelling`) are read by an app that depends on
`decisions`, not the other way round. Each registers a panel in its AppConfig.ready — a template
and a reader of the rows it shows — and the overview renders every panel the viewer's role may see
whose reader returned something, in registration order. The same idea as `profile_panels.py`.
A reader runs a fixed number of queries (the overview's query budget counts them) and is called
only for a viewer who may see it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from riskops.core.roles import has_role


@dataclass(frozen=True)
class OverviewPanel:
    name: str
    template: str  # rendered with `rows` (what `read` returned) in its context
    read: Callable[[], Any]  # -> rows; falsy: nothing to show, the panel is left out
    roles: tuple[str, ...]  # who sees it


@dataclass(frozen=True)
class RenderedPanel:
    name: str
    template: str
    rows: Any


_PANELS: list[OverviewPanel] = []


def register(panel: OverviewPanel) -> None:
    """Add a panel once (AppConfig.ready may run more than once in tests)."""
    if all(p.name != panel.name for p in _PANELS):
        _PANELS.append(panel)


def panels_for(*, user: Any) -> list[RenderedPanel]:
    rendered = []
    for panel in _PANELS:
        if not has_role(user, *panel.roles):
            continue
        rows = panel.read()
        if rows:
            rendered.append(RenderedPanel(panel.name, panel.template, rows))
    return rendered
