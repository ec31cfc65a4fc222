"""Helpers for the override tests: a scored customer with a real line, and the override roles."""

from __future__ import annotations

from decimal import Decimal

import pytest

from decisions.models import CreditLine
from decisions.engine.services.recompute import decision_recompute
from riskops.core.models import AuditEvent
from tests.decisions.scenarios import make_customer


def scored_customer(**recipe):
    """A customer the engine has decided on (default recipe: open, band A, limit 4,500.00)."""
    customer = make_customer(**recipe)
    decision_recompute(customer=customer, trigger="manual")
    return customer


def line_of(customer) -> CreditLine:
    return CreditLine.objects.get(customer=customer)


def audit_actions(target) -> list[str]:
    return list(
        AuditEvent.objects.filter(target_type=target._meta.label_lower, target_id=str(target.pk))
        .order_by("pk")
        .values_list("action", flat=True)
    )


def money(value: str) -> Decimal:
    return Decimal(value)


@pytest.fixture
def risk_admin2(make_user):
    return make_user("remy", "risk_admin", is_staff=True)
