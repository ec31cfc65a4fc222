"""Simulating a draft policy on the whole book: what would move where, writing no decision.

A `PolicySimulation` is chunked like a recompute run (`SimulationChunk`: consecutive customer
ids), so the worker processes share it and a lost worker loses one chunk. Each chunk reads its
customers with `load_chunk(lock=False)` — no row lock, no line created, the change marks left for
the real recompute — at the simulation's clock (`as_of`, the same for every chunk), plans each
one with `plan_customer` under the draft (and under the baseline, the version active when the
simulation started, for the rule counts "now"), and compares the draft's outcome with the
customer's line as it is (`CreditLine`: what a full recompute under the draft would change it
from). Nothing but the chunk's own row and the simulation's progress is written; the plans are
unsaved objects that are dropped.

A chunk's life: pending → running (a compare-and-set claim committed before the work, so a dead
worker leaves a claim that ages and can be taken over after RISKOPS_CHUNK_STALE_SECONDS) → done
(its `partial`: counts and sums, money as strings) or failed. When the last chunk settles the
partials are summed into `result`, in chunk order, so the report does not depend on which worker
finished first.
"""

from __future__ import annotations

import logging
from collections import Counter
from datetime import datetime
from decimal import Decimal
from functools import lru_cache
from typing import Any

from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Customer
from riskops.core.audit import audit_record
from riskops.core.exceptions import Conflict, NotFound, ValidationFailed

from decisions.models import Access, PolicySimulation, PolicyVersion, SimulationChunk, Trigger
from decisions.engine.planning import plan_customer
from decisions.engine.services.inputs import load_chunk
from decisions.engine.policy_reads import active_policy, body_stamp, parsed_policy
from .guards import require_draft, require_perm
from decisions.engine.dispatch import task
from decisions.engine.services.runs import chunk_stale_before

DEFAULT_CHUNK_SIZE = 2000
SAMPLE_SIZE = 50
ERROR_MAX = 2000
ZERO = Decimal("0.00")
NO_BAND = "-"  # customers without a score (no scoring consent)
# Limit change buckets (currency units), symmetric around "no change"; the labels are numbers, the
# same in every language.
LIMIT_CHANGE_EDGES = (100, 500, 1000, 2000)

logger = logging.getLogger(__name__)


@lru_cache(maxsize=1)
def limit_change_buckets() -> tuple[str, ...]:
    e = LIMIT_CHANGE_EDGES
    down = [f"< -{e[-1]:,}"] + [f"-{e[i]:,} … -{e[i - 1]:,}" for i in range(len(e) - 1, 0, -1)] + [f"-{e[0]:,} … 0"]
    up = [f"0 … +{e[0]:,}"] + [f"+{e[i - 1]:,} … +{e[i]:,}" for i in range(1, len(e))] + [f"> +{e[-1]:,}"]
    return (*down, "0", *up)


def limit_change_bucket(delta: Decimal) -> str:
    """The bucket of a limit change; an edge belongs to the bucket nearer zero (-100 is in
    "-100 … 0", +100 in "0 … +100")."""
    labels = limit_change_buckets()
    n = len(LIMIT_CHANGE_EDGES)
    if delta == 0:
        return "0"
    magnitude = abs(delta)
    index = next((i for i, edge in enumerate(LIMIT_CHANGE_EDGES) if magnitude <= edge), n)
    # index 0 → nearest zero; labels run from the most negative to the most positive.
    return labels[n - index] if delta < 0 else labels[n + 2 + index]


# --- start -------------------------------------------------------------------------------------


