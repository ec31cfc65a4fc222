"""Ingesting a batch of events (up to `MAX_BATCH`) in one transaction: all or nothing.

The single-event services in `accounts/events.py` cost a few queries each; 1,000 of them per
request would be far too slow for the API's batch endpoint. These do the same checks, with the
same functions (`accounts/validation.py`), set-based:

1. every item is checked in memory, in order; the first bad one raises the same
   `ValidationFailed` / `NotFound` / `Conflict` as the single service, with the field prefixed by
   the item's position (`items[3].amount`) and `index` in the error's context;
2. customers (or installments) are resolved with one query for the whole batch;
3. external ids already stored are read with one query and compared field by field: the
   identical event is skipped (idempotent), any difference is a Conflict naming the item and the
   field; the same id twice in one batch follows the same rule;
4. new rows go in with one COPY (PostgreSQL) or multi-row INSERTs (`riskops.core.bulk`);
5. one change mark per distinct customer (the outbox) and one recompute asked for per distinct
   customer on commit, not one per event: through each change subscriber (as
   `customer_data_changed` does), or through the caller's `enqueue`, which the API's batch
   endpoint uses to send 250 customers per message (api/tasks.py).

A `credit_draw` is not accepted in a transaction batch (400 on `items[i].kind`): a draw is stored
with its repayment schedule by `transaction_record`, and draws are one per loan, not a stream.

A concurrent batch carrying some of the same new ids makes our insert wait for it and then fail
on the unique key; the check-and-insert step is then run once more, and finds those rows stored.
"""

from __future__ import annotations

from dataclasses import dataclass, field as dc_field
from functools import cache
from datetime import datetime
from decimal import Decimal
from typing import Any, Callable, Iterable

from django.db import IntegrityError, connection, models, transaction
from django.utils import timezone

from riskops.core.bulk import copy_rows, update_objects
from riskops.core.exceptions import Conflict, DomainError, NotFound, ValidationFailed

from .changes import subscribers
from .events import SMALLINT_MAX
from .models import BureauReport, CreditApplication, Customer, CustomerChangeMark, RepaymentInstallment, Transaction
from .validation import choice, column, integer, json_object, moment, money, not_before_onboarding, text

MAX_BATCH = 1000

try:  # COPY runs on psycopg's own cursor, so its errors arrive unwrapped by Django
    from psycopg.errors import IntegrityError as _PsycopgIntegrityError

    _UNIQUE_ERRORS: tuple[type[Exception], ...] = (IntegrityError, _PsycopgIntegrityError)
except ImportError:  # pragma: no cover - SQLite-only installs
    _UNIQUE_ERRORS = (IntegrityError,)


@cache
def _col(model: type[models.Model], name: str) -> models.Field:
    """`validation.column`, looked up once: 1,000 items × 6 fields of `_meta.get_field` add up."""
    return column(model, name)


@cache
def _choices(choices_class: type[models.TextChoices]) -> list[str]:
    return list(choices_class.values)  # `.values` rebuilds its list on every access


@dataclass
class BulkResult:
    created: int = 0
    existing: int = 0
    customers: list[int] = dc_field(default_factory=list)  # distinct customers asked to recompute

    @property
    def total(self) -> int:
        return self.created + self.existing


class _At:
    """Prefix every domain error raised inside with the item's position."""

    def __init__(self, index: int) -> None:
        self.index = index

    def __enter__(self) -> "_At":
        return self

    def __exit__(self, exc_type, exc, tb) -> bool:
        if exc is not None and isinstance(exc, DomainError) and "index" not in exc.context:
            raise _at(exc, self.index) from None
        return False


def _at(exc: DomainError, index: int) -> DomainError:
    name = exc.field or ""
    prefixed = type(exc)(exc.message, field=f"items[{index}].{name}" if name else f"items[{index}]", **exc.context, index=index)
    return prefixed


def _items(items: Any) -> list[dict]:
    if not isinstance(items, list):
        raise ValidationFailed("must be a list of events", field="items")
    if not items:
        raise ValidationFailed("must hold at least one event", field="items")
    if len(items) > MAX_BATCH:
        raise BatchTooLarge(f"holds {len(items)} events; the limit is {MAX_BATCH}", field="items")
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            raise ValidationFailed("must be an object", field=f"items[{i}]", index=i)
    return items


class BatchTooLarge(ValidationFailed):
    """The batch holds more events than one request may carry."""

    status_code, code = 413, "batch_too_large"


