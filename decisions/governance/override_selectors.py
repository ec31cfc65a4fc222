"""Reads for the overrides panel of the risk profile (templates/decisions/_overrides.html).

One query whatever the customer's history: the customer's overrides with requester, decider and
revoker joined, the live ones (pending, or approved and not past their expiry) first, then the
newest past ones, cut at `PAST` (+1 to know whether there are more). The model's own decision and
the effective one come from the credit line the profile has already read.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from django.db.models import Case, IntegerField, Q, Value, When
from django.utils import timezone

from decisions.models import ACCESS_WITH_LIMIT, CreditLine, Override
from decisions.presentation.formats import money
from .services.overrides import category_label
from decisions.presentation.texts import access_name

PAST = 5  # past overrides shown under the live ones
# Live overrides: one pending and one in force at most (the services keep it so); a few more rows
# leave room for an old approved row the hourly sweep has not expired yet.
LIVE_ROOM = 3


@dataclass
class OverrideRow:
    override: Override
    target: str  # "Suspended", "Open · ¥1,200.00", "Model's access · ¥900.00"
    category: str
    live: bool


@dataclass
class OverridePanel:
    pending: list[OverrideRow] = field(default_factory=list)
    active: list[OverrideRow] = field(default_factory=list)
    past: list[OverrideRow] = field(default_factory=list)
    past_more: bool = False
    # The line as the customer sees it, and as the model alone would have it.
    effective_access: str = ""
    effective_label: str = ""
    effective_limit: str = ""
    model_access: str = ""
    model_label: str = ""
    model_limit: str = ""
    differs: bool = False


def override_target(override: Override) -> str:
    """What an override asks for, in words: the access it names (or the model's), and its limit."""
    from django.utils.translation import gettext as _

    access = access_name(override.access) if override.access else _("model's access")
    if override.limit_amount is None:
        if override.access in ACCESS_WITH_LIMIT or not override.access:
            return f"{access} · {_('model’s limit')}"
        return str(access)
    return f"{access} · {money(override.limit_amount)}"


def _row(override: Override, now: datetime) -> OverrideRow:
    live = override.state == Override.State.PENDING or (
        override.state == Override.State.APPROVED and override.expires_at > now
    )
    return OverrideRow(override, override_target(override), category_label(override.reason_category), live)


def customer_override_panel(*, customer_id: int, line: CreditLine | None, now: datetime | None = None) -> OverridePanel:
    """The customer's pending, in-force and recent past overrides, and the model's decision next
    to the effective one (one query)."""
    now = now or timezone.now()
    live = Q(state=Override.State.PENDING) | Q(state=Override.State.APPROVED, expires_at__gt=now)
    rows = list(
        Override.objects.filter(customer_id=customer_id)
        .select_related("requested_by", "decided_by", "revoked_by")
        .annotate(past=Case(When(live, then=Value(0)), default=Value(1), output_field=IntegerField()))
        .order_by("past", "-created_at", "-id")[: PAST + LIVE_ROOM + 1]
    )
    panel = OverridePanel()
    for override in rows:
        row = _row(override, now)
        if override.state == Override.State.PENDING:
            panel.pending.append(row)
        elif row.live:
            panel.active.append(row)
        else:
            panel.past.append(row)
    panel.past_more = len(panel.past) > PAST
    panel.past = panel.past[:PAST]
    if line is not None:
        panel.effective_access, panel.model_access = line.access, line.model_access
        panel.effective_label, panel.model_label = access_name(line.access), access_name(line.model_access)
        panel.effective_limit, panel.model_limit = money(line.limit_amount), money(line.model_limit)
        panel.differs = (line.access, line.limit_amount) != (line.model_access, line.model_limit)
    return panel
