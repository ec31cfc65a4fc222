"""Simulating a draft on the whole book: it writes nothing, and a real activation then does
exactly what it reported (access transitions, exposure, by band, limit moves)."""

from collections import Counter
from decimal import Decimal

import pytest
from django.db.models import Sum

from accounts.seeding.generator import as_of_default
from accounts.services import demo_book_seed
from decisions.models import CreditDecision, CreditLine, CustomerNotice, PolicySimulation, RiskAlert, ScoreSnapshot, SimulationChunk
from decisions.governance.services.policy import policy_activation_approve, policy_activation_request, policy_simulate
from decisions.engine.services.runs import recompute_run_process_inline, recompute_run_start
from decisions.governance.services.simulation import (
    NO_BAND,
    limit_change_bucket,
    limit_change_buckets,
    simulation_chunk_claim,
    simulation_chunk_run,
    simulation_process_inline,
    simulation_resume,
)
from riskops.core.models import AuditEvent
from tests.decisions.policy_factories import edited_draft, frozen_clock, second_admin  # noqa: F401 (fixtures)

pytestmark = pytest.mark.django_db


def _book(customers: int, seed: int) -> None:
    """A seeded book, decided once under the active policy (every customer has a line)."""
    demo_book_seed(customers=customers, seed=seed, as_of=as_of_default(), chunk_size=100)
    run = recompute_run_process_inline(run=recompute_run_start(enqueue=False, chunk_size=100))
    assert run.status == "succeeded"


def _lines() -> dict[int, tuple[str, Decimal, str]]:
    return {cid: (access, limit, band or NO_BAND) for cid, access, limit, band in CreditLine.objects.values_list("customer_id", "access", "limit_amount", "band")}


def _written() -> dict[str, int]:
    return {
        "decisions": CreditDecision.objects.count(), "snapshots": ScoreSnapshot.objects.count(),
        "alerts": RiskAlert.objects.count(), "lines": CreditLine.objects.count(), "notices": CustomerNotice.objects.count(),
    }


def test_the_simulation_matches_what_the_activation_then_does(risk_admin, second_admin, frozen_clock, django_capture_on_commit_callbacks):
    _book(300, seed=61)
    before, written = _lines(), _written()
    draft = edited_draft(actor=risk_admin)

    simulation = simulation_process_inline(simulation=policy_simulate(version=draft, actor=risk_admin, chunk_size=70, enqueue=False))

    # Given the simulation: it succeeded over 5 chunks and wrote no decision, snapshot, alert or line.
    assert simulation.status == "succeeded" and simulation.total_chunks == 5
    assert _written() == written and _lines() == before
    assert written["notices"] > 0  # the book's own decisions wrote some: the count could have moved
    report = simulation.result
    assert report["customers"] == 300 and simulation.done_customers == 300

    # When a second admin approves it, and the full recompute it starts runs (eagerly, on commit).
    policy_activation_request(version=draft, actor=risk_admin)
    with django_capture_on_commit_callbacks(execute=True):
        version, run = policy_activation_approve(version=draft, actor=second_admin)
    run.refresh_from_db()
    assert run.status == "succeeded" and run.policy_version_id == draft.pk
    after = _lines()

    # Then every figure of the report is what the activation did.
    moved = Counter((before[c][0], after[c][0]) for c in before)
    reported = {(a, b): n for a, row in report["transitions"].items() for b, n in row.items() if n}
    assert reported == dict(moved)
    assert sum(1 for c in before if before[c][:2] != after[c][:2]) == report["changed"] > 20
    assert Decimal(report["exposure_now"]) == sum(v[1] for v in before.values())
    assert Decimal(report["exposure_draft"]) == CreditLine.objects.aggregate(s=Sum("limit_amount"))["s"]
    by_band = {}
    for access, limit, band in after.values():
        by_band[band] = by_band.get(band, Decimal("0")) + limit
    assert {b: Decimal(v) for b, v in report["exposure_by_band_draft"].items() if Decimal(v)} == {b: v for b, v in by_band.items() if v}
    assert dict(Counter(v[2] for v in after.values())) == {b: n for b, n in report["bands_draft"].items() if n}
    deltas = [after[c][1] - before[c][1] for c in before]
    assert (report["limit_up"], report["limit_down"], report["limit_same"]) == (
        sum(d > 0 for d in deltas), sum(d < 0 for d in deltas), sum(d == 0 for d in deltas)
    )
    assert {k: n for k, n in report["limit_changes"].items() if n} == dict(Counter(limit_change_bucket(d) for d in deltas))
    # The sample: the biggest moves first, each one real.
    assert 0 < len(report["sample"]) <= 50
    for item in report["sample"]:
        assert (item["access_draft"], Decimal(item["limit_draft"])) == after[item["customer_id"]][:2]
        assert item["external_id"]
    access_moves = [s for s in report["sample"] if s["access_now"] != s["access_draft"]]
    assert report["sample"][: len(access_moves)] == access_moves
    assert AuditEvent.objects.filter(action="policy.simulate", actor=risk_admin).count() == 1


