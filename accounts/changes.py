"""How `accounts` announces "this customer's data changed" without knowing who listens.

`accounts` holds the customer's data; `decisions` decides on it and depends on `accounts`, never
the reverse. The ingestion services call `customer_data_changed` inside the transaction that
stored the event; subscribers (registered by `decisions` in its AppConfig.ready) are called there
too and typically defer work with `transaction.on_commit`. An explicit registry rather than a
model signal: `bulk_create` and COPY skip signals, and a reader of `accounts/events.py` should see
every consequence of storing an event by following one call.

The announcement is also written down: `customer_data_changed` inserts a `CustomerChangeMark` in
the event's own transaction (an outbox). A subscriber's broker message can be lost (a broker
restart drops queued messages) but the mark commits or rolls back with the event, so a sweep
can always find customers whose recompute never happened. The recompute clears the marks of
the customers it covers (`change_marks_clear` for one customer, `change_marks_take_range` for a
run's chunk and `change_marks_take` for a batch of events' customers, which also say what the marks were) after taking its lock and before reading
features: a mark committed later survives and is swept, a mark committed earlier is covered by
the data the recompute is about to read. (`change_marks_clear_range`, the plain range delete, is
no longer used by the engine.)
"""

from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime
from typing import Callable, Iterator, Protocol

from django.db.models import Min
from django.utils import timezone

from riskops.core.bulk import ids_param
from riskops.core.metrics import event_to_decision_observe

from .models import CustomerChangeMark


class ChangeSubscriber(Protocol):
    def __call__(self, *, customer_id: int, trigger: str) -> None: ...


_SUBSCRIBERS: list[ChangeSubscriber] = []


def subscribe(subscriber: ChangeSubscriber) -> ChangeSubscriber:
    """Register a subscriber once (AppConfig.ready may run more than once in tests)."""
    if subscriber not in _SUBSCRIBERS:
        _SUBSCRIBERS.append(subscriber)
    return subscriber


def subscribers() -> tuple[Callable[..., None], ...]:
    return tuple(_SUBSCRIBERS)


_DEFERRED: ContextVar[bool] = ContextVar("recomputes_deferred", default=False)


@contextmanager
def recomputes_deferred() -> Iterator[None]:
    """Within this block a data change is marked (the outbox) but no subscriber is told.

    For a caller that runs the recompute itself on its own clock: a replay stores a past day's
    events and then runs that day's nightly recompute, which clears the marks. Told at once, a
    subscriber would recompute at today's time, with the day's events but not the days between."""
    token = _DEFERRED.set(True)
    try:
        yield
    finally:
        _DEFERRED.reset(token)


def recomputes_are_deferred() -> bool:
    return _DEFERRED.get()


def customer_data_changed(*, customer_id: int, trigger: str) -> None:
    """Mark `customer_id` as needing a recompute and tell every subscriber (unless recomputes are
    deferred). Call inside the event's transaction, so the mark and the event commit (or roll
    back) together."""
    CustomerChangeMark.objects.create(customer_id=customer_id, trigger=trigger, marked_at=timezone.now())
    if _DEFERRED.get():
        return
    for subscriber in _SUBSCRIBERS:
        subscriber(customer_id=customer_id, trigger=trigger)


def change_marks_write(*, customer_ids: list[int], trigger: str) -> None:
    """Mark customers for a recompute that the caller enqueues itself after its commit (a sweep
    that sends its own messages): the marks are the record if those messages are lost; no
    subscriber is told, so nothing is enqueued twice."""
    now = timezone.now()
    CustomerChangeMark.objects.bulk_create(
        [CustomerChangeMark(customer_id=c, trigger=trigger, marked_at=now) for c in customer_ids], batch_size=500
    )


def change_marks_clear(*, customer_ids: list[int]) -> int:
    """Delete the marks of these customers (their recompute is under way in this transaction)."""
    if not customer_ids:
        return 0
    marks = CustomerChangeMark.objects.filter(customer_id__in=customer_ids)
    _observe_taken(list(marks.values_list("marked_at", flat=True)), path="single")
    deleted, _ = marks.delete()
    return deleted


def change_marks_clear_range(*, first_id: int, last_id: int) -> int:
    """Delete the marks of every customer with first_id <= id <= last_id (a chunk of a run): one
    range delete on the customer index instead of a list of ids as long as the chunk."""
    deleted, _ = CustomerChangeMark.objects.filter(customer_id__gte=first_id, customer_id__lte=last_id).delete()
    return deleted


