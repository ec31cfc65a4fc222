"""Reading what a recompute needs: the locked credit line, consents, features, alerts, overrides.

Two shapes, one result: `load_customer` (one customer, the reference reads) and `load_chunk`
(set-based, a fixed number of queries for a whole chunk; `load_marked`, the same reads for a batch
of events' customers). Both lock the customers' credit-line rows
in pk order first — that lock is what serialises recomputes of one customer — and then clear the
customers' change marks (the outbox), *before* reading any data: an event committed after the
clear keeps its mark (and its own recompute), one committed before is visible to the reads below.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from accounts.changes import change_marks_clear, change_marks_take, change_marks_take_range
from accounts.models import Customer
from riskops.core.bulk import ids_param

from decisions.engine.exposure import exposure_for
from decisions.engine.features import (
    ConsentState, consent_states, disclosure_states, features_for_chunk, features_for_customer,
)
from decisions.models import CreditLine, Override, RiskAlert
from decisions.engine.types import ActiveOverride, CustomerContext, SuppressedRule

OPEN = RiskAlert.OPEN_STATUSES


def _active_overrides(customer_ids: list[int], now: datetime) -> dict[int, ActiveOverride]:
    found: dict[int, ActiveOverride] = {}
    rows = (
        Override.objects.filter(
            customer_id__in=ids_param(customer_ids), state=Override.State.APPROVED, decided_at__lte=now, expires_at__gt=now
        )
        .order_by("customer_id", "-decided_at", "-id")
        .values_list("customer_id", "id", "access", "limit_amount", "expires_at")
    )
    for customer_id, pk, access, limit, expires_at in rows:
        found.setdefault(customer_id, ActiveOverride(pk, access, limit, expires_at))
    return found


def _open_alerts(customer_ids: list[int]) -> dict[int, dict[str, RiskAlert]]:
    alerts: dict[int, dict[str, RiskAlert]] = {cid: {} for cid in customer_ids}
    for alert in RiskAlert.objects.filter(customer_id__in=ids_param(customer_ids), status__in=OPEN).order_by("pk"):
        alerts[alert.customer_id][alert.rule] = alert
    return alerts


def _suppressed_rules(customer_ids: list[int], now: datetime) -> dict[int, dict[str, SuppressedRule]]:
    """Rules an analyst dismissed or confirmed, still inside their suppression period."""
    found: dict[int, dict[str, SuppressedRule]] = {cid: {} for cid in customer_ids}
    rows = (
        RiskAlert.objects.filter(
            customer_id__in=ids_param(customer_ids), status__in=("dismissed", "confirmed"), suppressed_until__gt=now
        )
        .order_by("pk")
        .values_list("customer_id", "rule", "severity", "status", "action", "suppressed_until")
    )
    for customer_id, rule, severity, status, action, until in rows:
        current = found[customer_id].get(rule)
        if current is None or severity >= current.severity:
            found[customer_id][rule] = SuppressedRule(rule, severity, status, action, until)
    return found


def _locked_lines(customer_ids: list[int]) -> dict[int, CreditLine]:
    """Every customer gets a line row; all are locked in pk order, the per-customer lock."""
    def lock(ids):
        return {line.customer_id: line for line in CreditLine.objects.select_for_update().filter(customer_id__in=ids_param(ids)).order_by("pk")}

    lines = lock(customer_ids)
    missing = [cid for cid in customer_ids if cid not in lines]
    if missing:
        CreditLine.objects.bulk_create([CreditLine(customer_id=cid) for cid in missing], ignore_conflicts=True)
        lines.update(lock(missing))
    return lines


def _exposure(line: CreditLine, now: datetime) -> tuple[datetime, Decimal]:
    return exposure_for(
        period_start=line.exposure_period_start, exposure_limit=line.exposure_limit, current_limit=line.limit_amount, now=now
    )


def load_customer(*, customer: Customer, now: datetime) -> CustomerContext:
    line = _locked_lines([customer.pk])[customer.pk]
    change_marks_clear(customer_ids=[customer.pk])
    exposure = _exposure(line, now)
    consents = consent_states([customer.pk], as_of=now).get(customer.pk, ConsentState())
    result = features_for_customer(customer=customer, consents=consents, limit=exposure[1], as_of=now)
    disclosure = disclosure_states({customer.pk: customer.onboarded_at}, as_of=now).get(customer.pk)
    return CustomerContext(
        customer.pk, result, line, _open_alerts([customer.pk])[customer.pk],
        _active_overrides([customer.pk], now).get(customer.pk), exposure, _suppressed_rules([customer.pk], now)[customer.pk],
        disclosure,
    )


def _read_lines(customer_ids: list[int]) -> dict[int, CreditLine]:
    """Lines as they are, without a lock; a customer without one gets an unsaved fresh line."""
    lines = {line.customer_id: line for line in CreditLine.objects.filter(customer_id__in=ids_param(customer_ids))}
    zero = Decimal("0.00")  # what a stored line reads back as (the model default is the int 0)

    def fresh(cid: int) -> CreditLine:
        return CreditLine(customer_id=cid, limit_amount=zero, model_limit=zero, cycle_base_limit=zero, exposure_limit=zero)

    return {cid: lines.get(cid) or fresh(cid) for cid in customer_ids}


def load_chunk(*, first_id: int, last_id: int, now: datetime, lock: bool = True) -> list[CustomerContext]:
    """Everything a chunk's plans need. `lock=False` is for reads that will not write (a policy's
    dry run): no row lock, no line created, the change marks left for the real recompute."""
    # Customers onboarded by `now` only: a replayed day does not see customers who came later.
    customers = dict(
        Customer.objects.filter(pk__gte=first_id, pk__lte=last_id, onboarded_at__lte=now).values_list("pk", "onboarded_at")
    )
    ids = sorted(customers)
    if not ids:
        return []
    changed: dict[int, list[str]] = {}
    if lock:
        lines = _locked_lines(ids)
        changed = change_marks_take_range(first_id=first_id, last_id=last_id)
    else:
        lines = _read_lines(ids)
    return _contexts(customers, lines, changed, now)


def load_marked(*, customer_ids: list[int], now: datetime) -> list[CustomerContext]:
    """Everything a batch of events' recomputes need (`services/batches.py`): the chunk's reads
    for a set of customers. Their lines are locked in pk order, then their change marks taken;
    a customer with no mark left was recomputed by someone else since its event (another batch,
    a run's chunk) and is left out, so nothing is computed twice."""
    customers = dict(
        Customer.objects.filter(pk__in=ids_param(customer_ids), onboarded_at__lte=now).values_list("pk", "onboarded_at")
    )
    if not customers:
        return []
    lines = _locked_lines(sorted(customers))
    changed = change_marks_take(customer_ids=sorted(customers))
    customers = {cid: at for cid, at in customers.items() if cid in changed}
    if not customers:
        return []
    return _contexts(customers, {cid: lines[cid] for cid in customers}, changed, now)


def _contexts(
    customers: dict[int, datetime], lines: dict[int, CreditLine], changed: dict[int, list[str]], now: datetime
) -> list[CustomerContext]:
    """The set-based reads shared by a run's chunk and a batch: a fixed number of queries."""
    ids = sorted(customers)
    exposures = {cid: _exposure(line, now) for cid, line in lines.items()}
    consents = consent_states(ids, as_of=now)
    results = features_for_chunk(
        customers=customers, consents=consents, limits={cid: exp[1] for cid, exp in exposures.items()}, as_of=now
    )
    alerts = _open_alerts(ids)
    overrides = _active_overrides(ids, now)
    suppressed = _suppressed_rules(ids, now)
    # The chunk's acknowledgements of the risk disclosure in force: one query for the whole chunk.
    disclosures = disclosure_states(customers, as_of=now)
    return [
        CustomerContext(
            cid, results[cid], lines[cid], alerts[cid], overrides.get(cid), exposures[cid], suppressed[cid], disclosures.get(cid),
            changed.get(cid, []),
        )
        for cid in ids
    ]
