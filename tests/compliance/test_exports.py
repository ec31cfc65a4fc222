"""Streamed, audited CSV exports: content, filters, neutralisation, the audit event, roles."""

import csv
import io
from datetime import timedelta

import pytest
from django.http import StreamingHttpResponse
from django.urls import reverse
from django.utils import timezone
from hypothesis import given, strategies as st

from compliance.exports import ExportRecord, csv_stream, neutralise
from decisions.models import CustomerNotice
from riskops.core.audit import audit_record, verify_chain
from riskops.core.models import AuditEvent
from tests.factories import (
    ConsentEventFactory,
    ConsentFactory,
    CreditDecisionFactory,
    DisclosureAcknowledgementFactory,
    ScoreSnapshotFactory,
)

pytestmark = pytest.mark.django_db

EXPORTS = ["audit", "consents", "acknowledgements", "decisions", "notices"]


def read_csv(response) -> list[dict]:
    assert isinstance(response, StreamingHttpResponse)
    body = b"".join(response.streaming_content).decode("utf-8")
    assert body.startswith("\ufeff")
    return list(csv.DictReader(io.StringIO(body[1:])))


def export_events():
    return list(AuditEvent.objects.filter(action="export.csv").order_by("id"))


@pytest.fixture
def officer_client(client, compliance_officer):
    client.force_login(compliance_officer)
    return client


@pytest.mark.parametrize("name", EXPORTS)
@pytest.mark.parametrize("role, expected", [("analyst", 403), ("compliance", 200), ("risk_admin", 200)])
def test_every_export_by_role(client, make_user, name, role, expected):
    client.force_login(make_user("u", role))
    response = client.get(reverse(f"compliance:export-{name}"))
    assert response.status_code == expected
    if expected == 200:
        assert response["Content-Type"].startswith("text/csv")
        assert f"riskops-{name}-" in response["Content-Disposition"] and "attachment" in response["Content-Disposition"]
        read_csv(response)
    else:
        assert not export_events()  # refused: nothing exported, nothing recorded


def test_anonymous_export_goes_to_login(client, db):
    response = client.get(reverse("compliance:export-audit"))
    assert response.status_code == 302 and "/login" in response.url


def test_audit_export_rows_filters_and_its_own_audit_event(officer_client, compliance_officer):
    for i in range(7):
        audit_record(actor=None, action="note.add" if i % 2 else "alert.claim", target=("t", i), before={"i": i}, after={"i": i + 1})
    response = officer_client.get(reverse("compliance:export-audit"), {"action": "note.add"})
    rows = read_csv(response)
    assert [r["action"] for r in rows] == ["note.add"] * 3
    assert [r["target_id"] for r in rows] == ["1", "3", "5"]  # chain order
    assert rows[0]["before"] == '{"i":1}' and rows[0]["after"] == '{"i":2}'
    assert len(rows[0]["hash"]) == 64
    # the export is itself an audit event, written when the stream ended, with the row count
    (event,) = export_events()
    assert event.actor_id == compliance_officer.pk and event.target_id == "audit"
    assert event.after["rows"] == 3 and event.after["complete"] is True
    assert event.after["filters"] == {"action": "note.add"}
    assert verify_chain()[1] is None  # appended to the chain like any other event


def _start_events():
    return list(AuditEvent.objects.filter(action="export.start").order_by("id"))


def test_event_is_recorded_only_when_the_stream_is_consumed(officer_client):
    audit_record(actor=None, action="note.add", target=("t", 1))
    response = officer_client.get(reverse("compliance:export-audit"))
    assert not export_events() and not _start_events()  # the view returned; nothing has left yet
    b"".join(response.streaming_content)
    (start,), (done,) = _start_events(), export_events()
    assert start.pk < done.pk and start.after["export"] == "audit"
    assert done.after["rows"] == 2  # the note, and this export's own start event: the trail as it stood


def test_an_export_is_on_record_before_its_first_byte_even_if_the_process_then_dies(compliance_officer):
    # given a stream / when its header has been handed to the server and the process is killed
    # (no `finally` runs: simulated by never closing the generator) / then the start is on record
    export = ExportRecord(actor=compliance_officer, name="consents", filters={"purpose": "marketing"})
    stream = csv_stream(header=["n"], rows=([i] for i in range(10)), export=export)
    next(stream)
    (start,) = _start_events()
    assert (start.actor_id, start.after) == (compliance_officer.pk, {"export": "consents", "filters": {"purpose": "marketing"}})
    assert not export_events()


