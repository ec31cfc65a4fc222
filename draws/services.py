"""Draw checks: may this customer draw this amount now? (real-time interception at checkout)

`draw_check` validates the request, reads everything the decision needs in **one short read-only
transaction** — a single SELECT in autocommit (the customer, its credit line, its drawn balance,
its holds, the active policy's identity and the velocity aggregates; see `_READ_SQL`) — decides
with a pure function, and appends the `DrawCheck` record in its own autocommit INSERT. Nothing is
locked and nothing else is written: two statements per check (plus the token lookup), both
prepared on PostgreSQL (riskops/core/prepared.py: planning them cost more than running them).

Input is as strict as the other endpoints': an empty object is a 400 on `body`, a field this
request does not have is a 400 naming it, and the currency must be exactly the book's
(`settings.RISKOPS_CURRENCY`, as ingestion requires: `"cny"` is refused).

Rules, in order (all that apply are reported; the strictest decides — deny over review over allow):
- **access** (the line's effective state): closed, suspended, not_offered, or no line yet → deny;
  limited → review, or allow within the available amount (policy `draws.limited`);
- **available limit** = limit − drawn balance − holds, an amount above it → deny. The drawn
  balance is what is still owed on unpaid installments of credit draws (the same sum as the
  profile's "drawn balance"). The **holds** (policy `draws.hold_hours`, default 24, 0 turns them
  off) treat an allowed check as an authorisation whose draw has not been posted yet: the sum of
  the customer's *allowed* checks in the last `hold_hours` hours, less the sum of the customer's
  `credit_draw` transactions that occurred in the same window (a posted draw is in the drawn
  balance and releases its hold, so it is never counted twice). Checks and draws are netted as
  sums, since a draw names no check: a draw posted without a check lowers the holds too, never
  below 0. (Without holds, four checks of 3,000 against 3,200 available were all allowed.)
- **velocity** (policy `draws.velocity`): the customer's *allowed* checks in the last hour and the
  last day, by count and by amount, this one included, over the maximum → deny;
- **new device / new channel** (policy `draws.new_device_days` / `new_channel_days`): a device or
  channel not seen on an allowed check of this customer in that many days → review. A customer
  with no allowed check in the window has no baseline yet, so nothing is "new" to them.

Durability of the record: the INSERT is committed with `synchronous_commit = off` for its own
transaction (riskops/core/rows.py `insert_row(async_commit=True)`), unless
`RISKOPS_DRAW_CHECK_SYNC_COMMIT=true`. Waiting for the WAL flush was the p99 of a check: on the
bench machine's disk a commit's fsync now and then took 15–80 ms, and those stalls alone put
the p99 at 45–51 ms against 17–18 ms without them (README, Benchmarks). The row is visible to
the next check at once (velocity and holds see it); what a crash of the *database server*
can lose is the checks committed in its last ≤ 600 ms (3 × `wal_writer_delay`), never a
partial row and nothing else: every decision, event, alert and audit row keeps waiting for its
flush. Under an `Idempotency-Key` the check runs inside the key's transaction, which commits
synchronously as a whole.

The velocity counters and the holds are read from PostgreSQL (the record itself, through the
`(customer, checked_at)` index, and the transactions through `txn_customer_time_idx`): measured
at p99 well inside the 25 ms budget at 200 checks/s (README, Benchmarks), so no Redis counter is
kept. Two concurrent checks of one customer both read the counters and holds before either is
recorded, so velocity and the available limit can be exceeded by the number of simultaneous
requests of that customer (a checkout sends one at a time); the record is exact.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone as dt_timezone
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import connection
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from accounts.models import Customer, Transaction
from accounts.validation import CLOCK_SKEW, money, text
from decisions.models import Access, PolicyVersion
from decisions.engine.policy import DrawRules
from decisions.engine.policy_reads import parsed_policy
from riskops.core.exceptions import NotFound, ValidationFailed
from riskops.core.metrics import draw_check_observe
from riskops.core.prepared import prepared_cursor
from riskops.core.rows import insert_row

from .models import DrawCheck, DrawDecision

ZERO = Decimal("0.00")
# English texts are the record (stored with the check and returned by the API); the staff page
# shows them translated by code (draws/selectors.py).
REASON_TEXTS = {
    "ACCESS_CLOSED": "The credit line is closed.",
    "ACCESS_SUSPENDED": "The credit line is suspended.",
    "ACCESS_NOT_OFFERED": "No credit line is offered to this customer.",
    "ACCESS_LIMITED": "The credit line is limited: a person reviews draws first.",
    "OVER_AVAILABLE": "The amount is more than the available limit (after holds for draws allowed but not yet posted).",
    "VELOCITY_HOUR_COUNT": "Too many draws in the last hour.",
    "VELOCITY_HOUR_AMOUNT": "Too much drawn in the last hour.",
    "VELOCITY_DAY_COUNT": "Too many draws in the last day.",
    "VELOCITY_DAY_AMOUNT": "Too much drawn in the last day.",
    "NEW_DEVICE": "A device not seen for this customer recently.",
    "NEW_CHANNEL": "A channel not seen for this customer recently.",
}
DENY_ACCESS = {Access.CLOSED.value: "ACCESS_CLOSED", Access.SUSPENDED.value: "ACCESS_SUSPENDED", Access.NOT_OFFERED.value: "ACCESS_NOT_OFFERED"}
REVIEW_CODES = {"ACCESS_LIMITED", "NEW_DEVICE", "NEW_CHANNEL"}
_AMOUNT = DrawCheck._meta.get_field("amount")
FIELDS = ("customer", "amount", "currency", "channel", "merchant_category", "device_id")


@dataclass(frozen=True)
class DrawRequest:
    customer: str
    amount: Decimal
    currency: str
    channel: str
    merchant_category: str
    device_id: str


@dataclass(frozen=True)
class Velocity:
    """The customer's allowed checks: counts and sums per window, and whether the device and
    channel were seen (None: no baseline, the customer has no allowed check in that window)."""

    hour_count: int = 0
    hour_amount: Decimal = ZERO
    day_count: int = 0
    day_amount: Decimal = ZERO
    device_seen: bool | None = None
    channel_seen: bool | None = None


@dataclass(frozen=True)
class DrawOutcome:
    decision: str
    reasons: list[dict[str, str]]
    available: Decimal


def draw_request_parse(data: Any) -> DrawRequest:
    """Check a draw-check body field by field; a bad one is a ValidationFailed naming it."""
    if not isinstance(data, dict):
        raise ValidationFailed("the body must be a JSON object", field="body")
    if not data:
        raise ValidationFailed("the body is empty; send a JSON object", field="body")
    unknown = sorted(str(name) for name in set(data) - set(FIELDS))
    if unknown:  # as api/views.py refuses them: a misspelt optional field must not pass unseen
        raise ValidationFailed("is not a field of this request", field=unknown[0][:100])
    for required in ("customer", "amount", "currency", "channel"):
        if data.get(required) is None:
            raise ValidationFailed("is required", field=required)
    customer = text(data["customer"], field="customer", column=Customer._meta.get_field("external_id"))
    amount = money(data["amount"], field="amount", column=_AMOUNT)
    currency = data["currency"]
    if currency != settings.RISKOPS_CURRENCY:  # exactly, as ingestion compares it (api/views.py)
        raise ValidationFailed(f"must be {settings.RISKOPS_CURRENCY}, the book's currency", field="currency")
    channel = text(data["channel"], field="channel", column=DrawCheck._meta.get_field("channel"))
    optional = {}
    for name, column in (("merchant_category", "merchant_category"), ("device_id", "device_id")):
        value = data.get(name)
        optional[name] = "" if value is None else text(value, field=name, column=DrawCheck._meta.get_field(column), required=False)
    return DrawRequest(customer=customer, amount=amount, currency=settings.RISKOPS_CURRENCY, channel=channel, **optional)


def draw_decide(*, access: str, available: Decimal, amount: Decimal, velocity: Velocity, rules: DrawRules) -> DrawOutcome:
    """The rules, pure: every reason that applies, deny over review over allow."""
    codes: list[str] = []
    if access in DENY_ACCESS:
        codes.append(DENY_ACCESS[access])
        available = ZERO
    else:
        if amount > available:
            codes.append("OVER_AVAILABLE")
        if access == Access.LIMITED.value and rules.limited == "review":
            codes.append("ACCESS_LIMITED")
    if velocity.hour_count + 1 > rules.hour_max_count:
        codes.append("VELOCITY_HOUR_COUNT")
    if velocity.hour_amount + amount > rules.hour_max_amount:
        codes.append("VELOCITY_HOUR_AMOUNT")
    if velocity.day_count + 1 > rules.day_max_count:
        codes.append("VELOCITY_DAY_COUNT")
    if velocity.day_amount + amount > rules.day_max_amount:
        codes.append("VELOCITY_DAY_AMOUNT")
    if velocity.device_seen is False:
        codes.append("NEW_DEVICE")
    if velocity.channel_seen is False:
        codes.append("NEW_CHANNEL")
    if any(c not in REVIEW_CODES for c in codes):
        decision = DrawDecision.DENY.value
    elif codes:
        decision = DrawDecision.REVIEW.value
    else:
        decision = DrawDecision.ALLOW.value
    return DrawOutcome(decision, [{"code": c, "text": REASON_TEXTS[c]} for c in codes], max(available, ZERO))


# One statement reads everything the decision needs: the customer, its line, its drawn balance,
# the credit draws it posted in the hold window (`txn_customer_time_idx` range), the active policy
# row (its identity: the parsed body is cached per version), and the aggregates over the
# customer's allowed checks (`drawcheck_customer_time_idx` range): velocity, devices and channels
# seen, and the amounts still held. A single SELECT in autocommit is its own short read-only
# transaction with one snapshot, and costs one round trip instead of nine (BEGIN, SET TRANSACTION
# READ ONLY, four reads, COMMIT): measured on the bench book, the round trips were most of a
# check's time. Portable SQL (SQLite in tests).
_READ_SQL = """
SELECT c.id, l.access, l.limit_amount,
       (SELECT SUM(i.amount_due - i.amount_paid) FROM accounts_repaymentinstallment i
         WHERE i.customer_id = c.id AND i.paid_at IS NULL) AS drawn,
       (SELECT SUM(t.amount) FROM accounts_transaction t
         WHERE t.customer_id = c.id AND t.occurred_at >= %(hold)s AND t.occurred_at <= %(posted_until)s
           AND t.kind = %(credit_draw)s) AS posted,
       p.id, p.version, p.created_at, p.activated_at, p.edited_at,
       v.hour_count, v.hour_amount, v.day_count, v.day_amount, v.last_any, v.last_any_device, v.last_device, v.last_channel,
       v.hold_amount
  FROM accounts_customer c
  LEFT JOIN decisions_creditline l ON l.customer_id = c.id
  LEFT JOIN decisions_policyversion p ON p.state = 'active'
  LEFT JOIN (
    SELECT d.customer_id,
           SUM(CASE WHEN d.checked_at >= %(hour)s THEN 1 ELSE 0 END) AS hour_count,
           SUM(CASE WHEN d.checked_at >= %(hour)s THEN d.amount ELSE 0 END) AS hour_amount,
           SUM(CASE WHEN d.checked_at >= %(day)s THEN 1 ELSE 0 END) AS day_count,
           SUM(CASE WHEN d.checked_at >= %(day)s THEN d.amount ELSE 0 END) AS day_amount,
           MAX(d.checked_at) AS last_any,
           MAX(CASE WHEN d.device_id <> '' THEN d.checked_at END) AS last_any_device,
           MAX(CASE WHEN d.device_id = %(device)s THEN d.checked_at END) AS last_device,
           MAX(CASE WHEN d.channel = %(channel)s THEN d.checked_at END) AS last_channel,
           SUM(CASE WHEN d.checked_at >= %(hold)s THEN d.amount ELSE 0 END) AS hold_amount
      FROM draws_drawcheck d
     WHERE d.customer_id = (SELECT id FROM accounts_customer WHERE external_id = %(customer)s)
       AND d.decision = 'allow' AND d.checked_at >= %(since)s AND d.checked_at <= %(now)s
     GROUP BY d.customer_id
  ) v ON v.customer_id = c.id
 WHERE c.external_id = %(customer)s