def _customers(external_ids: Iterable[str]) -> dict[str, tuple[int, datetime]]:
    wanted = set(external_ids)
    if connection.vendor == "postgresql":  # one array parameter, as in _stored_ids
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT external_id, id, onboarded_at FROM {connection.ops.quote_name(Customer._meta.db_table)} WHERE external_id = ANY(%s)",
                [list(wanted)],
            )
            return {ext: (pk, onboarded) for ext, pk, onboarded in cursor.fetchall()}
    return {
        ext: (pk, onboarded)
        for ext, pk, onboarded in Customer.objects.filter(external_id__in=wanted).values_list("external_id", "pk", "onboarded_at")
    }


def _resolve_customer(customers: dict[str, tuple[int, datetime]], item: dict) -> tuple[int, datetime]:
    """The item's customer (id, onboarded_at). As the single services answer: no `customer`, or
    one that is not a non-empty string, is bad input (400); a string naming nobody is 404."""
    if "customer" not in item:
        raise ValidationFailed("is required", field="customer")
    external_id = item["customer"]
    if not isinstance(external_id, str) or not external_id:
        raise ValidationFailed("must be a customer id (a string)", field="customer")
    if external_id not in customers:
        raise NotFound(f"no customer {external_id[:40]!r}", field="customer")
    return customers[external_id]


Enqueue = Callable[[list[int], str], None]


def _announce(customer_ids: Iterable[int], *, trigger: str, now: datetime, enqueue: Enqueue | None) -> list[int]:
    """`accounts.changes.customer_data_changed` for many customers at once: one mark each (one
    COPY), then either one call of each subscriber per customer (one recompute enqueued per
    customer on commit), or, when the caller passes `enqueue`, one call of it with every
    distinct customer (the API's batch path sends them 250 per message: see
    api/tasks.py). Either way the marks are the record: whatever is lost is swept up."""
    distinct = sorted(set(customer_ids))
    if not distinct:
        return distinct
    copy_rows(CustomerChangeMark, ["customer_id", "trigger", "marked_at"], [(c, trigger, now) for c in distinct])
    if enqueue is not None:
        enqueue(distinct, trigger)
        return distinct
    for subscriber in subscribers():
        for customer_id in distinct:
            subscriber(customer_id=customer_id, trigger=trigger)
    return distinct


def _store_new(
    model: type[models.Model], rows: list[tuple[int, dict[str, Any], list[tuple[str, str, Any]]]], *, columns: list[str], now: datetime,
) -> tuple[list[tuple[int, dict[str, Any]]], int]:
    """Insert the rows whose external id is not stored yet; compare the others field by field.
    `rows` is (index, values, expected) per item. Returns (new rows, count already stored)."""
    ids = [values["external_id"] for _, values, _ in rows]
    # The ids alone first (an index-only scan of the unique index); whole rows only for the few
    # already stored, which a resend or a retry brings.
    known = _stored_ids(model, ids)
    stored = {obj.external_id: obj for obj in model.objects.filter(external_id__in=known)} if known else {}
    seen: dict[str, tuple[int, list[tuple[str, str, Any]]]] = {}
    new: list[tuple[int, dict[str, Any]]] = []
    existing = 0
    for index, values, expected in rows:
        external_id = values["external_id"]
        previous = stored.get(external_id)
        if previous is not None:
            differs = _first_difference(previous, expected)
            if differs is not None:
                raise Conflict(
                    f"{external_id!r} was already received with a different {differs}",
                    field=f"items[{index}].{differs}", external_id=external_id, index=index,
                )
            existing += 1
            continue
        if external_id in seen:
            first_index, first_expected = seen[external_id]
            differs = next((f for (f, _, v), (_, _, w) in zip(expected, first_expected) if v != w), None)
            if differs is not None:
                raise Conflict(
                    f"{external_id!r} appears twice in this batch (items {first_index} and {index}) with a different {differs}",
                    field=f"items[{index}].{differs}", external_id=external_id, index=index,
                )
            existing += 1
            continue
        seen[external_id] = (index, expected)
        new.append((index, values))
    copy_rows(model, columns + ["created_at"], [tuple(values[c] for c in columns) + (now,) for _, values in new])
    return new, existing


