"""Full-book recomputes as `RecomputeRun`s split into chunks, and the hourly expiry sweep.

A chunk's life: `pending` (created, and sent to the broker: `dispatched_at`) → `running` (a
worker claimed it: `claimed_at`, `attempts` + 1, in a short compare-and-set transaction of its
own) → `done` or `failed`, in the transaction that did the work. The claim is committed before
the work starts, and it is a lease: it names its holder (`claim_token`, the Celery task id, the
same across the task's retries) and holds until `lease_until`, which a heartbeat thread renews
while the chunk is worked on (`RISKOPS_CHUNK_LEASE_SECONDS`, renewed every third of it). A worker
that dies mid-chunk stops renewing: its lease lapses within seconds, and the recovery sweep
(`services/recovery.py`, every RISKOPS_SWEEP_SECONDS) sends the chunk again. A retry of the same
task (after an OperationalError, when the database came back) takes back its own claim at once.

Exactly once, whoever holds the claim: the work transaction locks the chunk's credit lines first
(the per-customer lock), then the chunk row, and writes only if the chunk is not done and the
claim is still its own; otherwise it rolls back. A copy that lost its lease to another holder
therefore writes nothing, and the heartbeat (an UPDATE of the chunk row from another connection)
is never blocked by the work transaction until its last moments.
"""

from __future__ import annotations

import logging
import threading
import uuid
from contextlib import contextmanager
from datetime import date, datetime, timedelta, timezone as dt_timezone
from typing import Callable, Iterator

from django.conf import settings
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.db.models import F, Max, Q, Sum
from django.utils import timezone

from accounts.models import Customer
from riskops.core.audit import audit_record
from riskops.core.exceptions import Conflict, NotFound, ValidationFailed

from decisions.models import CreditLine, RecomputeChunk, RecomputeRun, RunOrigin, Trigger
from decisions.engine.dispatch import task
from decisions.engine.policy_reads import active_policy
from .recompute import chunk_plans_write, decisions_digest

DEFAULT_CHUNK_SIZE = 2000
ERROR_MAX = 2000

logger = logging.getLogger(__name__)


def chunk_stale_before(now: datetime) -> datetime:
    """A run with no chunk claimed or finished since this has stalled (RISKOPS_CHUNK_STALE_SECONDS);
    a simulation's chunk claimed before it lost its worker."""
    return now - timedelta(seconds=settings.RISKOPS_CHUNK_STALE_SECONDS)


def lease_seconds() -> int:
    return settings.RISKOPS_CHUNK_LEASE_SECONDS


def lease_lapsed(now: datetime) -> Q:
    """A `running` chunk matching this lost its holder: its lease ran out (a claim from before
    leases existed counts from its `claimed_at`)."""
    return Q(status=RecomputeChunk.Status.RUNNING) & (
        Q(lease_until__lt=now) | Q(lease_until__isnull=True, claimed_at__lt=now - timedelta(seconds=lease_seconds()))
    )


