"""What other apps require of a draft before its activation, without `decisions` importing them.

A fitted scorecard (modelling/) may be activated only with its validation report, and the report's
and the development sample's digests go into the audit chain with the activation. The model app
registers a check in its AppConfig.ready: called with the draft at the activation request and
again at the approval, it raises a `DomainError` (nothing changes) or returns what the audit
events of the request and the activation must carry. The same idea as `accounts.changes` and the
profile panels: an explicit registry a reader can follow.
"""

from __future__ import annotations

from typing import Callable

from decisions.models import PolicyVersion

ActivationCheck = Callable[[PolicyVersion], dict]

_CHECKS: list[ActivationCheck] = []


def register(check: ActivationCheck) -> None:
    if check not in _CHECKS:
        _CHECKS.append(check)


def activation_evidence(version: PolicyVersion) -> dict:
    """Run every registered check on the draft; what they return, merged, for the audit trail."""
    evidence: dict = {}
    for check in _CHECKS:
        evidence.update(check(version))
    return evidence