def test_the_rules_it_counts_are_the_rules_that_fire_now_and_after_the_activation(
    risk_admin, second_admin, frozen_clock, monkeypatch, django_capture_on_commit_callbacks
):
    from datetime import timedelta

    from django.utils import timezone

    # Given a freshly decided book and no triage: every rule that fires now is one open alert.
    _book(200, seed=64)
    before = _lines()
    firing_now = Counter(RiskAlert.objects.filter(status="open").values_list("rule", flat=True))
    draft = edited_draft(actor=risk_admin)  # over-borrowing one lender stricter: more hits

    report = simulation_process_inline(simulation=policy_simulate(version=draft, actor=risk_admin, chunk_size=70, enqueue=False)).result

    # The "now" side is the book as it stands.
    assert {r: n for r, n in report["rules_now"].items() if n} == dict(firing_now)
    assert {b: n for b, n in report["bands_now"].items() if n} == dict(Counter(v[2] for v in before.values()))
    by_band_now: dict[str, Decimal] = {}
    for _access, limit, band in before.values():
        by_band_now[band] = by_band_now.get(band, Decimal("0")) + limit
    assert {b: Decimal(v) for b, v in report["exposure_by_band_now"].items() if Decimal(v)} == {b: v for b, v in by_band_now.items() if v}
    assert Decimal(report["exposure_change"]) == Decimal(report["exposure_draft"]) - Decimal(report["exposure_now"])
    assert report["rules_draft"]["OVER_BORROWING"] > report["rules_now"].get("OVER_BORROWING", 0)

    # When the draft is activated a microsecond later (whole-day features: the same inputs),
    # every alert the activation's recompute sees firing is stamped with that instant.
    later = frozen_clock + timedelta(microseconds=1)
    monkeypatch.setattr(timezone, "now", lambda: later)
    policy_activation_request(version=draft, actor=risk_admin)
    with django_capture_on_commit_callbacks(execute=True):
        policy_activation_approve(version=draft, actor=second_admin)

    # Then the "draft" side is what fired.
    fired = Counter(RiskAlert.objects.filter(status="open", last_seen_at=later).values_list("rule", flat=True))
    assert {r: n for r, n in report["rules_draft"].items() if n} == dict(fired)


def test_a_lost_chunk_is_reclaimed_once_its_claim_is_stale(risk_admin, settings):
    _book(40, seed=62)
    draft = edited_draft(actor=risk_admin)
    simulation = policy_simulate(version=draft, actor=risk_admin, chunk_size=20, enqueue=False)
    first, second = simulation.chunks.order_by("index")

    # A worker claims the first chunk and dies: the chunk stays running under its claim.
    assert simulation_chunk_claim(chunk_id=first.pk) is True
    assert simulation_chunk_run(chunk_id=first.pk).status == "running"  # a fresh claim: not ours
    simulation_chunk_run(chunk_id=second.pk)
    simulation.refresh_from_db()
    assert simulation.status == "running" and simulation.done_customers == 20

    # Once the claim is older than the stale limit, another worker takes it over and finishes.
    settings.RISKOPS_CHUNK_STALE_SECONDS = -1
    simulation_resume(simulation=simulation, enqueue=False)
    assert simulation_chunk_run(chunk_id=first.pk).status == "done"
    simulation.refresh_from_db()
    first.refresh_from_db()
    assert simulation.status == "succeeded" and simulation.result["customers"] == 40
    assert first.attempts == 2


def test_a_chunk_run_twice_is_counted_once(risk_admin):
    _book(30, seed=63)
    simulation = policy_simulate(version=edited_draft(actor=risk_admin), actor=risk_admin, chunk_size=30, enqueue=False)
    (chunk,) = simulation.chunks.all()
    simulation_chunk_run(chunk_id=chunk.pk)
    simulation_chunk_run(chunk_id=chunk.pk)
    simulation.refresh_from_db()
    assert simulation.done_customers == 30 and simulation.result["customers"] == 30
    assert SimulationChunk.objects.get(pk=chunk.pk).attempts == 1


def test_the_tasks_run_the_chunks_after_commit(risk_admin, django_capture_on_commit_callbacks):
    _book(25, seed=64)
    with django_capture_on_commit_callbacks(execute=True):
        simulation = policy_simulate(version=edited_draft(actor=risk_admin), actor=risk_admin, chunk_size=10)
    simulation.refresh_from_db()
    assert simulation.status == "succeeded" and simulation.total_chunks == 3 and simulation.result["customers"] == 25


def test_a_failing_chunk_fails_the_simulation_with_its_error(risk_admin, monkeypatch):
    _book(20, seed=65)
    simulation = policy_simulate(version=edited_draft(actor=risk_admin), actor=risk_admin, chunk_size=10, enqueue=False)
    from decisions.governance.services import simulation as module

    monkeypatch.setattr(module, "plan_customer", lambda **kw: (_ for _ in ()).throw(ZeroDivisionError("boom")))
    simulation = simulation_process_inline(simulation=simulation)
    assert simulation.status == "failed" and "boom" in simulation.error
    assert simulation.result == {}


def test_an_empty_book_simulates_to_zeros(risk_admin):
    simulation = policy_simulate(version=edited_draft(actor=risk_admin), actor=risk_admin, enqueue=False)
    assert simulation.status == "succeeded" and simulation.total_chunks == 0
    assert simulation.result["customers"] == 0 and simulation.result["exposure_now"] == "0.00"


@pytest.mark.parametrize(
    "delta, bucket",
    [("0", "0"), ("0.01", "0 … +100"), ("100", "0 … +100"), ("100.01", "+100 … +500"), ("2000", "+1,000 … +2,000"),
     ("2000.5", "> +2,000"), ("-100", "-100 … 0"), ("-150", "-500 … -100"), ("-5000", "< -2,000")],
)
def test_limit_change_buckets(delta, bucket):
    assert limit_change_bucket(Decimal(delta)) == bucket
    assert bucket in limit_change_buckets()


def test_bench_simulation_refuses_without_postgres_and_a_broker(settings):
    from django.core.management import CommandError, call_command

    settings.CELERY_BROKER_URL = ""  # as on a machine with neither (its PostgreSQL twin is in tests/integration)
    with pytest.raises(CommandError, match="needs DATABASE_URL"):
        call_command("bench_simulation")