def _stored_ids(model: type[models.Model], ids: list[str]) -> list[str]:
    if connection.vendor == "postgresql":
        # One array parameter: binding 1,000 separate ones costs ~30 ms of client time, the
        # index lookup itself under 1 ms.
        with connection.cursor() as cursor:
            table = connection.ops.quote_name(model._meta.db_table)
            cursor.execute(f"SELECT external_id FROM {table} WHERE external_id = ANY(%s)", [ids])
            return [row[0] for row in cursor.fetchall()]
    return list(model.objects.filter(external_id__in=ids).values_list("external_id", flat=True))


def _first_difference(stored: models.Model, expected: list[tuple[str, str, Any]]) -> str | None:
    for name, attribute, value in expected:
        if getattr(stored, attribute) != value:
            return name
    return None


def _record(
    model: type[models.Model], items: Any, *, trigger: str, columns: list[str], enqueue: "Enqueue | None",
    check: Callable[[int, dict, dict[str, tuple[int, datetime]], datetime], tuple[dict[str, Any], list[tuple[str, str, Any]]]],
) -> BulkResult:
    now = timezone.now()
    items = _items(items)
    with transaction.atomic():
        # Only strings that could be an id reach the query (PostgreSQL refuses a NUL outright).
        customers = _customers(
            c for item in items if isinstance(c := item.get("customer"), str) and len(c) <= 40 and "\x00" not in c
        )
        rows = []
        for index, item in enumerate(items):
            with _At(index):
                values, expected = check(index, item, customers, now)
            rows.append((index, values, expected))
        for attempt in (1, 2):
            try:
                with transaction.atomic():
                    new, existing = _store_new(model, rows, columns=columns, now=now)
                break
            except _UNIQUE_ERRORS:
                if attempt == 2:
                    raise  # not a concurrent duplicate: a bug in the checks above
        result = BulkResult(created=len(new), existing=existing)
        by_index = {index: values for index, values, _ in rows}
        result.customers = _announce((by_index[i]["customer_id"] for i, _ in new), trigger=trigger, now=now, enqueue=enqueue)
    return result


_ALLOWED = {
    "transactions": {"customer", "external_id", "kind", "amount", "occurred_at", "merchant_category"},
    "applications": {"customer", "external_id", "requested_amount", "applied_at", "channel"},
    "bureau_reports": {
        "customer", "external_id", "score", "external_lenders", "external_debt", "reported_at", "delinquencies_12m", "bureau", "raw",
    },
    "repayments": {"draw", "sequence", "external_id", "amount", "paid_at"},
}


def _known_fields(item: dict, kind: str) -> None:
    unknown = sorted(set(item) - _ALLOWED[kind])
    if unknown:
        raise ValidationFailed("is not a field of this event", field=unknown[0])


# A credit draw is stored with its repayment schedule (`transaction_record`), one draw at a time:
# they are few (one per loan), and a draw without its installments would never count as drawn.
CREDIT_DRAW_REFUSED = (
    "a credit_draw is not accepted in a batch: post each credit draw through POST /api/v1/transactions/ "
    "with its repayment schedule (installments)"
)


def _check_transaction(index: int, item: dict, customers, now: datetime):
    kind = item.get("kind")
    # Before the field list: an item sending `installments` along is answered about its kind.
    if kind == Transaction.Kind.CREDIT_DRAW:
        raise ValidationFailed(CREDIT_DRAW_REFUSED, field="kind")
    _known_fields(item, "transactions")
    external_id = text(item.get("external_id"), field="external_id", column=_col(Transaction, "external_id"))
    if kind == Transaction.Kind.REPAYMENT:
        raise ValidationFailed("repayments are recorded with repayment_record, against an installment", field="kind")
    kind = choice(kind, field="kind", choices=_choices(Transaction.Kind))
    amount = money(item.get("amount"), field="amount", column=_col(Transaction, "amount"))
    occurred_at = moment(item.get("occurred_at"), field="occurred_at", now=now)
    merchant_category = text(
        item.get("merchant_category", ""), field="merchant_category", column=_col(Transaction, "merchant_category"), required=False
    )
    customer_id, onboarded_at = _resolve_customer(customers, item)
    not_before_onboarding(occurred_at, field="occurred_at", onboarded_at=onboarded_at)
    values = dict(
        external_id=external_id, customer_id=customer_id, kind=kind, amount=amount, occurred_at=occurred_at,
        merchant_category=merchant_category,
    )
    expected = [
        ("kind", "kind", kind), ("customer", "customer_id", customer_id), ("amount", "amount", amount),
        ("occurred_at", "occurred_at", occurred_at), ("merchant_category", "merchant_category", merchant_category),
    ]
    return values, expected


