"""On-call notices (riskops/core/oncall.py): each condition opens one incident with one email and
one chat POST; a second check in the same state sends nothing; the condition gone resolves it (a
resolution notice), and the same condition again is a new incident; a failing chat webhook
breaks nothing; two checks at once open one incident; every step is audited."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Callable
from unittest import mock

import pytest
import requests
from django.conf import settings
from django.core import mail
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from compliance.models import AuditVerification
from decisions.models import RecomputeRun, Trigger
from modelling.models import ModelAlert, ModelHealth
from riskops.core.models import AuditEvent, Incident
from riskops.core.oncall import Finding, incident_open, oncall_check, register_condition
from riskops.queues import SWEEPS, TASK_LANES
from tests.factories import PolicyVersionFactory, RecomputeChunkFactory, RecomputeRunFactory, RiskAlertFactory, UserFactory
from webhooks.models import WebhookEndpoint

pytestmark = pytest.mark.django_db

CHAT_URL = "https://chat.example.com/hooks/secret-token"


class FakeResponse:
    def __init__(self, status_code: int) -> None:
        self.status_code = status_code

    def close(self) -> None:
        pass


class FakeChat:
    """Stands in for the pinned session: records each POST's JSON, answers `status` or raises."""

    def __init__(self) -> None:
        self.posts: list[dict] = []
        self.status = 200
        self.error: Exception | None = None

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        pass

    def post(self, url, *, json, timeout, allow_redirects):
        assert url == CHAT_URL and allow_redirects is False and timeout == settings.RISKOPS_ONCALL_WEBHOOK_TIMEOUT
        if self.error is not None:
            raise self.error
        self.posts.append(json)
        return FakeResponse(self.status)


@pytest.fixture
def chat(settings):
    settings.RISKOPS_ONCALL_EMAILS = ["oncall@example.com", "second@example.com"]
    settings.RISKOPS_ONCALL_WEBHOOK_URL = CHAT_URL
    settings.RISKOPS_ONCALL_NOTIFY_RESOLVED = True
    settings.RISKOPS_ONCALL_SLA_BREACH_THRESHOLD = 50  # the scenarios change it; the override restores it
    fake = FakeChat()
    with mock.patch("webhooks.oncall.pinned_session", return_value=fake):
        yield fake


def _actions() -> list[str]:
    return list(AuditEvent.objects.filter(action__startswith="oncall.").order_by("id").values_list("action", flat=True))


# --- one scenario per condition: make it true, make it false ---------------------------------------


def _failed_run(now: datetime) -> None:
    RecomputeRunFactory(
        trigger=Trigger.NIGHTLY, status=RecomputeRun.Status.FAILED, total_customers=10, failed_customers=10,
        started_at=now - timedelta(minutes=30), finished_at=now - timedelta(minutes=1),
    )


def _later_run_succeeds(now: datetime) -> None:
    RecomputeRunFactory(trigger=Trigger.NIGHTLY, status=RecomputeRun.Status.SUCCEEDED, started_at=now - timedelta(minutes=1), finished_at=now)


def _stalled_run(now: datetime) -> None:
    # Started an hour ago, no chunk claimed or finished since (the limit is 30 minutes).
    RecomputeRunFactory(trigger=Trigger.NIGHTLY, status=RecomputeRun.Status.RUNNING, started_at=now - timedelta(hours=1))


def _stalled_run_moves(now: datetime) -> None:
    for run in RecomputeRun.objects.filter(status=RecomputeRun.Status.RUNNING):
        RecomputeChunkFactory(run=run, status="running", claimed_at=now, lease_until=now + timedelta(seconds=30))


def _chain_broken(now: datetime) -> None:
    AuditVerification.objects.create(
        trigger="beat", requested_at=now, started_at=now, finished_at=now, status="broken", broken_event_id=7, broken_reason="hash mismatch",
    )


def _chain_intact(now: datetime) -> None:
    AuditVerification.objects.create(trigger="beat", requested_at=now, started_at=now, finished_at=now + timedelta(seconds=1), status="ok")


def _alerts_late(now: datetime) -> None:
    settings.RISKOPS_ONCALL_SLA_BREACH_THRESHOLD = 1
    if RiskAlertFactory._meta.model.objects.count() < 2:
        for _ in range(2):  # severity 3: 24 h to triage; raised 3 days ago
            RiskAlertFactory(raised_at=timezone.now() - timedelta(days=3))


def _alerts_within_threshold(now: datetime) -> None:
    settings.RISKOPS_ONCALL_SLA_BREACH_THRESHOLD = 2  # 2 late alerts: not more than the threshold


