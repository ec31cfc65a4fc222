"""Model monitoring (modelling/services/monitoring.py): PSI and CSI against a frozen reference,
levels, alerts once per incident, idempotent nights, acknowledgement; the counting in SQL against
metrics.bin_counts; the PSI invariants."""

from datetime import timedelta

import numpy as np
import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone
from hypothesis import given, settings as hypothesis_settings, strategies as st

from decisions.engine.policy import FEATURE_NAMES
from decisions.models import PolicyVersion, ScoreSnapshot, Trigger
from modelling import metrics
from modelling.book_distribution import book_distribution
from modelling.drift import SCORE, AlertHistory, new_incidents
from modelling.models import ModelAlert, ModelHealth, ModelReference, ScorecardDevelopment
from modelling.services.monitoring import model_alert_acknowledge, model_monitor
from modelling.validation import PSI_ALERT, PSI_WARNING, monitoring_reference, psi_level
from riskops.core.exceptions import Conflict, NotFound, NotPermitted, ValidationFailed
from riskops.core.models import AuditEvent
from tests.factories import CustomerFactory, PolicyVersionFactory
from tests.modelling.monitoring_factories import NIGHT, book_customers, feature_frame, features, nightly, scored_night

pytestmark = pytest.mark.django_db

NEXT = NIGHT + timedelta(days=1)
CUSTOMERS = 500


@pytest.fixture
def people():
    return book_customers(CUSTOMERS)


@pytest.fixture
def first_night(people):
    """Policy v1 (no development): the first night monitored freezes the book as its reference."""
    scored_night(people, day=NIGHT, seed=1)
    return model_monitor(as_of=NIGHT)


def audits(action: str) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=action).order_by("id"))


# --- the reference ------------------------------------------------------------------------------


def test_a_hand_set_policy_is_compared_with_the_book_of_its_first_night(first_night, people):
    reference = ModelReference.objects.get()
    assert reference.source == ModelReference.Source.BOOK and reference.as_of == NIGHT
    assert reference.policy_version.version == 1
    assert first_night.reference_frozen
    # Against itself: every PSI is 0 and the night is stable
    assert first_night.figures.score_psi == 0 and set(first_night.figures.csi.values()) == {0}
    assert first_night.figures.rows == reference.reference["rows"] == CUSTOMERS
    assert len(reference.reference["score_edges"]) >= 5  # deciles of the night's scores
    assert set(reference.reference["features"]) == set(FEATURE_NAMES)
    assert ModelHealth.objects.get().level == "stable"


def test_the_v1_reference_is_frozen_once(first_night, people):
    frozen = ModelReference.objects.get()
    # when later nights are monitored, on a moved book too
    scored_night(people, day=NEXT, seed=2, shift=2.0)
    later = model_monitor(as_of=NEXT)
    scored_night(people, day=NEXT + timedelta(days=1), seed=3)
    model_monitor(as_of=NEXT + timedelta(days=1))
    # then they are compared with the first night's book, which did not change
    again = ModelReference.objects.get()
    assert ModelReference.objects.count() == 1
    assert (again.reference, again.frozen_at, again.as_of) == (frozen.reference, frozen.frozen_at, NIGHT)
    assert not later.reference_frozen and later.figures.score_psi > PSI_ALERT


def test_a_developed_version_is_compared_with_its_development_reference(people):
    # Given an active version with a development whose training rows are the stable population
    version = PolicyVersionFactory(active=True)
    rng = np.random.default_rng(11)
    frame = feature_frame([features(rng, 0.0) for _ in range(2000)])
    from decisions.engine.policy_reads import parsed_policy
    from modelling.scoring_frame import policy_scores

    policy = parsed_policy(version)
    scores = policy_scores(policy, frame)
    edges = {name: [float(b.below) for b in card.bins[:-1]] for name, card in policy.features.items()}
    reference = monitoring_reference(frame, scores, edges)
    ScorecardDevelopment.objects.create(
        policy_version=version, sample_digest={}, sample_sha256="0" * 64, report={}, report_sha256="0" * 64,
        scorecard_sha256="0" * 64, reference=reference, created_at=timezone.now(), validated_at=timezone.now(),
    )
    # when the book is monitored the first time (a drifted book)
    scored_night(people, day=NIGHT, seed=1, shift=2.0)
    result = model_monitor(as_of=NIGHT)
    # then the development's reference is frozen as it is, and the drift is measured against it
    frozen = ModelReference.objects.get(policy_version=version)
    assert frozen.source == ModelReference.Source.DEVELOPMENT and frozen.reference == reference
    assert result.figures.score_psi >= PSI_ALERT
    assert ModelAlert.objects.filter(policy_version=version, metric=SCORE).exists()