def _check_application(index: int, item: dict, customers, now: datetime):
    _known_fields(item, "applications")
    external_id = text(item.get("external_id"), field="external_id", column=_col(CreditApplication, "external_id"))
    channel = choice(item.get("channel", "app"), field="channel", choices=_choices(CreditApplication.Channel))
    requested_amount = money(item.get("requested_amount"), field="requested_amount", column=_col(CreditApplication, "requested_amount"))
    applied_at = moment(item.get("applied_at"), field="applied_at", now=now)
    customer_id, onboarded_at = _resolve_customer(customers, item)
    not_before_onboarding(applied_at, field="applied_at", onboarded_at=onboarded_at)
    values = dict(external_id=external_id, customer_id=customer_id, requested_amount=requested_amount, applied_at=applied_at, channel=channel)
    expected = [
        ("customer", "customer_id", customer_id), ("requested_amount", "requested_amount", requested_amount),
        ("applied_at", "applied_at", applied_at), ("channel", "channel", channel),
    ]
    return values, expected


def _check_bureau_report(index: int, item: dict, customers, now: datetime):
    _known_fields(item, "bureau_reports")
    external_id = text(item.get("external_id"), field="external_id", column=_col(BureauReport, "external_id"))
    score = integer(item.get("score"), field="score", minimum=300, maximum=900)
    external_lenders = integer(item.get("external_lenders"), field="external_lenders", minimum=0, maximum=SMALLINT_MAX)
    delinquencies_12m = integer(item.get("delinquencies_12m", 0), field="delinquencies_12m", minimum=0, maximum=SMALLINT_MAX)
    external_debt = money(item.get("external_debt"), field="external_debt", column=_col(BureauReport, "external_debt"), allow_zero=True)
    reported_at = moment(item.get("reported_at"), field="reported_at", now=now)
    bureau = text(item.get("bureau", "national"), field="bureau", column=_col(BureauReport, "bureau"))
    raw = item.get("raw")
    raw = json_object({} if raw is None else raw, field="raw")
    customer_id, onboarded_at = _resolve_customer(customers, item)
    not_before_onboarding(reported_at, field="reported_at", onboarded_at=onboarded_at)
    values = dict(
        external_id=external_id, customer_id=customer_id, score=score, external_lenders=external_lenders, external_debt=external_debt,
        delinquencies_12m=delinquencies_12m, reported_at=reported_at, bureau=bureau, raw=raw,
    )
    expected = [
        ("customer", "customer_id", customer_id), ("score", "score", score), ("external_lenders", "external_lenders", external_lenders),
        ("external_debt", "external_debt", external_debt), ("delinquencies_12m", "delinquencies_12m", delinquencies_12m),
        ("reported_at", "reported_at", reported_at), ("bureau", "bureau", bureau), ("raw", "raw", raw),
    ]
    return values, expected


def transactions_record_bulk(*, items: Any, enqueue: "Enqueue | None" = None) -> BulkResult:
    """`transaction_record` for a batch, all or nothing. Items are dicts with the single
    service's arguments, `customer` being the customer's external id; times are aware datetimes.
    A `credit_draw` item is refused (`items[i].kind`): a draw goes through `transaction_record`
    with its repayment schedule."""
    return _record(
        Transaction, items, enqueue=enqueue, trigger="transaction", check=_check_transaction,
        columns=["external_id", "customer_id", "kind", "amount", "occurred_at", "merchant_category"],
    )


def applications_record_bulk(*, items: Any, enqueue: "Enqueue | None" = None) -> BulkResult:
    """`application_record` for a batch, all or nothing."""
    return _record(
        CreditApplication, items, enqueue=enqueue, trigger="application", check=_check_application,
        columns=["external_id", "customer_id", "requested_amount", "applied_at", "channel"],
    )


def bureau_reports_record_bulk(*, items: Any, enqueue: "Enqueue | None" = None) -> BulkResult:
    """`bureau_report_record` for a batch, all or nothing."""
    return _record(
        BureauReport, items, enqueue=enqueue, trigger="bureau", check=_check_bureau_report,
        columns=["external_id", "customer_id", "score", "external_lenders", "external_debt", "delinquencies_12m", "reported_at", "bureau", "raw"],
    )