def _endpoint_disabled(now: datetime) -> None:
    endpoint = WebhookEndpoint.objects.first() or WebhookEndpoint.objects.create(url="https://hooks.example.com/in", event_types=["alert.raised"])
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(active=False, disabled_reason="receiver retired")


def _endpoint_enabled(now: datetime) -> None:
    WebhookEndpoint.objects.update(active=True, disabled_reason="")


def _model_drift(now: datetime) -> None:
    version = PolicyVersionFactory(active=True) if not ModelHealth.objects.exists() else ModelHealth.objects.first().policy_version
    health = ModelHealth.objects.first() or ModelHealth.objects.create(
        policy_version=version, day=now.date(), score_psi=0.31, csi={}, counts={}, rows=100, level="alert", computed_at=now
    )
    ModelAlert.objects.create(policy_version=version, health=health, metric="score", value=0.31, raised_at=now)


def _model_alert_acknowledged(now: datetime) -> None:
    ModelAlert.objects.filter(status="open").update(
        status="acknowledged", acknowledged_by=UserFactory(), acknowledged_at=now, note="new channel, expected shift"
    )


@dataclass(frozen=True)
class Scenario:
    kind: str
    make: Callable[[datetime], None]
    clear: Callable[[datetime], None]

    def __str__(self) -> str:
        return self.kind


SCENARIOS = [
    Scenario("nightly_run_failed", _failed_run, _later_run_succeeds),
    Scenario("nightly_run_stalled", _stalled_run, _stalled_run_moves),
    Scenario("audit_chain_broken", _chain_broken, _chain_intact),
    Scenario("alerts_past_sla", _alerts_late, _alerts_within_threshold),
    Scenario("webhook_endpoint_disabled", _endpoint_disabled, _endpoint_enabled),
    Scenario("model_drift", _model_drift, _model_alert_acknowledged),
]


@pytest.mark.parametrize("scenario", SCENARIOS, ids=str)
def test_each_condition_opens_one_incident_notifies_once_resolves_and_reopens(scenario, chat):
    now = timezone.now()
    scenario.make(now)

    first = oncall_check(now=now)
    incident = Incident.objects.get()
    assert (incident.kind, incident.resolved_at, incident.notified_at) == (scenario.kind, None, now)
    assert first.opened == first.notified == [incident.pk] and first.resolved == []
    [email] = mail.outbox
    assert email.to == ["oncall@example.com", "second@example.com"]
    assert incident.get_kind_display() in email.subject and incident.summary in email.body
    [post] = chat.posts
    assert set(post) == {"text"} and incident.summary in post["text"]
    assert _actions() == ["oncall.open", "oncall.notify"]
    notify = AuditEvent.objects.get(action="oncall.notify")
    assert (notify.target_type, notify.target_id, notify.after) == ("core.incident", str(incident.pk), {"channels": {"email": "sent", "chat": "sent"}})

    # The same state five minutes later: nothing new, nothing sent.
    again = oncall_check(now=now + timedelta(minutes=5))
    assert (again.opened, again.notified, again.resolved) == ([], [], [])
    assert Incident.objects.count() == 1 and len(mail.outbox) == 1 and len(chat.posts) == 1
    assert _actions() == ["oncall.open", "oncall.notify"]

    # The condition is gone: the incident is resolved, and the people told are told it is over.
    later = now + timedelta(minutes=10)
    scenario.clear(later)
    resolved = oncall_check(now=later)
    incident.refresh_from_db()
    assert resolved.resolved == [incident.pk] and incident.resolved_at == later
    assert len(mail.outbox) == 2 and mail.outbox[1].subject.startswith("[RiskOps] Resolved:") and len(chat.posts) == 2
    assert _actions() == ["oncall.open", "oncall.notify", "oncall.resolve"]
    assert oncall_check(now=later + timedelta(minutes=5)).resolved == [] and len(mail.outbox) == 2

    # The same condition again: a new incident, a new notice.
    again_at = later + timedelta(minutes=20)
    scenario.make(again_at)
    reopened = oncall_check(now=again_at)
    assert len(reopened.opened) == 1 and reopened.opened != [incident.pk]
    assert Incident.objects.filter(kind=scenario.kind).count() == 2
    assert Incident.objects.filter(kind=scenario.kind, resolved_at__isnull=True).count() == 1
    assert len(mail.outbox) == 3 and len(chat.posts) == 3