def change_marks_take_range(*, first_id: int, last_id: int) -> dict[int, list[str]]:
    """Delete the marks of every customer with first_id <= id <= last_id and say what they were:
    customer id -> the distinct triggers, sorted. Only the marks read are deleted, so one
    committed in between survives for the next recompute, as with `change_marks_clear_range`.
    A run's chunk uses it to tell "new data arrived" from "time passed" in its reasons."""
    marks = list(
        CustomerChangeMark.objects.filter(customer_id__gte=first_id, customer_id__lte=last_id).values_list(
            "pk", "customer_id", "trigger", "marked_at"
        )
    )
    if not marks:
        return {}
    CustomerChangeMark.objects.filter(pk__in=ids_param([pk for pk, _, _, _ in marks])).delete()
    _observe_taken([at for _, _, _, at in marks], path="chunk")
    triggers: dict[int, set[str]] = {}
    for _, customer_id, trigger, _ in marks:
        triggers.setdefault(customer_id, set()).add(trigger)
    return {customer_id: sorted(found) for customer_id, found in triggers.items()}


def change_marks_take(*, customer_ids: list[int]) -> dict[int, list[str]]:
    """`change_marks_take_range` for a set of customers (a batch of events' customers): delete
    their marks and say what they were (customer id -> distinct triggers, sorted). A customer
    missing from the answer had no mark left: someone recomputed it since its event."""
    if not customer_ids:
        return {}
    marks = list(
        CustomerChangeMark.objects.filter(customer_id__in=ids_param(customer_ids)).values_list("pk", "customer_id", "trigger", "marked_at")
    )
    if not marks:
        return {}
    CustomerChangeMark.objects.filter(pk__in=ids_param([pk for pk, _, _, _ in marks])).delete()
    _observe_taken([at for _, _, _, at in marks], path="batch")
    triggers: dict[int, set[str]] = {}
    for _, customer_id, trigger, _ in marks:
        triggers.setdefault(customer_id, set()).add(trigger)
    return {customer_id: sorted(found) for customer_id, found in triggers.items()}


def _observe_taken(marked_at: list[datetime], *, path: str) -> None:
    """The event-to-decision latency (riskops/core/metrics.py) of the marks a recompute took,
    recorded as it takes them, milliseconds before its decision commits. Not through
    `transaction.on_commit`: tests count the callbacks an event leaves (one recompute message),
    and a recompute that rolls back (rare: a failure, retried) is at worst counted twice."""
    if marked_at:
        event_to_decision_observe(marked_at=marked_at, taken_at=timezone.now(), path=path)


def marked_customers(*, customer_ids: list[int]) -> list[int]:
    """Which of these customers still have a change mark, in id order (read-only, no lock)."""
    if not customer_ids:
        return []
    return sorted(set(CustomerChangeMark.objects.filter(customer_id__in=ids_param(customer_ids)).values_list("customer_id", flat=True)))


def stale_change_marks(*, older_than: datetime, limit: int) -> list[tuple[int, str]]:
    """Customers with a mark older than `older_than`, oldest first, at most `limit` of them, each
    with the trigger of its oldest mark: (customer_id, trigger). Read-only; the recompute that the
    caller enqueues clears the marks."""
    oldest = list(
        CustomerChangeMark.objects.filter(marked_at__lt=older_than)
        .values("customer_id")
        .annotate(first=Min("marked_at"))
        .order_by("first", "customer_id")
        .values_list("customer_id", "first")[:limit]
    )
    if not oldest:
        return []
    triggers: dict[int, str] = {}
    for customer_id, trigger in (
        CustomerChangeMark.objects.filter(customer_id__in=[c for c, _ in oldest], marked_at__lt=older_than)
        .order_by("marked_at", "id")
        .values_list("customer_id", "trigger")
    ):
        triggers.setdefault(customer_id, trigger)
    return [(customer_id, triggers[customer_id]) for customer_id, _ in oldest if customer_id in triggers]


def change_marks_touch(*, customer_ids: list[int], older_than: datetime, now: datetime) -> int:
    """Restart the grace period of these customers' stale marks (the sweep has just enqueued their
    recompute again): if that message is lost too, the mark ages and is swept once more, but a
    recompute merely waiting in a long queue is not enqueued again every minute."""
    if not customer_ids:
        return 0
    return CustomerChangeMark.objects.filter(customer_id__in=customer_ids, marked_at__lt=older_than).update(marked_at=now)
