"""How `accounts` announces "this customer's data changed" without knowing who listens.

`accounts` holds the customer's data; `decisions` decides on it and depends on `accounts`, never
the reverse. The ingestion services call `customer_data_changed` inside the transaction that
stored the event; subscribers (registered by `decisions` in its AppConfig.ready) are called there
too and typically defer work with `transaction.on_commit`. An explicit registry rather than a
model signal: `bulk_create` and COPY skip signals, and a reader of `accounts/events.py` should see
every consequence of storing an event by following one call.
"""

from __future__ import annotations

from typing import Callable, Protocol


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


def customer_data_changed(*, customer_id: int, trigger: str) -> None:
    """Tell every subscriber that `customer_id`'s data changed. Call inside the event's transaction."""
    for subscriber in _SUBSCRIBERS:
        subscriber(customer_id=customer_id, trigger=trigger)