def simulation_start(*, version: PolicyVersion, actor, chunk_size: int = DEFAULT_CHUNK_SIZE, enqueue: bool = True) -> PolicySimulation:
    """Create a simulation of a draft over the whole book, split into chunks of consecutive ids.

    Drafts only (Conflict); a body that does not parse is refused (PolicyInvalid). The baseline
    is the version active now; `body_edited_at` records which body is simulated, so an edit
    afterwards makes it stale. With `enqueue`, one Celery task per chunk is sent after commit;
    without, the caller runs them (`simulation_process_inline`). Audited (policy.simulate)."""

    if chunk_size < 1 or chunk_size > 50_000:
        raise ValidationFailed(_("The chunk size must be between 1 and 50,000."), field="chunk_size")
    with transaction.atomic():
        version = PolicyVersion.objects.select_for_update().filter(pk=version.pk).first()
        if version is None:
            raise NotFound(_("No such policy version."), field="version")
        require_draft(version)
        parsed_policy(version)  # PolicyInvalid now rather than in every chunk
        baseline, _policy = active_policy()
        now = timezone.now()
        ids = list(Customer.objects.order_by("pk").values_list("pk", flat=True))
        simulation = PolicySimulation.objects.create(
            policy_version=version, baseline_version=baseline, body_edited_at=body_stamp(version), as_of=now,
            requested_by=actor, chunk_size=chunk_size, total_customers=len(ids),
            total_chunks=(len(ids) + chunk_size - 1) // chunk_size,
            status=PolicySimulation.Status.RUNNING if ids else PolicySimulation.Status.SUCCEEDED,
            started_at=now, finished_at=None if ids else now, result={} if ids else _total([], simulation_meta=None),
        )
        chunks = SimulationChunk.objects.bulk_create(
            [
                SimulationChunk(simulation=simulation, index=n, first_customer_id=part[0], last_customer_id=part[-1], size=len(part))
                for n, part in enumerate(ids[i : i + chunk_size] for i in range(0, len(ids), chunk_size))
            ]
        )
        audit_record(
            actor=actor, action="policy.simulate", target=version,
            after={
                "simulation": simulation.pk, "version": version.version, "baseline_version": baseline.version,
                "customers": len(ids), "chunks": len(chunks),
            },
        )
        if enqueue:
            simulation_chunks_dispatch(chunk_ids=[c.pk for c in chunks])
    return simulation


def simulation_chunks_dispatch(*, chunk_ids: list[int]) -> None:
    """One `simulate_chunk` task per chunk, after commit (a worker must see the rows it is sent)."""
    simulate_chunk = task("simulate_chunk")  # by name: tasks import this module

    if chunk_ids:
        ids = list(chunk_ids)
        transaction.on_commit(lambda: [simulate_chunk.delay(chunk_id=pk) for pk in ids])


# --- one chunk ---------------------------------------------------------------------------------


def simulation_chunk_claim(*, chunk_id: int, now: datetime | None = None) -> bool:
    """Mark a chunk `running` for this attempt; False when it is not ours to run.

    Compare-and-set in a short transaction of its own, committed before the work: it changes
    exactly one row when the chunk is pending, or running under a claim older than
    RISKOPS_CHUNK_STALE_SECONDS (its worker died), and none when it is done or running under a
    fresh claim (a redelivered copy of a task still being worked on)."""
    now = now or timezone.now()
    with transaction.atomic():
        if not SimulationChunk.objects.filter(pk=chunk_id).exists():
            raise NotFound(f"no simulation chunk {chunk_id}", field="chunk_id")
        claimable = Q(status="pending") | Q(
            status="running", claimed_at__lt=chunk_stale_before(now)
        )
        return (
            SimulationChunk.objects.filter(claimable, pk=chunk_id).update(status="running", claimed_at=now, attempts=F("attempts") + 1)
            == 1
        )


def simulation_chunk_run(*, chunk_id: int) -> SimulationChunk:
    """Claim one chunk, score it, store its partial result; settle the simulation after the last.

    Safe to run twice: a chunk done or running under a fresh claim is not claimed and comes back
    untouched, and the write re-checks under the chunk's row lock that it is not done yet. The
    reads run outside any transaction and lock nothing, so live recomputes are never held up."""
    if not simulation_chunk_claim(chunk_id=chunk_id):
        return SimulationChunk.objects.get(pk=chunk_id)
    chunk = SimulationChunk.objects.select_related("simulation__policy_version", "simulation__baseline_version").get(pk=chunk_id)
    simulation = chunk.simulation
    if body_stamp(simulation.policy_version) != simulation.body_edited_at:
        raise Conflict(_("The draft was edited while it was being simulated: simulate it again."), field="simulation")
    partial = chunk_simulate(
        first_id=chunk.first_customer_id, last_id=chunk.last_customer_id, simulation=simulation,
    )
    with transaction.atomic():
        chunk = SimulationChunk.objects.select_for_update().get(pk=chunk_id)
        if chunk.status == "done":
            return chunk
        chunk.status, chunk.partial, chunk.finished_at, chunk.error = "done", partial, timezone.now(), ""
        chunk.save(update_fields=["status", "partial", "finished_at", "error"])
        PolicySimulation.objects.filter(pk=chunk.simulation_id).update(done_customers=F("done_customers") + chunk.size)
        _simulation_finish_if_complete(chunk.simulation_id)
    return chunk


