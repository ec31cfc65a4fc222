"""Helpers for the policy-governance and simulation tests: risk admins, drafts, a frozen clock."""

from __future__ import annotations

import copy
from datetime import datetime

import pytest

from decisions.models import PolicyVersion
from decisions.engine.policy import default_policy_body
from decisions.governance.services.policy import policy_draft_copy, policy_draft_edit


def active_version() -> PolicyVersion:
    return PolicyVersion.objects.get(state=PolicyVersion.State.ACTIVE)


def stricter_body(base: dict | None = None) -> dict:
    """A draft that moves many customers of a seeded book: higher band cut-offs, a higher ceiling,
    smaller multipliers for C and D, and a stricter over-borrowing rule."""
    body = copy.deepcopy(base if base is not None else default_policy_body())
    body["bands"] = [
        {"band": "A", "min_score": 690}, {"band": "B", "min_score": 655}, {"band": "C", "min_score": 620},
        {"band": "D", "min_score": 570}, {"band": "E", "min_score": 0},
    ]
    body["limits"]["max_limit"] = "6000.00"
    body["limits"]["multipliers"]["C"] = "0.5"
    body["limits"]["multipliers"]["D"] = "0.2"
    body["rules"]["OVER_BORROWING"]["max_external_lenders"] = 2
    return body


def edited_draft(*, actor, body: dict | None = None) -> PolicyVersion:
    """The active version copied into a draft and edited (the maker's first two steps)."""
    draft = policy_draft_copy(source=active_version(), actor=actor)
    return policy_draft_edit(version=draft, body=body if body is not None else stricter_body(draft.body), actor=actor)


@pytest.fixture
def second_admin(make_user):
    return make_user("sam", "risk_admin", is_staff=True)


@pytest.fixture
def frozen_clock(monkeypatch):
    """Every `timezone.now()` returns one instant: a simulation and the recompute that follows
    see the same clock (a day boundary or a suspension's end cannot fall between them)."""
    from django.utils import timezone

    instant: datetime = timezone.now()
    monkeypatch.setattr(timezone, "now", lambda: instant)
    return instant