def test_a_failing_chat_webhook_is_logged_and_the_email_still_goes(chat, caplog):
    chat.error = requests.ConnectionError(f"cannot reach {CHAT_URL}")
    _chain_broken(timezone.now())

    outcome = oncall_check(now=timezone.now())

    assert len(outcome.notified) == 1 and len(mail.outbox) == 1 and chat.posts == []
    assert AuditEvent.objects.get(action="oncall.notify").after == {"channels": {"email": "sent", "chat": "failed"}}
    assert "chat failed: ConnectionError" in caplog.text
    assert "secret-token" not in caplog.text  # a chat webhook's URL is its secret


def test_a_chat_webhook_answering_an_error_status_counts_as_failed(chat):
    chat.status = 500
    _chain_broken(timezone.now())
    oncall_check(now=timezone.now())
    assert AuditEvent.objects.get(action="oncall.notify").after == {"channels": {"email": "sent", "chat": "failed"}}


def test_when_every_channel_fails_the_next_check_sends_the_notice(chat):
    now = timezone.now()
    _chain_broken(now)
    chat.error = requests.Timeout("slow")
    with mock.patch("riskops.core.oncall_notices.send_mail", side_effect=OSError("smtp down")):
        first = oncall_check(now=now)
    incident = Incident.objects.get()
    assert first.opened == [incident.pk] and first.notified == [] and incident.notified_at is None
    assert _actions() == ["oncall.open"]  # nobody was told, so no notice is recorded

    chat.error = None
    second = oncall_check(now=now + timedelta(minutes=5))
    assert second.opened == [] and second.notified == [incident.pk]
    assert len(mail.outbox) == 1 and len(chat.posts) == 1
    assert _actions() == ["oncall.open", "oncall.notify"]


def test_no_channel_configured_still_records_the_incident(settings):
    settings.RISKOPS_ONCALL_EMAILS = []
    settings.RISKOPS_ONCALL_WEBHOOK_URL = ""
    _chain_broken(timezone.now())
    outcome = oncall_check(now=timezone.now())
    assert len(outcome.notified) == 1 and mail.outbox == []
    assert AuditEvent.objects.get(action="oncall.notify").after == {"channels": {}}
    assert oncall_check(now=timezone.now()).notified == []


def test_two_checks_at_once_open_one_incident():
    now = timezone.now()
    finding = Finding(key="chain", summary="broken")
    assert incident_open(kind="audit_chain_broken", finding=finding, now=now) is not None
    # The second beat's check, which read "no open incident" before the first committed.
    assert incident_open(kind="audit_chain_broken", finding=finding, now=now) is None
    assert Incident.objects.count() == 1 and _actions() == ["oncall.open"]
    with pytest.raises(IntegrityError), transaction.atomic():
        Incident.objects.create(kind="audit_chain_broken", key="chain", summary="again", opened_at=now)


def test_a_condition_that_raises_is_skipped_and_leaves_its_incidents_open(chat):
    now = timezone.now()
    _endpoint_disabled(now)
    _chain_broken(now)
    oncall_check(now=now)
    assert Incident.objects.filter(resolved_at__isnull=True).count() == 2

    def broken(now):
        raise RuntimeError("database hiccup")

    with mock.patch.dict("riskops.core.oncall._CONDITIONS", {"audit_chain_broken": broken}):
        _endpoint_enabled(now)
        outcome = oncall_check(now=now + timedelta(minutes=5))
    assert outcome.skipped_kinds == ["audit_chain_broken"]
    assert Incident.objects.get(kind="audit_chain_broken").resolved_at is None  # a failed read is no recovery
    assert Incident.objects.get(kind="webhook_endpoint_disabled").resolved_at is not None


def test_every_condition_is_registered_by_its_app():
    from riskops.core.models import IncidentKind
    from riskops.core.oncall import registered_kinds

    assert sorted(registered_kinds()) == sorted(IncidentKind.values)
    with pytest.raises(ValueError):
        register_condition("no_such_kind", lambda now: [])


def test_the_chat_notice_is_a_json_post_through_the_guarded_session(settings):
    from tests.webhooks.receiver import Receiver

    settings.RISKOPS_ONCALL_EMAILS = []
    settings.RISKOPS_WEBHOOK_ALLOW_PRIVATE = True
    with Receiver() as receiver:
        settings.RISKOPS_ONCALL_WEBHOOK_URL = receiver.url
        _chain_broken(timezone.now())
        oncall_check(now=timezone.now())
    [(headers, body)] = receiver.requests
    assert headers["content-type"] == "application/json"
    assert b'"text"' in body and b"hash mismatch" in body