def repayments_record_bulk(*, items: Any, enqueue: "Enqueue | None" = None) -> BulkResult:
    """`repayment_record` for a batch, all or nothing. An item names its installment by the
    draw's external id and the installment's sequence (`draw`, `sequence`). Repayments of one
    installment within a batch apply in order; the sum may not exceed what is still due.
    The installments are locked (in id order) for the whole check, as the single service does."""
    now = timezone.now()
    items = _items(items)
    parsed: list[tuple[int, dict[str, Any]]] = []
    for index, item in enumerate(items):
        with _At(index):
            _known_fields(item, "repayments")
            external_id = text(item.get("external_id"), field="external_id", column=_col(Transaction, "external_id"))
            amount = money(item.get("amount"), field="amount", column=_col(Transaction, "amount"))
            paid_at = moment(item.get("paid_at"), field="paid_at", now=now)
            draw = text(item.get("draw"), field="draw", column=_col(Transaction, "external_id"))
            sequence = integer(item.get("sequence"), field="sequence", minimum=1, maximum=SMALLINT_MAX)
        parsed.append((index, dict(external_id=external_id, amount=amount, paid_at=paid_at, draw=draw, sequence=sequence)))
    with transaction.atomic():
        draws = {d for _, p in parsed for d in [p["draw"]]}
        installments = {
            (i.draw.external_id, i.sequence): i
            for i in RepaymentInstallment.objects.select_for_update(of=("self",))
            .select_related("draw", "customer")
            .filter(draw__external_id__in=draws, draw__kind=Transaction.Kind.CREDIT_DRAW)
            .order_by("pk")
        }
        stored = {t.external_id: t for t in Transaction.objects.filter(external_id__in=[p["external_id"] for _, p in parsed])}
        seen: dict[str, tuple[int, list]] = {}
        new_rows: list[tuple] = []
        touched: dict[int, RepaymentInstallment] = {}
        existing = 0
        for index, p in parsed:
            with _At(index):
                inst = installments.get((p["draw"], p["sequence"]))
                if inst is None:
                    raise NotFound(f"no installment {p['sequence']} of draw {p['draw']!r}", field="draw")
                not_before_onboarding(p["paid_at"], field="paid_at", onboarded_at=inst.customer.onboarded_at)
                expected = [
                    ("kind", "kind", Transaction.Kind.REPAYMENT), ("customer", "customer_id", inst.customer_id),
                    ("amount", "amount", p["amount"]), ("paid_at", "occurred_at", p["paid_at"]),
                ]
                previous = stored.get(p["external_id"])
                if previous is not None:
                    differs = _first_difference(previous, expected)
                    if differs is not None:
                        raise Conflict(f"{p['external_id']!r} was already received with a different {differs}", field=differs)
                    existing += 1
                    continue
                if p["external_id"] in seen:
                    differs = next((f for (f, _, v), (_, _, w) in zip(expected, seen[p["external_id"]][1]) if v != w), None)
                    if differs is not None:
                        raise Conflict(f"{p['external_id']!r} appears twice in this batch with a different {differs}", field=differs)
                    existing += 1
                    continue
                seen[p["external_id"]] = (index, expected)
                remaining = inst.amount_due - inst.amount_paid
                if p["amount"] > remaining:
                    raise ValidationFailed(f"exceeds the {remaining} still due on this installment", field="amount")
                inst.amount_paid += p["amount"]
                if inst.amount_paid == inst.amount_due:
                    inst.paid_at = p["paid_at"]
                touched[inst.pk] = inst
                new_rows.append((p["external_id"], inst.customer_id, Transaction.Kind.REPAYMENT.value, p["amount"], p["paid_at"], "", now))
        copy_rows(Transaction, ["external_id", "customer_id", "kind", "amount", "occurred_at", "merchant_category", "created_at"], new_rows)
        update_objects(RepaymentInstallment, sorted(touched.values(), key=lambda i: i.pk), ["amount_paid", "paid_at"])
        result = BulkResult(created=len(new_rows), existing=existing)
        result.customers = _announce((inst.customer_id for inst in touched.values()), trigger="repayment", now=now, enqueue=enqueue)
    return result


BULK_SERVICES: dict[str, Callable[..., BulkResult]] = {
    "transactions": transactions_record_bulk,
    "applications": applications_record_bulk,
    "bureau_reports": bureau_reports_record_bulk,
    "repayments": repayments_record_bulk,
}
