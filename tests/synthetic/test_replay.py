"""Daily replay of the synthetic book: history through the ingestion services, nightly runs on the
day's clock, a fixed point on every replayed day, the oracle table out of the engine's sight."""

from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import Customer, Transaction
from accounts.seeding.generator import as_of_default
from decisions.models import BookDailyStat, CreditDecision, RecomputeRun, ScoreSnapshot
from decisions.engine.services.recompute import decision_recompute
from decisions.engine.services.runs import recompute_run_process_inline, recompute_run_start
from riskops.core.models import AuditEvent
from synthetic.life import monthly_hazard
from synthetic.models import SyntheticHazard
from synthetic.replay import SIMULATOR_USERNAME, day_end, demo_book_seed_with_history

pytestmark = pytest.mark.django_db
DAYS = 12


@pytest.fixture
def replayed():
    today = as_of_default().date()
    _, report = demo_book_seed_with_history(customers=40, seed=5, history_days=DAYS, today=today, verify_fixed_point=True)
    return today, report


def test_every_replayed_day_has_its_nightly_run_on_that_days_clock(replayed):
    today, report = replayed
    runs = RecomputeRun.objects.filter(trigger="nightly").order_by("night")
    assert report.days == DAYS
    assert [r.night for r in runs] == [today - timedelta(days=DAYS - n) for n in range(DAYS)]
    for run in runs:
        assert run.as_of == day_end(run.night) and run.status == "succeeded"
        # Every snapshot and decision of the night is dated by the night's clock, not today's.
        assert set(ScoreSnapshot.objects.filter(run=run).values_list("computed_at", flat=True)) <= {run.as_of}
        assert set(CreditDecision.objects.filter(run=run).values_list("decided_at", flat=True)) <= {run.as_of}


def test_a_rerun_on_every_replayed_day_writes_no_decision(replayed):
    _, report = replayed
    assert report.decisions > 0
    assert report.rerun_decisions == 0
    reruns = RecomputeRun.objects.filter(trigger="manual", as_of__isnull=False)
    assert reruns.count() == DAYS and not CreditDecision.objects.filter(run__in=reruns).exists()


def test_the_days_events_went_in_through_ingestion_and_dated_in_the_past(replayed):
    today, report = replayed
    assert report.events > 0
    replayed_events = Transaction.objects.filter(external_id__contains="-L")
    assert replayed_events.exists()
    start = day_end(today - timedelta(days=DAYS + 1))
    assert all(start < t < day_end(today - timedelta(days=1)) for t in replayed_events.values_list("occurred_at", flat=True))


def test_history_shows_in_the_book_figures_and_the_score_history(replayed):
    today, _ = replayed
    days = set(BookDailyStat.objects.filter(metric="customers_by_access").values_list("day", flat=True))
    assert len(days) >= DAYS  # one snapshot of the book a replayed day
    customer = Customer.objects.filter(score_snapshots__isnull=False).first()
    assert ScoreSnapshot.objects.filter(customer=customer).values("computed_at").distinct().count() >= DAYS


def test_a_replayed_night_after_the_days_events_says_new_data_arrived(replayed):
    # The events went in with recomputes deferred; the night's run found their change marks.
    texts = {
        (r.get("text"), tuple(r.get("events", ())))
        for reasons in CreditDecision.objects.filter(run__trigger="nightly").values_list("reasons", flat=True)
        for r in reasons if r.get("code") == "WHAT_CHANGED"
    }
    assert any(text == "New data arrived." and events for text, events in texts)


def test_the_simulated_analyst_is_named_as_such_in_the_audit_trail(replayed):
    events = AuditEvent.objects.filter(action__in=["alert.dismiss", "alert.confirm"])
    assert events.exists()
    assert set(events.values_list("actor__username", flat=True)) == {SIMULATOR_USERNAME}


def test_hazards_are_recorded_monthly_and_follow_the_latent_risk(replayed):
    rows = list(SyntheticHazard.objects.values_list("month", "latent_risk", "hazard"))
    assert rows and all(month.day == 1 for month, _, _ in rows)
    assert all(0 < h < 1 for _, _, h in rows)
    # Riskier customers have higher hazards (the same month, no recent behaviour: monotone).
    assert monthly_hazard(risk=1, late_recently=False, spiked_recently=False, highly_utilised=False) > monthly_hazard(
        risk=0, late_recently=False, spiked_recently=False, highly_utilised=False
    )


def test_replayed_consents_carry_evidence_that_fits_their_channel(replayed):
    from accounts.consent_evidence import evidence_problems
    from accounts.models import Consent, ConsentEvent

    records = [*Consent.objects.values_list("channel", "evidence"), *ConsentEvent.objects.values_list("channel", "evidence")]
    assert len(records) > 40
    assert [(c, e) for c, e in records if evidence_problems(c, e)] == []
    assert not ConsentEvent.objects.filter(evidence__device="synthetic").exists()


def test_the_same_seed_replays_the_same_events():
    """Replayed twice from nothing (the first rolled back), a seed gives the same events."""
    from django.db import transaction

    today = as_of_default().date()

    def replay() -> list[tuple]:
        demo_book_seed_with_history(customers=15, seed=6, history_days=5, today=today)
        return sorted(Transaction.objects.filter(external_id__contains="-L").values_list("external_id", "customer__external_id", "amount", "occurred_at"))

    with transaction.atomic():
        first = replay()
        transaction.set_rollback(True)
    assert first and not Customer.objects.exists()
    assert replay() == first