def test_snapshots_under_another_version_or_unscored_are_not_the_book(first_night, people):
    # Given, the next night, snapshots under a retired version and unscored ones (no consent)
    other = PolicyVersionFactory(retired=True)
    ScoreSnapshot.objects.bulk_create(
        [ScoreSnapshot(customer=c, policy_version=other, computed_at=nightly(NEXT), trigger=Trigger.NIGHTLY, score=1, band="E",
                       features={"bureau_score": 1}) for c in people[:100]]
        + [ScoreSnapshot(customer=c, policy_version=PolicyVersion.objects.get(version=1), computed_at=nightly(NEXT),
                         trigger=Trigger.NIGHTLY, score=None, band="", features={}) for c in people[100:200]]
    )
    # then the night's book is still everyone's latest scored snapshot under v1: the first night's
    result = model_monitor(as_of=NEXT)
    assert result.figures.rows == CUSTOMERS and result.figures.score_psi == 0


# --- levels and alerts --------------------------------------------------------------------------


def test_a_stable_book_raises_no_alert(first_night, people):
    scored_night(people, day=NEXT, seed=2)  # the same population, drawn again
    result = model_monitor(as_of=NEXT)
    assert result.figures.score_psi < PSI_WARNING
    assert result.figures.level == "stable" and result.written
    assert not ModelAlert.objects.exists() and not audits("model_alert.raise")


def test_a_drifted_book_raises_an_alert_audited(first_night, people):
    scored_night(people, day=NEXT, seed=2, shift=2.0)
    result = model_monitor(as_of=NEXT)
    night = ModelHealth.objects.get(day=NEXT)
    assert night.level == "alert" and night.score_psi >= PSI_ALERT
    score_alert = ModelAlert.objects.get(metric=SCORE)
    assert score_alert.status == ModelAlert.Status.OPEN and score_alert.value == night.score_psi
    assert score_alert.health == night and score_alert.level == "alert"
    # each feature that moved that far raises its own; those that did not, none
    moved = {name for name, value in night.csi.items() if value >= PSI_ALERT}
    assert moved and set(ModelAlert.objects.exclude(metric=SCORE).values_list("metric", flat=True)) == moved
    assert {a.metric for a in result.alerts} == moved | {SCORE}
    raised = audits("model_alert.raise")
    assert len(raised) == len(moved) + 1
    assert {e.after["metric"] for e in raised} == moved | {SCORE}
    monitor = audits("model.monitor")[-1]
    assert monitor.target_id == str(night.pk)
    assert monitor.after["score_psi"] == night.score_psi and monitor.after["level"] == "alert"
    assert monitor.after["csi"] == night.csi and monitor.after["rows"] == CUSTOMERS


def test_a_warning_between_the_levels_raises_no_alert(first_night, people):
    scored_night(people, day=NEXT, seed=2, shift=0.4)
    result = model_monitor(as_of=NEXT)
    assert PSI_WARNING <= result.figures.score_psi < PSI_ALERT
    assert max(result.figures.csi.values()) < PSI_ALERT
    assert ModelHealth.objects.get(day=NEXT).level == "warning"
    assert not ModelAlert.objects.exists()


def test_a_second_run_of_the_same_night_changes_nothing(first_night, people):
    scored_night(people, day=NEXT, seed=2, shift=2.0)
    model_monitor(as_of=NEXT)
    night = ModelHealth.objects.get(day=NEXT)
    alerts, events = ModelAlert.objects.count(), AuditEvent.objects.count()
    # when the same night is monitored again
    again = model_monitor(as_of=NEXT, now=timezone.now() + timedelta(hours=1))
    # then nothing is written: no row changed, no second alert, no audit event
    assert not again.written and again.alerts == []
    assert ModelHealth.objects.get(day=NEXT).computed_at == night.computed_at
    assert ModelAlert.objects.count() == alerts and AuditEvent.objects.count() == events


