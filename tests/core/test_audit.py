import threading

import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction

from riskops.core.audit import GENESIS_HASH, audit_record, verify_chain
from riskops.core.models import AuditEvent


def _tamper(sql: str, params=()) -> None:
    """Change the table behind the application's back, as an attacker with SQL access would."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # Superuser-only switch that skips ordinary triggers, i.e. the append-only guard.
            cursor.execute("SET session_replication_role = replica")
        cursor.execute(sql, params)
        if connection.vendor == "postgresql":
            cursor.execute("SET session_replication_role = DEFAULT")


@pytest.fixture
def chain(db, make_user):
    actor = make_user("auditor-actor")
    return [
        audit_record(actor=actor if i % 2 else None, action="recompute.chunk", target=("thing", i), before={"n": i}, after={"n": i + 1})
        for i in range(5)
    ]


def test_events_link_to_the_previous_hash(chain):
    assert chain[0].prev_hash == GENESIS_HASH
    for previous, event in zip(chain, chain[1:]):
        assert event.prev_hash == previous.hash
    assert chain[1].actor_label == "auditor-actor" and chain[0].actor_label == "system"
    assert verify_chain() == (5, None)


def test_decimal_and_datetime_payloads_verify_after_a_round_trip(db):
    from decimal import Decimal

    from django.utils import timezone

    audit_record(actor=None, action="decision.recompute", target=("t", 1), after={"limit": Decimal("1200.50"), "at": timezone.now()})
    assert verify_chain()[1] is None


def test_edited_payload_is_reported_as_the_first_broken_link(chain):
    _tamper("UPDATE core_auditevent SET after = %s WHERE id = %s", ['{"n": 999}', chain[2].pk])

    checked, broken = verify_chain()

    assert checked == 2
    assert broken.event_id == chain[2].pk
    assert "content" in broken.reason


def test_deleted_event_breaks_the_next_link(chain):
    _tamper("DELETE FROM core_auditevent WHERE id = %s", [chain[1].pk])

    checked, broken = verify_chain()

    assert broken.event_id == chain[2].pk
    assert "prev_hash" in broken.reason


def test_verify_audit_command_reports_ok_and_broken(chain, capsys):
    call_command("verify_audit")
    assert "5 events verified" in capsys.readouterr().out

    _tamper("UPDATE core_auditevent SET actor_label = 'mallory' WHERE id = %s", [chain[3].pk])
    with pytest.raises(CommandError, match=f"#{chain[3].pk}"):
        call_command("verify_audit")


@pytest.mark.postgres
def test_postgres_refuses_update_of_an_audit_row(chain):
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEvent.objects.filter(pk=chain[0].pk).update(action="rewritten")
    assert AuditEvent.objects.get(pk=chain[0].pk).action == "recompute.chunk"


@pytest.mark.postgres
def test_postgres_refuses_delete_of_an_audit_row(chain):
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM core_auditevent WHERE id = %s", [chain[0].pk])
    assert AuditEvent.objects.count() == 5


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_appenders_never_fork_the_chain():
    def append_many(worker: int) -> None:
        try:
            for i in range(15):
                audit_record(actor=None, action="recompute.redispatch", target=("worker", worker), after={"i": i})
        finally:
            connection.close()

    threads = [threading.Thread(target=append_many, args=(w,)) for w in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert AuditEvent.objects.filter(action="recompute.redispatch").count() == 45
    assert verify_chain()[1] is None
    # No two events claim the same predecessor: the chain is a line, not a tree.
    prevs = list(AuditEvent.objects.values_list("prev_hash", flat=True))
    assert len(prevs) == len(set(prevs))


@pytest.mark.django_db
def test_an_unknown_action_is_refused_and_nothing_is_written():
    # given an action that is not an AuditAction / when recorded / then refused, the chain untouched
    with pytest.raises(ValueError, match="unknown audit action 'policy.delete'.*AuditAction"):
        audit_record(actor=None, action="policy.delete", target=("t", 1))
    assert not AuditEvent.objects.exists()


def test_every_action_the_code_records_is_a_declared_choice():
    # given every `action="entity.verb"` literal in the application code
    import re
    from pathlib import Path

    from riskops.core.models import AuditAction

    root = Path(__file__).resolve().parents[2]
    used = {
        match
        for app in ("accounts", "decisions", "riskops")
        for path in (root / app).rglob("*.py")
        if "migrations" not in path.parts
        for match in re.findall(r'action="([a-z_]+\.[a-z_.]+)"', path.read_text())
    }
    # then each is one of the choices audit_record accepts
    assert used, "the scan found no actions: the pattern is wrong"
    assert used <= set(AuditAction.values), used - set(AuditAction.values)