@contextmanager
def lease_heartbeat(*, chunk_id: int, token: str) -> Iterator[None]:
    """Renew the chunk's lease every third of its length while the block runs (PostgreSQL only).

    A thread with a connection of its own, so the renewal commits while the work transaction is
    still open; it renews only a lease that is still this holder's and the chunk still running.
    A renewal that fails (the database restarting) is logged and tried again at the next beat: a
    lease that lapses meanwhile is taken over by the sweep, and the work transaction's own check
    stops this holder from writing. SQLite (tests, the demo) has one writer at a time and no
    workers to lose: no heartbeat."""
    if connection.vendor != "postgresql":
        yield
        return
    stop = threading.Event()

    def beat() -> None:
        from django.db import connections

        try:
            while not stop.wait(max(lease_seconds() / 3, 0.2)):
                try:
                    RecomputeChunk.objects.filter(
                        pk=chunk_id, claim_token=token, status=RecomputeChunk.Status.RUNNING
                    ).update(lease_until=timezone.now() + timedelta(seconds=lease_seconds()))
                except DatabaseError:
                    logger.warning("chunk %s: lease not renewed (database unavailable), trying again", chunk_id)
                    connections["default"].close()
        finally:
            connections.close_all()  # this thread's own connection

    thread = threading.Thread(target=beat, name=f"lease-{chunk_id}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=lease_seconds())


def chunks_dispatch(*, chunk_ids: list[int]) -> None:
    """Send one `recompute_chunk` task per chunk after commit (never from inside the transaction:
    a worker could pick the message up before the rows it names are visible)."""
    recompute_chunk = task("recompute_chunk")  # by name: tasks import this module

    if chunk_ids:
        ids = list(chunk_ids)
        transaction.on_commit(lambda: [recompute_chunk.delay(chunk_id=pk) for pk in ids])


def recompute_run_start(
    *,
    trigger: str = Trigger.MANUAL,
    actor=None,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    enqueue: bool = True,
    night: date | None = None,
    as_of: datetime | None = None,
    origin: str = "",
) -> RecomputeRun:
    """Create a run over the whole book, split into chunks of consecutive customer ids.

    With `enqueue`, one Celery task per chunk is sent after commit; without, the caller runs the
    chunks itself (the CLI does, to draw a progress bar in eager mode).

    A nightly run is keyed by its night (`night`, default today in UTC), unique in the database:
    when beat's message is delivered twice (acks_late after a lost worker) the second delivery
    returns the night's existing run and starts nothing.

    `as_of` fixes the run's clock (a replayed day's end): every chunk computes as of it, and the
    run's night defaults to its date. Without it every chunk reads the time when it runs. A clock
    behind the book's latest computation is refused: the engine's own state (each line's limit,
    cycle and statement period, the open alerts and their suppressions) moves forward only, so a
    past day recomputed after later ones would be judged against a later state, not its own.

    `origin` says what started the run when the trigger does not (`RunOrigin`): a policy
    activation passes it; a run with `as_of` is a replay's.
    """
    if as_of is not None and (as_of.tzinfo is None or as_of > timezone.now()):
        raise ValidationFailed("as_of must be an aware time, not in the future", field="as_of")
    if chunk_size < 1 or chunk_size > 50_000:
        raise ValidationFailed("chunk_size must be between 1 and 50,000", field="chunk_size")
    if trigger not in Trigger.values:
        raise ValidationFailed(f"unknown trigger {trigger!r}", field="trigger")
    origin = origin or (RunOrigin.REPLAY if as_of is not None else RunOrigin.PERSON)
    if origin not in RunOrigin.values:
        raise ValidationFailed(f"unknown origin {origin!r}", field="origin")
    if trigger == Trigger.NIGHTLY:
        night = night or (as_of or timezone.now()).astimezone(dt_timezone.utc).date()
    elif night is not None:
        raise ValidationFailed("only a nightly run is for a night", field="night")
    if night is not None and (existing := RecomputeRun.objects.filter(night=night).first()) is not None:
        return existing
    if as_of is not None:
        # Each line's last snapshot is its latest computation (one join over the lines).
        latest = CreditLine.objects.aggregate(latest=Max("last_snapshot__computed_at"))["latest"]
        if latest is not None and as_of < latest:
            raise ValidationFailed(
                f"{as_of.isoformat()} is before the book's latest computation ({latest.isoformat()}): "
                "a day can be recomputed only in order, never after later days",
                field="as_of",
            )
    try:
        return _run_create(
            trigger=trigger, actor=actor, chunk_size=chunk_size, enqueue=enqueue, night=night, as_of=as_of, origin=origin
        )
    except IntegrityError:
        # Two deliveries raced past the check above: the unique night let exactly one insert in.
        existing = RecomputeRun.objects.filter(night=night).first() if night is not None else None
        if existing is None:
            raise
        return existing


def _run_create(
    *, trigger: str, actor, chunk_size: int, enqueue: bool, night: date | None, as_of: datetime | None, origin: str
) -> RecomputeRun:
    with transaction.atomic():
        version, _ = active_policy()
        now = timezone.now()
        # A replayed day's run covers the customers onboarded by then, not later ones.
        customers = Customer.objects.filter(onboarded_at__lte=as_of) if as_of is not None else Customer.objects.all()
        ids = list(customers.order_by("pk").values_list("pk", flat=True))
        run = RecomputeRun.objects.create(
            trigger=trigger, origin=origin, policy_version=version, requested_by=actor, chunk_size=chunk_size, night=night,
            as_of=as_of,
            total_customers=len(ids), total_chunks=(len(ids) + chunk_size - 1) // chunk_size,
            status=RecomputeRun.Status.RUNNING if ids else RecomputeRun.Status.SUCCEEDED,
            started_at=now, finished_at=None if ids else now,
        )
        chunks = RecomputeChunk.objects.bulk_create(
            [
                RecomputeChunk(
                    run=run, index=n, first_customer_id=part[0], last_customer_id=part[-1], size=len(part),
                    dispatched_at=now if enqueue else None,
                )
                for n, part in enumerate(ids[i : i + chunk_size] for i in range(0, len(ids), chunk_size))
            ]
        )
        audit_record(
            actor=actor, action="recompute.start", target=run,
            after={
                "trigger": trigger, "customers": len(ids), "chunks": len(chunks), "policy_version": version.version,
                **({"night": night.isoformat()} if night else {}),
                **({"origin": origin} if origin else {}),
            },
        )
        if enqueue:
            chunks_dispatch(chunk_ids=[c.pk for c in chunks])
    return run


def chunk_claim(*, chunk_id: int, token: str | None = None, now: datetime | None = None) -> bool:
    """Take the chunk's lease for this attempt (holder `token`); False when it is not ours to run.

    A compare-and-set in a short transaction of its own, committed before the work starts (so the
    claim survives the worker): it changes exactly one row when the chunk is pending, failed (a
    retry), running under a lease that lapsed (its worker died), or running under this holder's
    own lease (a retry after a transient error: the failure could not be recorded while the
    database was down), and none when it is done or running under someone else's live lease (a
    copy of a task that is still being worked on). A failed chunk taken up again stops counting as
    failed and reopens its run until it settles again. Every claim counts an attempt.
    """
    token = token or uuid.uuid4().hex  # no holder named: a new one, who never holds the claim already
    now = now or timezone.now()
    with transaction.atomic():
        chunk = RecomputeChunk.objects.filter(pk=chunk_id).values("run_id", "size", "status").first()
        if chunk is None:
            raise NotFound(f"no recompute chunk {chunk_id}", field="chunk_id")
        claim = dict(
            status=RecomputeChunk.Status.RUNNING, claimed_at=now, lease_until=now + timedelta(seconds=lease_seconds()),
            claim_token=token, attempts=F("attempts") + 1,
        )
        if chunk["status"] == RecomputeChunk.Status.FAILED:
            if RecomputeChunk.objects.filter(pk=chunk_id, status=RecomputeChunk.Status.FAILED).update(**claim) != 1:
                return False
            RecomputeRun.objects.filter(pk=chunk["run_id"]).update(
                failed_customers=F("failed_customers") - chunk["size"], status=RecomputeRun.Status.RUNNING, finished_at=None
            )
            return True
        claimable = (
            Q(status=RecomputeChunk.Status.PENDING)
            | lease_lapsed(now)
            | Q(status=RecomputeChunk.Status.RUNNING, claim_token=token)
        )
        return RecomputeChunk.objects.filter(claimable, pk=chunk_id).update(**claim) == 1


def _claim_still_held(chunk_id: int, token: str) -> RecomputeChunk | None:
    """Lock the chunk row (after its lines: see the module docstring) and return it when this
    holder may write it: not done, and the claim still its own."""
    chunk = RecomputeChunk.objects.select_for_update().get(pk=chunk_id)
    if chunk.status == RecomputeChunk.Status.DONE or chunk.claim_token != token:
        return None
    return chunk


def chunk_recompute(*, chunk_id: int, token: str | None = None) -> RecomputeChunk:
    """Claim one chunk (holder `token`: the task id; a fresh one when not given), then recompute
    it under a renewed lease. Safe to run twice: a chunk done or leased to someone else is not
    claimed and comes back untouched; in the work transaction, once the chunk's lines are locked,
    the chunk row is locked and checked, and a chunk done or claimed away meanwhile rolls the
    work back, so a redelivered, retried or superseded task never writes twice (and the (run,
    customer) unique constraints on snapshots and decisions would refuse it if it tried)."""
    token = token or uuid.uuid4().hex
    if not chunk_claim(chunk_id=chunk_id, token=token):
        return RecomputeChunk.objects.get(pk=chunk_id)
    with lease_heartbeat(chunk_id=chunk_id, token=token), transaction.atomic():
        chunk = RecomputeChunk.objects.select_related("run__policy_version").get(pk=chunk_id)
        # The one clock of this chunk's computation, passed down from here.
        now = chunk.run.as_of or timezone.now()
        held: list[RecomputeChunk] = []

        def still_ours() -> bool:
            found = _claim_still_held(chunk_id, token)
            held.extend([found] if found else [])
            return found is not None

        written = chunk_plans_write(
            first_id=chunk.first_customer_id, last_id=chunk.last_customer_id, run=chunk.run, now=now, before_write=still_ours
        )
        if written is None:  # done or taken over by another holder while this one read
            transaction.set_rollback(True)  # the marks it took go back; the chunk is read below
        else:
            chunk = _chunk_done(held=held[0], written=written)
    return chunk if written is not None else RecomputeChunk.objects.get(pk=chunk_id)


def _chunk_done(*, held: RecomputeChunk, written: tuple[int, list]) -> RecomputeChunk:
    """Inside the work transaction, the chunk row locked and still this holder's: mark it done,
    audit what it wrote, and finish the run if it was the last."""
    customers, decisions = written
    chunk = held
    # Failed by a concurrent copy of this task since our claim: it is done now, not failed.
    was_failed = chunk.status == RecomputeChunk.Status.FAILED
    chunk.status, chunk.finished_at, chunk.error, chunk.lease_until = RecomputeChunk.Status.DONE, timezone.now(), "", None
    chunk.save(update_fields=["status", "finished_at", "error", "lease_until"])
    if was_failed:
        RecomputeRun.objects.filter(pk=chunk.run_id).update(failed_customers=F("failed_customers") - chunk.size)
    # One audit event per chunk, not per customer: the payload vouches for every decision row.
    audit_record(
        actor=None, action="recompute.chunk", target=chunk,
        after={
            "run": chunk.run_id, "index": chunk.index, "customers": customers,
            "decision_ids": sorted(d.pk for d in decisions), "digest": decisions_digest(decisions),
        },
    )
    _run_finish_if_complete(chunk.run_id)
    return chunk


def chunk_record_failure(*, chunk_id: int, error: str, final: bool, token: str | None = None) -> None:
    """Record a failed attempt in its own transaction, so the failure outlives the rollback.

    The attempt was already counted by its claim. `final` (no retry coming) marks the chunk
    failed and counts its customers as failed on the run; otherwise it goes back to pending for
    the retry to claim. With `token`, only the holder's own claim is touched: a holder whose
    lease lapsed and was taken over leaves the new holder's chunk alone. (When the database is
    down this cannot be written at all; the retry then takes back its own claim.)"""
    with transaction.atomic():
        chunk = RecomputeChunk.objects.select_for_update().get(pk=chunk_id)
        if chunk.status == RecomputeChunk.Status.DONE:
            return
        if token is not None and chunk.claim_token not in ("", token):
            return
        first_final_failure = final and chunk.status != RecomputeChunk.Status.FAILED
        chunk.error = error[:ERROR_MAX]
        chunk.status = RecomputeChunk.Status.FAILED if final else RecomputeChunk.Status.PENDING
        chunk.lease_until = None
        chunk.save(update_fields=["error", "status", "lease_until"])
        if first_final_failure:
            RecomputeRun.objects.filter(pk=chunk.run_id).update(failed_customers=F("failed_customers") + chunk.size)
            audit_record(actor=None, action="recompute.chunk_failed", target=chunk, after={"error": chunk.error, "attempts": chunk.attempts})
        _run_finish_if_complete(chunk.run_id)


def _run_finish_if_complete(run_id: int) -> None:
    # The run row lock orders concurrent last chunks: exactly one of them sees nothing left.
    # A failed chunk retried after the run finished settles the run's status again.
    run = RecomputeRun.objects.select_for_update().get(pk=run_id)
    if run.chunks.filter(status__in=[RecomputeChunk.Status.PENDING, RecomputeChunk.Status.RUNNING]).exists():
        return
    failed = run.chunks.filter(status=RecomputeChunk.Status.FAILED).exists()
    status = (
        RecomputeRun.Status.SUCCEEDED if not failed
        else RecomputeRun.Status.FAILED if run.done_customers == 0
        else RecomputeRun.Status.PARTIAL
    )
    if run.finished_at is not None and run.status == status:
        return
    run.status = status
    run.finished_at = timezone.now()
    run.save(update_fields=["status", "finished_at"])
    audit_record(
        actor=None, action="recompute.finish", target=run,
        after={"status": run.status, "done": run.done_customers, "failed": run.failed_customers},
    )
    # The overview's daily figures follow the run (after commit, so the refresh sees its rows).
    # A run on a clock of its own (a replayed night) leaves them to whoever set the clock: the
    # replay writes that day's figures as of that night; today's are none of its business.
    if run.as_of is None:
        task("refresh_book_stats").delay_on_commit()


def recompute_run_process_inline(*, run: RecomputeRun, progress: Callable[[int], None] | None = None) -> RecomputeRun:
    """Run every chunk not done in this process (eager mode, tests, the CLI without a broker).

    A chunk that raises is recorded exactly as on a worker that gives up (failed, with the error;
    its attempt counted by the claim) and the next chunk goes on, so the run ends `partial`
    instead of staying `running` forever. A chunk running under someone else's fresh claim is
    left to them. `progress` is called with the size of every chunk that settled (done or failed).
    """
    for chunk_id, size in run.chunks.exclude(status=RecomputeChunk.Status.DONE).order_by("index").values_list("pk", "size"):
        token = uuid.uuid4().hex
        try:
            status = chunk_recompute(chunk_id=chunk_id, token=token).status
        except Exception as exc:  # recorded, not swallowed: the run and its chunk carry the error
            logger.exception("recompute chunk %s failed inline", chunk_id)
            chunk_record_failure(chunk_id=chunk_id, error=repr(exc), final=True, token=token)
            status = RecomputeChunk.Status.FAILED
        if progress and status in (RecomputeChunk.Status.DONE, RecomputeChunk.Status.FAILED):
            progress(size)
    run.refresh_from_db()
    return run


def recompute_run_resume(*, run_id: int, actor=None, enqueue: bool = True) -> RecomputeRun:
    """Take up a run again: every chunk not done goes back to work.

    For a run left `running` (lost messages, a dead worker, an interrupted CLI) or one that
    finished `partial`/`failed`. Failed chunks go back to pending and stop counting as failed;
    the run is `running` again until its chunks settle. With `enqueue`, the chunks not done are
    sent to the workers after commit (a chunk still running under a fresh claim ignores the
    copy); without, the caller runs them (`recompute_run_process_inline`). A run that succeeded
    has nothing to resume and is refused, as is an unknown run.
    """
    with transaction.atomic():
        if not RecomputeRun.objects.filter(pk=run_id).exists():
            raise NotFound(f"no recompute run {run_id}", field="run")
        # Chunks before the run, the order a chunk's own transaction locks them in.
        list(RecomputeChunk.objects.select_for_update().filter(run_id=run_id).exclude(status=RecomputeChunk.Status.DONE).order_by("pk"))
        run = RecomputeRun.objects.select_for_update().get(pk=run_id)
        if run.status == RecomputeRun.Status.SUCCEEDED:
            raise Conflict(f"run {run_id} already finished ({run.status}): nothing to resume", field="run")
        chunks = run.chunks.exclude(status=RecomputeChunk.Status.DONE)
        failed = chunks.filter(status=RecomputeChunk.Status.FAILED)
        retried = failed.aggregate(customers=Sum("size"))["customers"] or 0
        before = {"status": run.status, "failed": run.failed_customers}
        now = timezone.now()
        failed.update(status=RecomputeChunk.Status.PENDING)
        if enqueue:
            chunks.update(dispatched_at=now)
        run.status, run.finished_at = RecomputeRun.Status.RUNNING, None
        run.failed_customers -= retried
        run.save(update_fields=["status", "finished_at", "failed_customers"])
        chunk_ids = list(chunks.order_by("index").values_list("pk", flat=True))
        audit_record(
            actor=actor, action="recompute.resume", target=run, before=before,
            after={"status": run.status, "failed": run.failed_customers, "chunks": len(chunk_ids), "enqueue": enqueue},
        )
        if enqueue:
            chunks_dispatch(chunk_ids=chunk_ids)
        _run_finish_if_complete(run.pk)  # nothing left to do: settle it now
    run.refresh_from_db()
    return run