def test_a_second_run_that_finds_the_night_changed_updates_its_row(first_night, people):
    scored_night(people, day=NEXT, seed=2)
    model_monitor(as_of=NEXT)
    # a later recompute that same day (events) moved the book
    ScoreSnapshot.objects.filter(computed_at=nightly(NEXT)).update(computed_at=nightly(NEXT) - timedelta(hours=1))
    scored_night(people, day=NEXT, seed=3, shift=2.0)
    again = model_monitor(as_of=NEXT)
    assert again.written and ModelHealth.objects.filter(day=NEXT).count() == 1
    assert ModelHealth.objects.get(day=NEXT).level == "alert"


def test_an_alert_is_raised_once_per_incident(first_night, people, risk_admin):
    scored_night(people, day=NEXT, seed=2, shift=2.0)
    model_monitor(as_of=NEXT)
    score_alert = ModelAlert.objects.get(metric=SCORE)
    # still drifted the next night, alert open: no second alert
    day3 = NEXT + timedelta(days=1)
    scored_night(people, day=day3, seed=3, shift=2.0)
    assert [a.metric for a in model_monitor(as_of=day3).alerts] == []
    # acknowledged, still drifted: the same incident, not raised again
    model_alert_acknowledge(alert=score_alert, actor=risk_admin, note="Known: the new partner's customers.")
    day4 = day3 + timedelta(days=1)
    scored_night(people, day=day4, seed=4, shift=2.0)
    assert SCORE not in [a.metric for a in model_monitor(as_of=day4).alerts]
    # back to stable, then drifted again: a new incident
    day5, day6 = day4 + timedelta(days=1), day4 + timedelta(days=2)
    scored_night(people, day=day5, seed=5)
    model_monitor(as_of=day5)
    scored_night(people, day=day6, seed=6, shift=2.0)
    assert SCORE in [a.metric for a in model_monitor(as_of=day6).alerts]
    assert ModelAlert.objects.filter(metric=SCORE).count() == 2
    assert ModelAlert.objects.filter(metric=SCORE, status=ModelAlert.Status.OPEN).count() == 1


def test_the_database_keeps_one_open_alert_per_version_and_metric(first_night):
    from django.db import IntegrityError, transaction

    night = ModelHealth.objects.get()
    ModelAlert.objects.create(policy_version=night.policy_version, health=night, metric=SCORE, value=0.3, raised_at=timezone.now())
    with pytest.raises(IntegrityError), transaction.atomic():
        ModelAlert.objects.create(policy_version=night.policy_version, health=night, metric=SCORE, value=0.4, raised_at=timezone.now())


def test_new_incidents_rule():
    tonight = {SCORE: 0.3, "utilisation": 0.26, "bureau_score": 0.2}
    assert new_incidents(tonight, AlertHistory()) == [SCORE, "utilisation"]
    assert new_incidents(tonight, AlertHistory(open_metrics=frozenset({SCORE}))) == ["utilisation"]
    assert new_incidents(tonight, AlertHistory(raised_tonight=frozenset({"utilisation"}))) == [SCORE]
    # the previous night was at the level too, with an alert raised for it: the same incident
    continuing = AlertHistory(ever_raised=frozenset({SCORE}), previous_night={SCORE: 0.27, "utilisation": 0.05})
    assert new_incidents(tonight, continuing) == ["utilisation"]
    # at the level before, but never raised (say, monitoring of the feature began tonight): raised
    assert new_incidents(tonight, AlertHistory(previous_night={SCORE: 0.3})) == [SCORE, "utilisation"]
    assert new_incidents({SCORE: PSI_ALERT}, AlertHistory()) == [SCORE]  # the level itself raises


# --- refusals and edges -------------------------------------------------------------------------


def test_a_night_in_the_future_is_refused(people):
    tomorrow = timezone.now().date() + timedelta(days=2)
    with pytest.raises(ValidationFailed) as exc:
        model_monitor(as_of=tomorrow)
    assert exc.value.field == "as_of"
    assert not ModelHealth.objects.exists() and not ModelReference.objects.exists()