"""
_rules_by_version: dict[tuple, DrawRules] = {}


@dataclass(frozen=True)
class _Windows:
    """What one read must cover: the device/channel baseline's look-back and the hold window."""

    lookback_days: int
    hold_hours: int

    @classmethod
    def of(cls, rules: DrawRules) -> _Windows:
        return cls(max(1, rules.new_device_days, rules.new_channel_days), rules.hold_hours)

    def covers(self, needed: _Windows) -> bool:
        # A longer look-back is harmless (the baseline is cut in Python); the hold window is exact.
        return needed.lookback_days <= self.lookback_days and needed.hold_hours == self.hold_hours


# The windows of the last rules used: the next read's (a policy with other windows reads again,
# once, when it is activated).
_last_windows = [_Windows.of(DrawRules())]


@dataclass(frozen=True)
class DrawState:
    """What one read returns: the customer, its line, its drawn balance and holds, the rules."""

    customer_id: int
    access: str
    limit: Decimal
    drawn: Decimal
    held: Decimal
    rules: DrawRules
    velocity: Velocity


def _dec(value: Any) -> Decimal:
    return ZERO if value is None else Decimal(str(value)).quantize(Decimal("0.01"))


def _when(value: Any) -> datetime | None:
    if isinstance(value, str):  # SQLite hands back text
        value = parse_datetime(value)
    if value is not None and timezone.is_naive(value):
        value = timezone.make_aware(value, dt_timezone.utc)
    return value


