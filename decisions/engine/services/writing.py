"""Writing planned recomputes in bulk: snapshots and their consent links, alerts and their
accounts' cases, decisions, lines.

Only what changed is written. A snapshot is the record of each computation (the run's evidence of
what was read and scored), but alerts are written only when new or changed, a decision only when
access or limit changed, and a line row only when one of its fields did — so a rerun with no new
data and the same clock changes no decision, alert or line.
"""

from __future__ import annotations

import hashlib
from decimal import Decimal

from riskops.core.audit import canonical_json
from riskops.core.bulk import copy_rows, insert_objects, update_objects

from decisions.engine.announcements import plans_written
from decisions.models import CreditDecision, CreditLine, RiskAlert, ScoreSnapshot
from decisions.engine.planning import CustomerPlan
from .cases import cases_sync
from .notices import alerts_clear, notices_for_plans

LINE_FIELDS = (
    "access", "limit_amount", "model_access", "model_limit", "score", "band", "suspended_until",
    "last_decision", "last_snapshot", "cycle_started_at", "cycle_base_limit", "exposure_period_start", "exposure_limit",
    "updated_at",
)
# The line's own state: a change here is a line change; last_snapshot/updated_at just follow along.
LINE_STATE_FIELDS = LINE_FIELDS[:7] + ("last_decision_id", "cycle_started_at", "cycle_base_limit", "exposure_period_start", "exposure_limit")
DECISION_DIGEST_FIELDS = ("id", "customer_id", "access", "limit_amount", "model_access", "model_limit", "snapshot_id", "override_id")


def _line_state(line: CreditLine) -> tuple:
    return tuple(getattr(line, f) for f in LINE_STATE_FIELDS)


def write_plans(plans: list[CustomerPlan]) -> list[CreditDecision]:
    """Bulk-write snapshots, their consent links, alerts, decisions and line heads for the plans."""
    if not plans:
        return []
    snapshots = insert_objects(ScoreSnapshot, [p.snapshot for p in plans])
    copy_rows(
        ScoreSnapshot.consents_used.through,
        ("scoresnapshot_id", "consent_id"),
        [(s.pk, cid) for p, s in zip(plans, snapshots) for cid in p.context.features.consent_ids],
    )
    for p in plans:
        for alert in p.new_alerts + p.touched_alerts:
            alert.snapshot = p.snapshot
    RiskAlert.objects.bulk_create([a for p in plans for a in p.new_alerts])
    touched = [a for p in plans for a in p.touched_alerts]
    update_objects(RiskAlert, touched, ["evidence", "last_seen_at", "severity", "action", "effective_until", "snapshot"])
    for p in plans:
        if p.decision is not None:
            p.decision.snapshot = p.snapshot
    decisions = insert_objects(CreditDecision, [p.decision for p in plans if p.decision is not None])

    # Customer notices and cleared DISCLOSURE_MISSING alerts (decisions/engine/services/notices.py)
    # Before the lines below move: a first decision is known by its line having none yet.
    notices_for_plans(plans)
    alerts_clear(plans)

    lines = []
    for p in plans:
        line, out = p.context.line, p.outcome
        before = _line_state(line)
        line.access, line.limit_amount, line.model_access, line.model_limit = out.access, out.limit, out.model_access, out.model_limit
        line.score, line.band, line.suspended_until = p.snapshot.score, p.snapshot.band, out.suspended_until
        if p.decision is not None:
            line.last_decision = p.decision
        line.cycle_started_at, line.cycle_base_limit = out.cycle_started_at, out.cycle_base_limit
        line.exposure_period_start, line.exposure_limit = p.context.exposure
        p.line_changed = _line_state(line) != before
        line.last_snapshot = p.snapshot
        line.updated_at = p.snapshot.computed_at
        lines.append(line)
    update_objects(CreditLine, lines, LINE_FIELDS)

    # The case of every account whose alerts were raised, updated or cleared, or whose line
    # changed (the case shows its access and band): same transaction.
    changed = [p for p in plans if p.new_alerts or p.touched_alerts or p.cleared_alerts or p.line_changed]
    if changed:
        cases_sync(customer_ids=[p.context.customer_id for p in changed], now=max(p.snapshot.computed_at for p in changed))

    # Whoever listens (webhooks: its outbox events) writes in this same transaction.
    plans_written(plans, decisions)
    return decisions


def digest_rows(rows: list[tuple]) -> str:
    """SHA-256 over decision rows given as DECISION_DIGEST_FIELDS tuples, in id order."""
    text = canonical_json([[str(v) if isinstance(v, Decimal) else v for v in row] for row in sorted(rows)])
    return hashlib.sha256(text.encode()).hexdigest()


def decisions_digest(decisions: list[CreditDecision]) -> str:
    """The digest of decisions just written, from memory: what the audit event vouches for."""
    return digest_rows([tuple(getattr(d, f) for f in DECISION_DIGEST_FIELDS) for d in decisions])


def stored_decisions_digest(decision_ids: list[int]) -> tuple[int, str]:
    """The same digest read back from the database (verify_audit)."""
    rows = list(CreditDecision.objects.filter(pk__in=decision_ids).values_list(*DECISION_DIGEST_FIELDS))
    return len(rows), digest_rows(rows)