def simulation_chunk_record_failure(*, chunk_id: int, error: str, final: bool) -> None:
    """Record a failed attempt in its own transaction. `final` (no retry coming) marks the chunk
    failed, which fails the simulation once the others settle; otherwise it goes back to pending."""
    with transaction.atomic():
        chunk = SimulationChunk.objects.select_for_update().get(pk=chunk_id)
        if chunk.status == "done":
            return
        chunk.error = error[:ERROR_MAX]
        chunk.status = "failed" if final else "pending"
        chunk.save(update_fields=["error", "status"])
        _simulation_finish_if_complete(chunk.simulation_id)


def _simulation_finish_if_complete(simulation_id: int) -> None:
    # The simulation's row lock orders concurrent last chunks: exactly one sees nothing left.
    simulation = PolicySimulation.objects.select_for_update().get(pk=simulation_id)
    if simulation.finished_at is not None:
        return
    chunks = simulation.chunks.order_by("index")
    if chunks.filter(status__in=["pending", "running"]).exists():
        return
    failed = chunks.filter(status="failed").values_list("index", "error").first()
    if failed:
        simulation.status = PolicySimulation.Status.FAILED
        simulation.error = f"chunk {failed[0]}: {failed[1]}"[:ERROR_MAX]
    else:
        simulation.status = PolicySimulation.Status.SUCCEEDED
        simulation.result = _total(list(chunks.values_list("partial", flat=True)), simulation_meta=simulation)
    simulation.finished_at = timezone.now()
    simulation.save(update_fields=["status", "error", "result", "finished_at"])


def simulation_process_inline(*, simulation: PolicySimulation) -> PolicySimulation:
    """Run every chunk not done in this process (tests, eager mode, a CLI without a broker). A
    chunk that raises is recorded as failed and the next one goes on."""
    for chunk_id in simulation.chunks.exclude(status="done").order_by("index").values_list("pk", flat=True):
        try:
            simulation_chunk_run(chunk_id=chunk_id)
        except Exception as exc:  # recorded on the chunk and the simulation, not swallowed
            logger.exception("simulation chunk %s failed inline", chunk_id)
            simulation_chunk_record_failure(chunk_id=chunk_id, error=repr(exc), final=True)
    simulation.refresh_from_db()
    return simulation


def simulation_resume(*, simulation: PolicySimulation, actor=None, enqueue: bool = True) -> PolicySimulation:
    """Send every chunk not done back to the workers: pending ones whose message was lost,
    running ones whose worker died (they are claimed again only once their claim is stale) and
    failed ones (back to pending). A simulation that failed runs again. Audited (policy.simulate,
    `resumed`). A person needs the right to simulate (as for starting one); `actor=None` is a
    system job."""
    if actor is not None:
        require_perm(actor, "decisions.change_policyversion")
    with transaction.atomic():
        simulation = PolicySimulation.objects.select_for_update().select_related("policy_version").get(pk=simulation.pk)
        if simulation.status == PolicySimulation.Status.SUCCEEDED:
            raise Conflict(_("This simulation has finished: there is nothing to resume."), field="simulation")
        chunks = simulation.chunks.exclude(status="done")
        chunks.filter(status="failed").update(status="pending")
        before = {"status": simulation.status}
        simulation.status, simulation.finished_at, simulation.error = PolicySimulation.Status.RUNNING, None, ""
        simulation.save(update_fields=["status", "finished_at", "error"])
        audit_record(
            actor=actor, action="policy.simulate", target=simulation.policy_version, before=before,
            after={"simulation": simulation.pk, "resumed": True, "chunks": chunks.count()},
        )
        if enqueue:
            simulation_chunks_dispatch(chunk_ids=list(chunks.order_by("index").values_list("pk", flat=True)))
    return simulation