def test_the_chat_webhook_obeys_the_ssrf_guard(settings, caplog):
    from tests.webhooks.receiver import Receiver

    settings.RISKOPS_ONCALL_EMAILS = ["oncall@example.com"]
    settings.RISKOPS_WEBHOOK_ALLOW_PRIVATE = False
    with Receiver() as receiver:
        settings.RISKOPS_ONCALL_WEBHOOK_URL = receiver.url  # loopback: refused, nothing sent
        _chain_broken(timezone.now())
        oncall_check(now=timezone.now())
    assert receiver.requests == [] and len(mail.outbox) == 1
    assert AuditEvent.objects.get(action="oncall.notify").after == {"channels": {"email": "sent", "chat": "failed"}}


def test_the_beat_runs_the_check_every_five_minutes_on_the_sweeps_queue(chat):
    from riskops.core.tasks import oncall_check as task

    entry = settings.CELERY_BEAT_SCHEDULE["oncall-check"]
    assert entry["task"] == "riskops.core.tasks.oncall_check" and entry["schedule"] == 300.0
    assert TASK_LANES["riskops.core.tasks.oncall_check"] == SWEEPS
    _chain_broken(timezone.now())
    result = task.delay().get()
    assert len(result["opened"]) == 1 and len(mail.outbox) == 1


def test_risk_admins_read_the_incidents_in_the_admin_and_change_nothing(client, risk_admin, analyst):
    incident = Incident.objects.create(kind="model_drift", key="3", summary="score PSI 0.31", opened_at=timezone.now())
    client.force_login(risk_admin)
    page = client.get(reverse("admin:core_incident_changelist"))
    assert page.status_code == 200 and b"score PSI 0.31" in page.content
    assert client.get(reverse("admin:core_incident_change", args=[incident.pk])).status_code == 200
    assert client.get(reverse("admin:core_incident_add")).status_code == 403
    assert client.post(reverse("admin:core_incident_delete", args=[incident.pk]), {"post": "yes"}).status_code == 403
    assert Incident.objects.filter(pk=incident.pk).exists()

    analyst.is_staff = True
    analyst.save()
    client.force_login(analyst)
    assert client.get(reverse("admin:core_incident_changelist")).status_code == 403


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_beats_checking_at_the_same_moment_send_one_notice(chat):
    import threading

    from django.db import connections

    from compliance.oncall import audit_chain_broken

    _chain_broken(timezone.now())
    barrier = threading.Barrier(2, timeout=30)

    def in_step(now):
        found = audit_chain_broken(now)
        barrier.wait()  # both have read "broken" and no open incident before either writes
        return found

    outcomes, errors = [], []

    def beat():
        try:
            outcomes.append(oncall_check(now=timezone.now()))
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connections.close_all()

    with mock.patch.dict("riskops.core.oncall._CONDITIONS", {"audit_chain_broken": in_step}, clear=True):
        threads = [threading.Thread(target=beat) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
    assert errors == []
    assert Incident.objects.count() == 1
    assert sorted(len(o.opened) for o in outcomes) == [0, 1] and sorted(len(o.notified) for o in outcomes) == [0, 1]
    assert len(mail.outbox) == 1 and len(chat.posts) == 1
    assert _actions() == ["oncall.open", "oncall.notify"]



def _settings_in_a_fresh_process(env: dict[str, str]) -> list[str]:
    code = "from django.conf import settings as s; print(s.EMAIL_BACKEND, ','.join(s.RISKOPS_ONCALL_EMAILS) or '-')"
    result = subprocess.run([sys.executable, "-c", f"import django; django.setup(); {code}"], env=env, capture_output=True, text=True, timeout=120)
    return result.stdout.split()


def test_the_demo_prints_notices_on_the_console_and_production_sends_by_smtp():
    base = {k: v for k, v in os.environ.items() if not k.startswith(("RISKOPS_ONCALL", "EMAIL_", "DEBUG"))}
    base["DJANGO_SETTINGS_MODULE"] = "riskops.settings"
    assert _settings_in_a_fresh_process({**base, "DEBUG": "true"}) == ["django.core.mail.backends.console.EmailBackend", "oncall@localhost"]
    production = {**base, "SECRET_KEY": "x" * 50, "RISKOPS_ONCALL_EMAILS": "a@example.com,b@example.com"}
    assert _settings_in_a_fresh_process(production) == ["django.core.mail.backends.smtp.EmailBackend", "a@example.com,b@example.com"]
