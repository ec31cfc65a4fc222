"""Page sections other apps add to a page, without the page's app importing them.

A lower app owns the page (the risk profile, the overview); a higher app has rows to show on it
(denied draws, credit outcomes, model alerts). The higher app registers a panel in its
AppConfig.ready — a template and a reader of its rows — and the page renders every panel the
viewer's role may see, in registration order. An explicit registry a reader can follow, not a
signal. A reader runs a fixed number of queries and is called only for a viewer who may see it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from .roles import has_role


@dataclass(frozen=True)
class Panel:
    name: str
    template: str  # rendered with `rows` (what `read` returned) in its context
    read: Callable[..., Any]  # the page's arguments (e.g. a customer id) -> rows
    roles: tuple[str, ...]  # who sees it


@dataclass(frozen=True)
class RenderedPanel:
    name: str
    template: str
    rows: Any


class PanelRegistry:
    def __init__(self, *, skip_empty: bool = False):
        self._panels: list[Panel] = []
        self._skip_empty = skip_empty  # leave out a panel whose reader returned nothing

    def register(self, panel: Panel) -> None:
        """Add a panel once (AppConfig.ready may run more than once in tests)."""
        if all(p.name != panel.name for p in self._panels):
            self._panels.append(panel)

    def render(self, *args: Any, user: Any) -> list[RenderedPanel]:
        rendered = []
        for panel in self._panels:
            if not has_role(user, *panel.roles):
                continue
            rows = panel.read(*args)
            if rows or not self._skip_empty:
                rendered.append(RenderedPanel(panel.name, panel.template, rows))
        return rendered