def _rules(key: tuple) -> DrawRules:
    """The active policy's draw rules, parsed once per version (the same key as `parsed_policy`)."""
    if key not in _rules_by_version:
        _rules_by_version[key] = parsed_policy(PolicyVersion.objects.get(pk=key[0])).draws
    return _rules_by_version[key]


def _read(request: DrawRequest, now: datetime) -> DrawState:
    """Everything the decision needs, in one SELECT; NotFound if the customer is unknown,
    NotFound naming no field if no policy is active."""
    adapt = connection.ops.adapt_datetimefield_value
    params = {
        "customer": request.customer, "device": request.device_id, "channel": request.channel, "now": adapt(now),
        "hour": adapt(now - timedelta(hours=1)), "day": adapt(now - timedelta(days=1)),
        "credit_draw": Transaction.Kind.CREDIT_DRAW.value,
        # A draw may be posted with its sender's clock a little ahead (ingestion allows
        # CLOCK_SKEW): it still releases its hold. Later ones did not exist at `now`.
        "posted_until": adapt(now + CLOCK_SKEW),
    }
    while True:
        windows = _last_windows[0]
        hold_start = now - timedelta(hours=windows.hold_hours)
        params["hold"] = adapt(hold_start)
        params["since"] = adapt(min(now - timedelta(days=windows.lookback_days), hold_start))
        with prepared_cursor() as cursor:  # planned once per connection (riskops/core/prepared.py)
            cursor.execute(_READ_SQL, params)
            row = cursor.fetchone()
        if row is None:
            raise NotFound(f"no customer {request.customer!r}", field="customer")
        if row[5] is None:
            raise NotFound("No active policy version: activate one in the admin.")
        rules = _rules(tuple(row[5:10]))
        needed = _Windows.of(rules)
        _last_windows[0] = needed
        if windows.covers(needed):
            break  # the read covers every rule's window (else read once more with the policy's)
    customer_id, access, limit, drawn, posted = row[0:5]
    (hour_count, hour_amount, day_count, day_amount, last_any, last_any_device, last_device, last_channel, hold_amount) = row[10:19]
    device_since, channel_since = now - timedelta(days=rules.new_device_days), now - timedelta(days=rules.new_channel_days)
    last_any, last_any_device, last_device, last_channel = map(_when, (last_any, last_any_device, last_device, last_channel))
    device_seen = channel_seen = None
    # No baseline, no novelty: only a customer with an allowed check in the window can meet a new one.
    if rules.new_device_days and request.device_id and last_any_device is not None and last_any_device >= device_since:
        device_seen = last_device is not None and last_device >= device_since
    if rules.new_channel_days and last_any is not None and last_any >= channel_since:
        channel_seen = last_channel is not None and last_channel >= channel_since
    velocity = Velocity(
        hour_count=int(hour_count or 0), hour_amount=_dec(hour_amount), day_count=int(day_count or 0), day_amount=_dec(day_amount),
        device_seen=device_seen, channel_seen=channel_seen,
    )
    # Allowed but not yet posted: the window's allowed checks less its posted draws (hold_hours
    # 0 is off: the window is empty, and a check recorded at exactly `now` must not count).
    held = max(ZERO, _dec(hold_amount) - _dec(posted)) if rules.hold_hours else ZERO
    return DrawState(
        customer_id=customer_id, access=access or Access.NOT_OFFERED.value, limit=_dec(limit), drawn=_dec(drawn), held=held,
        rules=rules, velocity=velocity,
    )