def test_a_book_with_no_scored_customer_is_not_measured(people):
    result = model_monitor(as_of=NIGHT)
    assert result.figures is None and not result.written
    assert not ModelReference.objects.exists() and not ModelHealth.objects.exists() and not audits("model.monitor")


def test_no_active_version_is_not_found():
    PolicyVersion.objects.update(state=PolicyVersion.State.RETIRED)
    with pytest.raises(NotFound):
        model_monitor(as_of=NIGHT)


def test_snapshots_older_than_the_window_are_not_the_book(people):
    scored_night(people, day=NIGHT - timedelta(days=40), seed=1)
    assert model_monitor(as_of=NIGHT).figures is None


def test_monitoring_reads_the_book_in_a_bounded_number_of_queries(first_night, people, django_assert_max_num_queries):
    # one aggregate read of the book, whatever its size; writes: the night, the audit event
    scored_night(people, day=NEXT, seed=2)
    with django_assert_max_num_queries(14):
        model_monitor(as_of=NEXT)


# --- acknowledgement ----------------------------------------------------------------------------


@pytest.fixture
def open_alert(first_night, people):
    scored_night(people, day=NEXT, seed=2, shift=2.0)
    model_monitor(as_of=NEXT)
    return ModelAlert.objects.get(metric=SCORE)


def test_acknowledging_needs_a_note(open_alert, risk_admin):
    for note in ("", "   "):
        with pytest.raises(ValidationFailed) as exc:
            model_alert_acknowledge(alert=open_alert, actor=risk_admin, note=note)
        assert exc.value.field == "note"
    with pytest.raises(ValidationFailed):
        model_alert_acknowledge(alert=open_alert, actor=risk_admin, note="x" * 2001)
    open_alert.refresh_from_db()
    assert open_alert.status == ModelAlert.Status.OPEN and not audits("model_alert.acknowledge")


@pytest.mark.parametrize("role", ["analyst", "compliance"])
def test_acknowledging_needs_a_risk_admin(open_alert, make_user, role):
    with pytest.raises(NotPermitted):
        model_alert_acknowledge(alert=open_alert, actor=make_user("someone", role), note="seen")
    open_alert.refresh_from_db()
    assert open_alert.status == ModelAlert.Status.OPEN and not audits("model_alert.acknowledge")


def test_acknowledging_is_audited_and_happens_once(open_alert, risk_admin, make_user):
    done = model_alert_acknowledge(alert=open_alert, actor=risk_admin, note="  Partner launch; recalibration planned.  ")
    assert done.status == ModelAlert.Status.ACKNOWLEDGED and done.acknowledged_by == risk_admin
    assert done.note == "Partner launch; recalibration planned." and done.acknowledged_at is not None
    (event,) = audits("model_alert.acknowledge")
    assert event.actor_id == risk_admin.pk and event.target_id == str(open_alert.pk)
    assert event.before == {"status": "open"} and event.after["note"] == done.note
    with pytest.raises(Conflict):
        model_alert_acknowledge(alert=open_alert, actor=make_user("other", "risk_admin"), note="me too")


# --- the command and the task -------------------------------------------------------------------


def test_the_command_prints_the_figures(first_night, people, capsys):
    scored_night(people, day=NEXT, seed=2, shift=2.0)
    call_command("model_monitor", "--as-of", NEXT.isoformat())
    out = capsys.readouterr().out
    night = ModelHealth.objects.get(day=NEXT)
    assert f"Policy v1 as of {NEXT.isoformat()}: {CUSTOMERS:,} customers" in out
    score_line = next(line for line in out.splitlines() if line.startswith("score (PSI)"))
    assert score_line.split()[2:] == [f"{night.score_psi:.4f}", "alert:", "not", "the", "population", "the", "model", "was", "developed", "on"]
    assert "utilisation" in out and "Model alert raised: score" in out
    # a second run says it changed nothing
    call_command("model_monitor", "--as-of", NEXT.isoformat())
    assert "unchanged since the last run of this night" in capsys.readouterr().out


