"""Verifying the chain: on demand and nightly, streamed, and what the page shows after tampering."""

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from compliance.models import AuditVerification
from compliance.services.verification import verification_request, verification_run
from compliance.tasks import nightly_audit_verification
from riskops.core.audit import audit_record, verify_chain
from riskops.core.exceptions import NotPermitted
from riskops.core.models import AuditEvent

pytestmark = pytest.mark.django_db


@pytest.fixture
def chain(db):
    return [
        audit_record(actor=None, action="note.add", target=("decisions.casenote", i), before={}, after={"text": f"note {i}"})
        for i in range(7)
    ]


def tamper_with_trigger_disabled(event_id: int, new_after: str = '{"text": "rewritten"}') -> None:
    """An edit made in SQL behind the application's back. On PostgreSQL a superuser disables the
    append-only trigger, updates and re-enables it; on SQLite (no trigger) a plain UPDATE."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # The test's own transaction holds deferred FK checks from its inserts; ALTER TABLE
            # refuses to run with them pending, so fire them first (a superuser's session would
            # not have any).
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute("ALTER TABLE core_auditevent DISABLE TRIGGER core_auditevent_append_only")
            cursor.execute("UPDATE core_auditevent SET after = %s::jsonb WHERE id = %s", [new_after, event_id])
            cursor.execute("ALTER TABLE core_auditevent ENABLE TRIGGER core_auditevent_append_only")
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")
        else:
            cursor.execute("UPDATE core_auditevent SET after = %s WHERE id = %s", [new_after, event_id])


def test_on_demand_verification_records_an_ok_run_and_is_audited(client, compliance_officer, chain, django_capture_on_commit_callbacks):
    client.force_login(compliance_officer)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("compliance:audit-verify"))
    response = client.get(reverse("compliance:audit"))
    run = AuditVerification.objects.get()
    assert (run.status, run.trigger, run.requested_by, run.events_checked) == ("ok", "manual", compliance_officer, 8)
    assert run.started_at and run.finished_at and run.broken_event_id is None
    # requested by the officer, finished by the job: both are audit.verify events
    verify_events = list(AuditEvent.objects.filter(action="audit.verify").order_by("id"))
    assert [e.actor_label for e in verify_events] == [compliance_officer.username, "system"]
    assert verify_events[1].after["status"] == "ok" and verify_events[1].after["events_checked"] == 8
    body = response.content.decode()
    assert 'data-verification-status="ok"' in body and 'data-events-checked="8"' in body
    assert "Chain intact" in body


def test_page_and_verify_audit_catch_an_sql_edit_and_link_the_first_broken_event(client, compliance_officer, chain, django_capture_on_commit_callbacks):
    # given an edit of event 3 made in SQL with the append-only trigger disabled
    tamper_with_trigger_disabled(chain[3].pk)
    # when the chain is verified on demand
    client.force_login(compliance_officer)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("compliance:audit-verify"))
    response = client.get(reverse("compliance:audit"))
    # then the run is broken at that event, 3 events before it verified
    run = AuditVerification.objects.get()
    assert (run.status, run.broken_event_id, run.events_checked) == ("broken", chain[3].pk, 3)
    assert "content does not match its hash" in run.broken_reason
    body = response.content.decode()
    assert 'data-verification-status="broken"' in body
    assert reverse("compliance:audit-event", args=[chain[3].pk]) in body
    event_page = client.get(reverse("compliance:audit-event", args=[chain[3].pk])).content.decode()
    assert "found the chain broken here" in event_page
    # and verify_audit says the same
    with pytest.raises(CommandError, match=f"BROKEN at event #{chain[3].pk}"):
        call_command("verify_audit")


def delete_with_trigger_disabled(first_id: int) -> None:
    """The newest events removed in SQL behind the application's back (trigger disabled by a
    superuser on PostgreSQL; a plain DELETE on SQLite)."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute("ALTER TABLE core_auditevent DISABLE TRIGGER core_auditevent_append_only")
            cursor.execute("DELETE FROM core_auditevent WHERE id >= %s", [first_id])
            cursor.execute("ALTER TABLE core_auditevent ENABLE TRIGGER core_auditevent_append_only")
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")
        else:
            cursor.execute("DELETE FROM core_auditevent WHERE id >= %s", [first_id])


def test_a_trail_cut_at_its_end_is_caught_by_the_remembered_tail(client, compliance_officer, chain, django_capture_on_commit_callbacks):
    # given a verification that found the chain intact and remembered its last event
    with django_capture_on_commit_callbacks(execute=True):
        first = verification_request(actor=compliance_officer)
    first.refresh_from_db()
    assert first.status == "ok" and first.tail_event_id is not None
    tail = AuditEvent.objects.get(pk=first.tail_event_id)
    assert first.tail_hash == tail.hash

    # when the newest events (from the last note on, the verification's own events with them) are
    # deleted: what is left still chains perfectly by itself
    delete_with_trigger_disabled(chain[-1].pk)
    assert verify_chain()[1] is None

    # then the next verification, and verify_audit, say the trail was cut after the remembered tail
    with django_capture_on_commit_callbacks(execute=True):
        second = verification_request(actor=compliance_officer)
    second.refresh_from_db()
    assert (second.status, second.broken_event_id) == ("broken", first.tail_event_id)
    assert "missing or changed" in second.broken_reason
    with pytest.raises(CommandError, match=f"BROKEN at event #{first.tail_event_id}"):
        call_command("verify_audit")
    client.force_login(compliance_officer)
    assert "missing or changed" in client.get(reverse("compliance:audit")).content.decode()