def draw_check(*, data: Any, client_ref: str = "", now: datetime | None = None) -> DrawCheck:
    """Answer one draw check and record it; returns the stored (append-only) record.

    Invariants: a bad or unknown field is a ValidationFailed naming it and an unknown customer a
    NotFound, both before anything is written; the decision's reads share one read-only
    transaction (a consistent snapshot, no lock taken); the available amount is net of the holds
    (allowed checks in `draws.hold_hours` less the draws posted in it), so successive allowed
    checks use the limit up before their draws are posted; exactly one DrawCheck row is written
    per answered check, with the hold it subtracted, and it is never updated.
    """
    started = time.perf_counter()
    request = draw_request_parse(data)
    now = now or timezone.now()
    state = _read(request, now)
    available = state.limit - state.drawn - state.held
    outcome = draw_decide(access=state.access, available=available, amount=request.amount, velocity=state.velocity, rules=state.rules)
    # One prepared INSERT (riskops/core/rows.py): the ORM's compiler cost more than the statement.
    # Committed without waiting for the WAL flush unless settings say otherwise: see the module
    # docstring ("Durability of the record").
    check = insert_row(DrawCheck, async_commit=settings.RISKOPS_DRAW_CHECK_ASYNC_COMMIT, values={
        "customer_id": state.customer_id,
        "amount": request.amount,
        "currency": request.currency,
        "channel": request.channel,
        "merchant_category": request.merchant_category,
        "device_id": request.device_id,
        "decision": outcome.decision,
        "reasons": outcome.reasons,
        "available": outcome.available,
        "held": state.held,
        "latency_ms": round((time.perf_counter() - started) * 1000, 3),
        "checked_at": now,
        "client_ref": client_ref[:64],
    })
    # The Prometheus histogram counts the record's INSERT too: what the caller waited for.
    draw_check_observe(decision=outcome.decision, seconds=time.perf_counter() - started)
    return check