# --- scoring a chunk, and the sums ---------------------------------------------------------------


def _money(value: Decimal) -> str:
    return str(value.quantize(ZERO))


def _sample_key(item: dict) -> tuple:
    # Biggest moves first: an access change before any limit change, then the largest limit move.
    return (item["access_now"] == item["access_draft"], -abs(Decimal(item["delta"])), item["customer_id"])


def chunk_simulate(*, first_id: int, last_id: int, simulation: PolicySimulation) -> dict:
    """Score one chunk under the draft and the baseline at the simulation's clock; return its
    partial result (JSON-safe: counts as ints, money as strings). Writes nothing."""
    draft_version = simulation.policy_version
    draft = parsed_policy(draft_version)
    baseline_version = simulation.baseline_version
    baseline = parsed_policy(baseline_version) if baseline_version is not None else None
    now = simulation.as_of
    contexts = load_chunk(first_id=first_id, last_id=last_id, now=now, lock=False)
    transitions: dict[str, Counter] = {}
    bands_now: Counter = Counter()
    bands_draft: Counter = Counter()
    exposure_band_now: dict[str, Decimal] = {}
    exposure_band_draft: dict[str, Decimal] = {}
    changes: Counter = Counter()
    rules_now: Counter = Counter()
    rules_draft: Counter = Counter()
    up_sum = down_sum = exposure_now = exposure_draft = ZERO
    up = down = same = changed = 0
    sample: list[dict] = []
    for context in contexts:
        plan = plan_customer(context=context, policy=draft, version=draft_version, trigger=Trigger.MANUAL, now=now, run=None)
        line, outcome = context.line, plan.outcome
        access_now, limit_now, band_now = line.access, line.limit_amount, line.band or NO_BAND
        access_draft, limit_draft, band_draft = outcome.access, outcome.limit, plan.snapshot.band or NO_BAND
        transitions.setdefault(access_now, Counter())[access_draft] += 1
        bands_now[band_now] += 1
        bands_draft[band_draft] += 1
        exposure_now += limit_now
        exposure_draft += limit_draft
        exposure_band_now[band_now] = exposure_band_now.get(band_now, ZERO) + limit_now
        exposure_band_draft[band_draft] = exposure_band_draft.get(band_draft, ZERO) + limit_draft
        delta = limit_draft - limit_now
        changes[limit_change_bucket(delta)] += 1
        if delta > 0:
            up, up_sum = up + 1, up_sum + delta
        elif delta < 0:
            down, down_sum = down + 1, down_sum + delta
        else:
            same += 1
        rules_draft.update(h.rule for h in plan.hits)
        if baseline is not None:
            base = plan_customer(context=context, policy=baseline, version=baseline_version, trigger=Trigger.MANUAL, now=now, run=None)
            rules_now.update(h.rule for h in base.hits)
        if access_now != access_draft or delta != 0:
            changed += 1
            sample.append({
                "customer_id": context.customer_id, "access_now": access_now, "access_draft": access_draft,
                "limit_now": _money(limit_now), "limit_draft": _money(limit_draft), "delta": _money(delta),
                "band_now": band_now, "band_draft": band_draft, "score_draft": plan.snapshot.score,
            })
    sample = sorted(sample, key=_sample_key)[:SAMPLE_SIZE]
    external = dict(Customer.objects.filter(pk__in=[s["customer_id"] for s in sample]).values_list("pk", "external_id"))
    for item in sample:
        item["external_id"] = external.get(item["customer_id"], "")
    return {
        "customers": len(contexts),
        "changed": changed,
        "transitions": {a: dict(c) for a, c in transitions.items()},
        "bands_now": dict(bands_now),
        "bands_draft": dict(bands_draft),
        "exposure_now": _money(exposure_now),
        "exposure_draft": _money(exposure_draft),
        "exposure_by_band_now": {b: _money(v) for b, v in exposure_band_now.items()},
        "exposure_by_band_draft": {b: _money(v) for b, v in exposure_band_draft.items()},
        "limit_changes": dict(changes),
        "limit_up": up, "limit_down": down, "limit_same": same,
        "limit_up_sum": _money(up_sum), "limit_down_sum": _money(down_sum),
        "rules_now": dict(rules_now),
        "rules_draft": dict(rules_draft),
        "sample": sample,
    }


