"""The engine's shared types: what a customer's recompute is read into (`CustomerContext`, with its
active override and suppressed rules), used by the inputs (services/inputs.py), the access decision
(access.py) and planning (planning.py) alike, so none of them imports another for a dataclass."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from decisions.models import CreditLine, RiskAlert

from .features import DisclosureStatus, FeatureResult


@dataclass(frozen=True)
class ActiveOverride:
    """An approved, unexpired override. Either half may be left to the model: a blank `access`
    keeps the model's access, a `limit` of None keeps the model's limit (at least one is set)."""

    id: int
    access: str
    limit: Decimal | None
    expires_at: datetime


@dataclass(frozen=True)
class SuppressedRule:
    """A rule an analyst dismissed (false positive) or confirmed (real risk) for one customer."""

    rule: str
    severity: int
    status: str  # "dismissed" or "confirmed"
    action: str
    until: datetime


@dataclass
class CustomerContext:
    customer_id: int
    features: FeatureResult
    line: CreditLine
    open_alerts: dict[str, RiskAlert]
    override: ActiveOverride | None
    # The statement period and the limit in force when it began (utilisation's denominator).
    exposure: tuple[datetime, Decimal]
    suppressed: dict[str, SuppressedRule] = field(default_factory=dict)
    # Standing with the risk disclosure in force (DISCLOSURE_MISSING); None when none is published.
    disclosure: DisclosureStatus | None = None
    # What the change marks this recompute cleared said had changed (a run's chunk; triggers).
    changed_data: list[str] = field(default_factory=list)