def test_the_engine_never_reads_the_oracle_table(replayed):
    customer = Customer.objects.first()
    table = SyntheticHazard._meta.db_table
    with CaptureQueriesContext(connection) as queries:
        decision_recompute(customer=customer, trigger="manual")
        run = recompute_run_start(trigger="manual", enqueue=False)
        recompute_run_process_inline(run=run)
    assert len(queries) > 10
    assert not [q["sql"] for q in queries if table in q["sql"]]


@pytest.mark.parametrize("value", ["-1", "1101", "ten", "1.5"])
def test_bad_history_days_is_refused_naming_the_argument_and_writes_nothing(value):
    with pytest.raises(CommandError, match="--history-days"):
        call_command("seed_demo", "--customers", "5", "--history-days", value, "--no-progress")
    assert not Customer.objects.exists()


def test_history_days_zero_keeps_todays_book():
    call_command("seed_demo", "--customers", "5", "--seed", "8", "--history-days", "0", "--no-progress")
    assert Customer.objects.count() == 5
    assert not RecomputeRun.objects.exists() and not SyntheticHazard.objects.exists()


@pytest.mark.slow
def test_bench_replay_times_fresh_databases_and_reports_the_figures(capsys):
    call_command("bench_replay", "--runs", "1", "--customers", "8", "--history-days", "3")
    out = capsys.readouterr().out
    assert "run 1: 8 customers × 3 days in" in out
    assert "Replayed 3 days" in out and "Engine over time:" in out
    assert "target met in 1 of 1 runs" in out


def test_after_the_replay_an_earlier_day_cannot_be_recomputed_behind_later_ones(replayed):
    """The engine's own state (limits, cycles, open alerts) moves forward only: a replayed day is
    recomputed on that day (a fixed point, above), and a past day after later ones is refused."""
    from riskops.core.exceptions import ValidationFailed

    today, _ = replayed
    decisions, runs = CreditDecision.objects.count(), RecomputeRun.objects.count()
    with pytest.raises(ValidationFailed) as refused:
        recompute_run_start(trigger="manual", enqueue=False, as_of=day_end(today - timedelta(days=6)))
    assert refused.value.field == "as_of" and "only in order" in refused.value.message
    assert (CreditDecision.objects.count(), RecomputeRun.objects.count()) == (decisions, runs)  # nothing written
    # the latest replayed day still can (a fixed point: nothing written)
    run = recompute_run_start(trigger="manual", enqueue=False, as_of=day_end(today - timedelta(days=1)))
    recompute_run_process_inline(run=run)
    assert CreditDecision.objects.count() == decisions


def test_an_as_of_in_the_future_is_refused_naming_it_and_writes_nothing():
    tomorrow = (as_of_default() + timedelta(days=1)).date().isoformat()
    with pytest.raises(CommandError, match="--as-of .* is in the future"):
        call_command("seed_demo", "--customers", "5", "--as-of", tomorrow, "--history-days", "3", "--no-progress")
    assert not Customer.objects.exists()


def test_before_the_last_days_the_nightly_run_comes_only_at_month_ends():
    """The bench book's schedule (--daily-runs-last-days): month-end runs, then every night."""
    today = as_of_default().date()
    _, report = demo_book_seed_with_history(customers=10, seed=9, history_days=40, today=today, daily_runs_last_days=3)
    nights = sorted(RecomputeRun.objects.filter(trigger="nightly").values_list("night", flat=True))
    replayed = [today - timedelta(days=n) for n in range(40, 0, -1)]
    expected = [d for d in replayed if d >= today - timedelta(days=3) or (d + timedelta(days=1)).day == 1]
    assert report.days == 40 and nights == expected
    # the events of every day went in, run or not, and the figures exist only for nights that ran
    assert Transaction.objects.filter(external_id__contains="-L").dates("occurred_at", "day").count() > len(expected)
    assert set(BookDailyStat.objects.filter(metric="customers_by_access").values_list("day", flat=True)) == set(expected)


@pytest.mark.parametrize(
    "options, field",
    [
        ({"triage_share": 1.5}, "triage_share"),
        ({"triage_share": float("nan")}, "triage_share"),
        ({"daily_runs_last_days": 10}, "daily_runs_last_days"),
        ({"daily_runs_last_days": -1}, "daily_runs_last_days"),
        ({"today": as_of_default().date() + timedelta(days=1)}, "today"),
    ],
)
def test_a_bad_option_is_refused_before_anything_is_written(options, field):
    from riskops.core.exceptions import ValidationFailed

    arguments = dict(customers=5, seed=11, history_days=5, today=as_of_default().date()) | options
    with pytest.raises(ValidationFailed) as refused:
        demo_book_seed_with_history(**arguments)
    assert refused.value.field == field
    assert not Customer.objects.exists() and not AuditEvent.objects.filter(action="seed.demo_book").exists()


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--triage-share", "2"], "--triage-share must be between 0 and 1"),
        (["--history-days", "5", "--daily-runs-last-days", "9"], "--daily-runs-last-days must be between 0 and --history-days"),
    ],
)
def test_the_command_names_the_bad_option_and_writes_nothing(argv, message):
    with pytest.raises(CommandError, match=message):
        call_command("seed_demo", "--customers", "5", "--seed", "12", *argv, "--no-progress")
    assert not Customer.objects.exists()