def _add_counts(into: dict, part: dict) -> None:
    for key, n in part.items():
        into[key] = into.get(key, 0) + n


def _add_money(into: dict, part: dict) -> None:
    for key, value in part.items():
        into[key] = _money(Decimal(into.get(key, "0")) + Decimal(value))


def _total(partials: list[dict], *, simulation_meta: PolicySimulation | None) -> dict:
    """The sum of the chunks' partial results, in chunk order; every key present even for an
    empty book, every access state and band listed (zeros included) so the charts line up."""
    bands = [*(b for b in ("A", "B", "C", "D", "E")), NO_BAND]
    total: dict[str, Any] = {
        "customers": 0, "changed": 0,
        "transitions": {a: {b: 0 for b in Access.values} for a in Access.values},
        "bands_now": {b: 0 for b in bands}, "bands_draft": {b: 0 for b in bands},
        "exposure_now": "0.00", "exposure_draft": "0.00",
        "exposure_by_band_now": {b: "0.00" for b in bands}, "exposure_by_band_draft": {b: "0.00" for b in bands},
        "limit_changes": {label: 0 for label in limit_change_buckets()},
        "limit_up": 0, "limit_down": 0, "limit_same": 0, "limit_up_sum": "0.00", "limit_down_sum": "0.00",
        "rules_now": {}, "rules_draft": {},
        "sample": [],
    }
    for part in partials:
        for key in ("customers", "changed", "limit_up", "limit_down", "limit_same"):
            total[key] += part[key]
        for key in ("exposure_now", "exposure_draft", "limit_up_sum", "limit_down_sum"):
            total[key] = _money(Decimal(total[key]) + Decimal(part[key]))
        for access, row in part["transitions"].items():
            _add_counts(total["transitions"].setdefault(access, {}), row)
        for key in ("bands_now", "bands_draft", "limit_changes", "rules_now", "rules_draft"):
            _add_counts(total[key], part[key])
        for key in ("exposure_by_band_now", "exposure_by_band_draft"):
            _add_money(total[key], part[key])
        total["sample"].extend(part["sample"])
    total["sample"] = sorted(total["sample"], key=_sample_key)[:SAMPLE_SIZE]
    total["exposure_change"] = _money(Decimal(total["exposure_draft"]) - Decimal(total["exposure_now"]))
    if simulation_meta is not None:
        total["seconds"] = round((timezone.now() - simulation_meta.started_at).total_seconds(), 1) if simulation_meta.started_at else None
    return total


def simulation_progress(*, simulation: PolicySimulation, now: datetime | None = None) -> dict:
    """Progress for the simulation page's live bar (one query). A running simulation with no chunk
    claimed or finished for longer than RISKOPS_CHUNK_STALE_SECONDS is `stalled`: its messages or
    its worker were lost, and a risk admin can resume it."""
    from django.db.models import Count, Max

    now = now or timezone.now()
    total = simulation.total_customers or 0
    chunks = simulation.chunks.aggregate(
        done=Count("pk", filter=Q(status="done")), claimed=Max("claimed_at"), finished=Max("finished_at")
    )
    last = max([t for t in (chunks["claimed"], chunks["finished"], simulation.started_at) if t is not None], default=None)
    running = simulation.status in (PolicySimulation.Status.PENDING, PolicySimulation.Status.RUNNING)
    stalled = running and last is not None and last < chunk_stale_before(now)
    return {
        "id": simulation.pk,
        "status": simulation.status,
        "status_label": str(simulation.get_status_display()),
        "total": total,
        "done": simulation.done_customers,
        "percent": round(100 * simulation.done_customers / total, 1) if total else 100.0,
        "finished": simulation.finished_at is not None,
        "chunks_done": chunks["done"],
        "chunks": simulation.total_chunks,
        "stalled": stalled,
        "resumable": stalled or simulation.status == PolicySimulation.Status.FAILED,
    }