def test_a_client_that_disconnects_is_recorded_as_a_partial_export(compliance_officer):
    # given a stream of 1,200 rows (3 writes of up to 500) / when the client goes after the first
    # block of rows / then the event says what was sent and that it was not complete
    export = ExportRecord(actor=compliance_officer, name="audit", filters={})
    stream = csv_stream(header=["n"], rows=([i] for i in range(1200)), export=export)
    next(stream)  # header
    next(stream)  # first 500 rows
    stream.close()  # what Django does when the WSGI server closes the response
    (event,) = export_events()
    assert event.after["rows"] == 500 and event.after["complete"] is False


def test_an_invalid_filter_names_the_field_and_exports_nothing(officer_client):
    response = officer_client.get(reverse("compliance:export-consents"), {"granted_from": "2026-03-01", "granted_to": "2026-01-01"})
    assert response.status_code == 400
    assert "The end date is before the start date." in response.content.decode()
    response = officer_client.get(reverse("compliance:export-decisions"), {"consent": "999999"})
    assert response.status_code == 400 and "No consent with this id." in response.content.decode()
    assert not export_events()


@pytest.mark.parametrize(
    "value, expected",
    [
        ("=HYPERLINK(\"http://x\")", "'=HYPERLINK(\"http://x\")"),
        ("+1+2", "'+1+2"),
        ("-2+3+cmd|' /C calc'!A0", "'-2+3+cmd|' /C calc'!A0"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("plain", "plain"),
        ("a=b", "a=b"),
        (None, ""),
        (-5, "'-5"),
        ({"k": "=x"}, '{"k":"=x"}'),
    ],
)
def test_formula_cells_are_neutralised(value, expected):
    assert neutralise(value) == expected


@given(st.text())
def test_no_neutralised_cell_starts_with_a_formula_character(text):
    cell = neutralise(text)
    assert not cell.startswith(("=", "+", "-", "@", "\t", "\r"))
    assert cell == text or cell == "'" + text


def test_formula_in_data_is_neutralised_in_the_file(officer_client):
    audit_record(actor=None, action="note.add", target=("=cmd|'/C calc'!A0", "@1"), after={"x": 1})
    rows = read_csv(officer_client.get(reverse("compliance:export-audit")))
    assert rows[0]["target_type"] == "'=cmd|'/C calc'!A0" and rows[0]["target_id"] == "'@1"


def test_consents_export_is_the_ledger_with_the_page_filters(officer_client):
    marketing = ConsentFactory(purpose="marketing")
    ConsentEventFactory(consent=marketing)
    scoring = ConsentFactory(state="withdrawn", withdrawn_at=timezone.now() - timedelta(days=2), granted_at=timezone.now() - timedelta(days=9))
    ConsentEventFactory(consent=scoring, occurred_at=scoring.granted_at)
    ConsentEventFactory(consent=scoring, kind="withdrawn", occurred_at=scoring.withdrawn_at)
    rows = read_csv(officer_client.get(reverse("compliance:export-consents"), {"purpose": "credit_scoring"}))
    assert [(r["consent_id"], r["event"]) for r in rows] == [(str(scoring.pk), "granted"), (str(scoring.pk), "withdrawn")]
    assert rows[0]["customer"] == scoring.customer.external_id and rows[0]["state"] == "withdrawn"
    assert rows[0]["consent_text_version"] == str(scoring.disclosure.version)
    assert export_events()[-1].after["filters"] == {"purpose": "credit_scoring"}


def test_acknowledgements_export(officer_client):
    mine = DisclosureAcknowledgementFactory()
    DisclosureAcknowledgementFactory()
    rows = read_csv(officer_client.get(reverse("compliance:export-acknowledgements"), {"customer": mine.customer.external_id}))
    assert len(rows) == 1
    assert rows[0]["customer"] == mine.customer.external_id and rows[0]["content_hash"] == mine.disclosure.content_hash


def test_decisions_export_carries_provenance_and_filters_by_consent(officer_client, risk_admin):
    from tests.factories import OverrideFactory

    consent = ConsentFactory()
    other = ConsentFactory(customer=consent.customer, purpose="bureau_query")
    snapshot = ScoreSnapshotFactory(customer=consent.customer, consents_used=[consent, other], data_sources=["transactions", "bureau"])
    override = OverrideFactory(customer=consent.customer)
    used = [
        CreditDecisionFactory(customer=consent.customer, snapshot=snapshot, policy_version=snapshot.policy_version, reasons=[{"code": "HIGH_UTILISATION"}], override=override if i == 0 else None)
        for i in range(3)
    ]
    CreditDecisionFactory()  # did not use the consent
    rows = read_csv(officer_client.get(reverse("compliance:export-decisions"), {"consent": consent.pk}))
    assert sorted(int(r["decision_id"]) for r in rows) == sorted(d.pk for d in used)
    row = next(r for r in rows if r["override_id"])
    assert row["override_id"] == str(override.pk) and row["override_state"] == override.state
    assert row["snapshot_id"] == str(snapshot.pk) and row["policy_version"] == str(snapshot.policy_version.version)
    assert row["consents_used"] == f"{consent.pk}:credit_scoring;{other.pk}:bureau_query"
    assert row["data_sources"] == "transactions;bureau" and row["reason_codes"] == "HIGH_UTILISATION"
    assert export_events()[-1].after == {**export_events()[-1].after, "filters": {"consent": consent.pk}, "rows": 3}


def test_decisions_export_costs_the_same_queries_for_3_rows_or_60(officer_client):
    # session, user, groups, the consent (form), one chunk of decisions with customer, snapshot,
    # policy and override joined, one prefetch of the consents used, the audit append: per
    # chunk of 2,000 rows, never per row
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    consent = ConsentFactory()

    def export_queries() -> int:
        with CaptureQueriesContext(connection) as ctx:
            read_csv(officer_client.get(reverse("compliance:export-decisions"), {"consent": consent.pk}))
        return len(ctx.captured_queries)

    for _ in range(3):
        snap = ScoreSnapshotFactory(customer=consent.customer, consents_used=[consent])
        CreditDecisionFactory(customer=consent.customer, snapshot=snap, policy_version=snap.policy_version)
    few = export_queries()
    for _ in range(57):
        snap = ScoreSnapshotFactory(customer=consent.customer, consents_used=[consent])
        CreditDecisionFactory(customer=consent.customer, snapshot=snap, policy_version=snap.policy_version)
    assert export_queries() == few
    assert export_events()[-1].after["rows"] == 60


def test_notices_export(officer_client):
    decision = CreditDecisionFactory(closed=True, reasons=[{"code": "OVERDUE_90"}])
    CustomerNotice.objects.create(
        customer=decision.customer, decision=decision, kind="closed", language="zh-hans",
        reasons=[{"code": "OVERDUE_90", "text": "逾期超过90天"}], review_text="=call us", created_at=timezone.now(),
    )
    rows = read_csv(officer_client.get(reverse("compliance:export-notices"), {"language": "zh-hans"}))
    assert len(rows) == 1
    assert rows[0]["reasons"] == "逾期超过90天" and rows[0]["review_text"] == "'=call us" and rows[0]["access"] == "closed"
    assert read_csv(officer_client.get(reverse("compliance:export-notices"), {"language": "en"})) == []


def test_export_streams_through_an_iterator_not_a_list(officer_client, monkeypatch):
    # given more rows than one iterator chunk / then the queryset is read with .iterator(chunk_size)
    from django.db.models.query import QuerySet

    for i in range(30):
        audit_record(actor=None, action="note.add", target=("t", i))
    calls = []
    original = QuerySet.iterator

    def spy(self, chunk_size=None):
        calls.append(chunk_size)
        return original(self, chunk_size=chunk_size)

    monkeypatch.setattr(QuerySet, "iterator", spy)
    response = officer_client.get(reverse("compliance:export-audit"))
    # while streaming, nothing loads an unbounded queryset whole (a LIMITed read like the
    # audit append's `.first()` is fine)
    fetch_all = QuerySet._fetch_all

    def guarded(self):
        if self._result_cache is None and self.query.high_mark is None:
            pytest.fail(f"a queryset was loaded whole in an export: {self.query}")
        return fetch_all(self)

    monkeypatch.setattr(QuerySet, "_fetch_all", guarded)
    rows = read_csv(response)
    assert len(rows) == 31 and calls == [2000]  # the 30 notes and the export's own start event


def test_a_disconnect_through_the_view_still_records_the_export(rf, compliance_officer):
    # given 1,100 audit rows / when the client reads the header and the first 500 rows and goes
    # away / then the export is on record as partial
    from django.core.signals import request_finished
    from django.db import close_old_connections

    from compliance.export_views import export_view

    for i in range(1_100):
        audit_record(actor=None, action="note.add", target=("t", i))
    request = rf.get(reverse("compliance:export-audit"))
    request.user = compliance_officer
    response = export_view("audit")(request)
    chunks = iter(response.streaming_content)
    next(chunks), next(chunks)
    # What the WSGI server does when the client goes away: close the response. Django runs its
    # closers (our generator's `finally` writes the event) and then sends request_finished, whose
    # close_old_connections would close the test transaction's connection; keep it out.
    request_finished.disconnect(close_old_connections)
    try:
        response.close()
    finally:
        request_finished.connect(close_old_connections)
    (event,) = export_events()
    assert event.actor_id == compliance_officer.pk
    assert event.after["rows"] == 500 and event.after["complete"] is False