@pytest.mark.postgres
def test_the_trigger_is_back_after_tampering(chain):
    from django.db import DatabaseError, transaction

    tamper_with_trigger_disabled(chain[1].pk)
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEvent.objects.filter(pk=chain[2].pk).update(action="rewritten")


def test_nightly_job_runs_a_beat_verification(chain, django_capture_on_commit_callbacks, settings):
    assert settings.CELERY_BEAT_SCHEDULE["nightly-audit-verification"]["task"] == "compliance.tasks.nightly_audit_verification"
    with django_capture_on_commit_callbacks(execute=True):
        nightly_audit_verification.delay()
    run = AuditVerification.objects.get()
    assert (run.trigger, run.requested_by, run.status, run.events_checked) == ("beat", None, "ok", 8)


def test_analyst_cannot_request_a_verification(analyst, chain):
    with pytest.raises(NotPermitted):
        verification_request(actor=analyst)
    assert not AuditVerification.objects.exists()


def test_a_second_request_while_one_is_queued_returns_it(compliance_officer, risk_admin, chain):
    first = verification_request(actor=compliance_officer)  # on_commit not run: still pending
    again = verification_request(actor=risk_admin)
    assert again.pk == first.pk and AuditVerification.objects.count() == 1


def test_a_run_is_claimed_once(compliance_officer, chain):
    run = verification_request(actor=compliance_officer)
    assert verification_run(verification_id=run.pk) is not None
    assert verification_run(verification_id=run.pk) is None  # redelivered message: no second walk
    assert AuditEvent.objects.filter(action="audit.verify").count() == 2


def test_verification_streams_in_batches_of_bounded_size(chain):
    # given 7 + 60 events / when verified with batches of 10 / then 7 keyset queries of <= 10 rows
    for i in range(60):
        audit_record(actor=None, action="note.add", target=("x", i), after={"i": i})
    with CaptureQueriesContext(connection) as ctx:
        checked, broken = verify_chain(batch_size=10, payload_checks=[])
    reads = [q["sql"] for q in ctx.captured_queries if "core_auditevent" in q["sql"]]
    assert (checked, broken) == (67, None)
    assert len(reads) == 8  # ceil(67 / 10) batches + the empty one that ends the walk
    assert all("LIMIT 10" in sql for sql in reads)


def test_progress_is_written_while_walking(compliance_officer, chain):
    for i in range(25):
        audit_record(actor=None, action="note.add", target=("x", i), after={"i": i})
    run = verification_request(actor=compliance_officer)
    seen = []
    from compliance import services

    original = services.verification.verify_chain

    def spy(**kwargs):
        def progress(n):
            kwargs_progress(n)
            seen.append(AuditVerification.objects.get(pk=run.pk).events_checked)

        kwargs_progress = kwargs.pop("progress")
        return original(progress=progress, **kwargs)

    services.verification.verify_chain, saved = spy, original
    try:
        verification_run(verification_id=run.pk, batch_size=10)
    finally:
        services.verification.verify_chain = saved
    assert seen == [10, 20, 30]
    run.refresh_from_db()
    assert run.events_checked == 33 and run.status == "ok"


def test_a_walk_that_fails_is_recorded_as_failed(compliance_officer, chain, monkeypatch):
    run = verification_request(actor=compliance_officer)

    def boom(**kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr("compliance.services.verification.verify_chain", boom)
    with pytest.raises(RuntimeError):
        verification_run(verification_id=run.pk)
    run.refresh_from_db()
    assert run.status == "failed" and "disk on fire" in run.broken_reason and run.broken_event_id is None


def test_page_says_a_verification_is_running_and_disables_the_button(client, compliance_officer, chain):
    run = verification_request(actor=compliance_officer)  # queued: the task waits for the commit
    client.force_login(compliance_officer)
    body = client.get(reverse("compliance:audit")).content.decode()
    assert f"Verification #{run.pk} is running" in body
    assert "The chain has not been verified yet." in body
    assert 'class="primary" disabled' in body


def test_a_request_stuck_for_hours_does_not_block_a_new_one(compliance_officer, chain):
    from datetime import timedelta

    from django.utils import timezone

    stuck = verification_request(actor=compliance_officer)
    AuditVerification.objects.filter(pk=stuck.pk).update(status="running", requested_at=timezone.now() - timedelta(hours=7))
    fresh = verification_request(actor=compliance_officer)
    assert fresh.pk != stuck.pk and fresh.status == "pending"