@pytest.mark.parametrize("value", ["2026-13-01", "yesterday"])
def test_the_command_refuses_a_bad_date(value):
    with pytest.raises(CommandError, match="--as-of"):
        call_command("model_monitor", "--as-of", value)


def test_the_command_refuses_a_future_night():
    with pytest.raises(CommandError, match="--as-of: .* is in the future"):
        call_command("model_monitor", "--as-of", (timezone.now().date() + timedelta(days=3)).isoformat())


def test_the_nightly_task_is_scheduled_after_the_outcomes(settings):
    from modelling.tasks import monitor_model

    entry = settings.CELERY_BEAT_SCHEDULE["nightly-model-monitor"]
    outcomes = settings.CELERY_BEAT_SCHEDULE["nightly-outcomes"]
    assert entry["task"] == monitor_model.name == "modelling.tasks.monitor_model"
    assert (min(entry["schedule"].hour), min(entry["schedule"].minute)) == (4, 30)
    assert (min(outcomes["schedule"].hour), min(outcomes["schedule"].minute)) < (4, 30)


def test_the_task_monitors_today(people):
    from modelling.tasks import monitor_model

    today = timezone.now().date()
    scored_night(people, day=today, seed=1)
    ScoreSnapshot.objects.update(computed_at=timezone.now() - timedelta(minutes=1))
    payload = monitor_model.delay().get()
    assert payload["as_of"] == today.isoformat() and payload["rows"] == CUSTOMERS and payload["written"]
    assert ModelHealth.objects.filter(day=today).exists()


# --- counting in the database is counting in numpy ---------------------------------------------


def test_the_database_counts_bins_as_metrics_bin_counts():
    # Values on the edges, either side of them, missing keys and JSON nulls, strings and numbers
    version = PolicyVersion.objects.get(version=1)
    edges = {"utilisation": [0.3, 0.5, 0.9], "bureau_score": [600.0], "tenure_months": []}
    values = {
        "utilisation": ["0.2999", "0.3000", "0.3", "0.4999", "0.5", "0.9000", "1.2", None, "missing", "0"],
        "bureau_score": [599, 600, 601, None, "missing", 300, 850, 600, 0, 1000],
        "tenure_months": [0, 1, None, "missing", 5, 6, 7, 8, 9, 10],
    }
    customers = CustomerFactory.create_batch(10)
    ScoreSnapshot.objects.bulk_create([
        ScoreSnapshot(
            customer=c, policy_version=version, computed_at=nightly(NIGHT), trigger=Trigger.NIGHTLY, score=500 + i, band="C",
            features={name: v[i] for name, v in values.items() if v[i] != "missing"},
        )
        for i, c in enumerate(customers)
    ])
    book = book_distribution(version_id=version.pk, before=nightly(NIGHT) + timedelta(hours=1), feature_edges=edges)
    for name, column in values.items():
        as_floats = [np.nan if v in (None, "missing") else float(v) for v in column]
        assert book.features[name] == metrics.bin_counts(as_floats, edges[name]), name
    assert book.rows == 10 and book.score_values == tuple(range(500, 510))


# --- PSI invariants (hypothesis) ----------------------------------------------------------------

counts = st.lists(st.integers(min_value=0, max_value=10_000), min_size=1, max_size=20).filter(lambda c: sum(c) > 0)


@hypothesis_settings(max_examples=200, deadline=None)
@given(counts)
def test_psi_of_a_distribution_against_itself_is_zero(c):
    assert metrics.psi(c, c) == 0
    # scaling a distribution does not move it either
    assert metrics.psi(c, [3 * n for n in c]) == pytest.approx(0, abs=1e-12)
    assert psi_level(metrics.psi(c, c)) == "stable"


@hypothesis_settings(max_examples=200, deadline=None)
@given(st.data())
def test_psi_is_never_negative(data):
    expected = data.draw(counts)
    actual = data.draw(
        st.lists(st.integers(min_value=0, max_value=10_000), min_size=len(expected), max_size=len(expected)).filter(lambda c: sum(c) > 0)
    )
    assert metrics.psi(expected, actual) >= 0
    assert metrics.psi(actual, expected) >= 0
