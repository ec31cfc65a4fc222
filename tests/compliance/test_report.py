"""The data-subject report: complete, audited, PII by permission, streamed, roles."""

import json

import pytest
from django.db import connection
from django.http import StreamingHttpResponse
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from compliance.services.report import SECTIONS
from decisions.models import CustomerNotice
from riskops.core.models import AuditEvent
from riskops.core.audit import audit_record
from tests.draws.factories import DrawCheckFactory
from tests.factories import (
    BureauReportFactory,
    CaseNoteFactory,
    ConsentEventFactory,
    ConsentFactory,
    CreditApplicationFactory,
    CreditDecisionFactory,
    CreditLineFactory,
    CustomerFactory,
    DisclosureAcknowledgementFactory,
    OverrideFactory,
    RepaymentInstallmentFactory,
    RiskAlertFactory,
    ScoreSnapshotFactory,
    TransactionFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def subject(analyst):
    customer = CustomerFactory(national_id="110101199001011234", phone="13812345678")
    consent = ConsentFactory(customer=customer)
    ConsentEventFactory(consent=consent)
    DisclosureAcknowledgementFactory(customer=customer)
    snapshot = ScoreSnapshotFactory(customer=customer, consents_used=[consent])
    decision = CreditDecisionFactory(customer=customer, snapshot=snapshot, policy_version=snapshot.policy_version, closed=True)
    CreditLineFactory(customer=customer)
    CustomerNotice.objects.create(customer=customer, decision=decision, kind="closed", language="en", reasons=[], review_text="ask us", created_at=timezone.now())
    RiskAlertFactory(customer=customer, snapshot=snapshot)
    CaseNoteFactory(customer=customer, author=analyst)
    OverrideFactory(customer=customer, requested_by=analyst)
    TransactionFactory.create_batch(5, customer=customer)
    RepaymentInstallmentFactory(customer=customer)
    CreditApplicationFactory(customer=customer)
    BureauReportFactory(customer=customer)
    DrawCheckFactory(customer=customer)
    audit_record(actor=analyst, action="note.add", target=customer)
    audit_record(actor=None, action="consent.withdraw", target=consent)
    other = CustomerFactory()  # someone else: must not appear
    audit_record(actor=None, action="consent.withdraw", target=ConsentFactory(customer=other))
    DrawCheckFactory(customer=other)
    return customer


def _json(response) -> dict:
    assert isinstance(response, StreamingHttpResponse)
    return json.loads(b"".join(response.streaming_content))


@pytest.mark.parametrize("role, expected", [("analyst", 403), ("compliance", 200), ("risk_admin", 200)])
def test_report_urls_by_role(client, make_user, subject, role, expected):
    client.force_login(make_user("u", role))
    for name in ("compliance:subject-report", "compliance:subject-report-json"):
        response = client.get(reverse(name, args=[subject.external_id]))
        assert response.status_code == expected
    assert AuditEvent.objects.filter(action="subject.report").count() == (0 if expected == 403 else 2)


def test_unknown_customer_is_404_and_not_audited(client, compliance_officer):
    client.force_login(compliance_officer)
    assert client.get(reverse("compliance:subject-report", args=["NOPE"])).status_code == 404
    assert client.get(reverse("compliance:subject-report-json", args=["NOPE"])).status_code == 404
    assert not AuditEvent.objects.filter(action="subject.report").exists()


def test_json_report_is_complete_and_a_download(client, compliance_officer, subject):
    client.force_login(compliance_officer)
    response = client.get(reverse("compliance:subject-report-json", args=[subject.external_id]))
    assert "attachment" in response["Content-Disposition"] and response["Content-Type"].startswith("application/json")
    report = _json(response)
    assert report["customer"]["external_id"] == subject.external_id
    assert {s.key for s in SECTIONS} <= report.keys()
    expected_counts = {
        "consents": 1, "acknowledgements": 1, "decisions": 1, "score_snapshots": 1, "overrides": 1, "notices": 1,
        "alerts": 1, "case_notes": 1, "applications": 1, "bureau_reports": 1, "transactions": 5,
        "installments": subject.installments.count(), "draw_checks": 1,
        "audit_events": 3,  # about the customer, about its consent, and this report's own record
    }
    assert {k: len(report[k]) for k in expected_counts} == expected_counts
    assert report["consents"][0]["ledger"][0]["kind"] == "granted"
    assert [e["action"] for e in report["audit_events"]] == ["subject.report", "consent.withdraw", "note.add"]  # newest first
    assert report["score_snapshots"][0]["consents_used"] == [subject.consents.get().pk]
    assert report["credit_line"]["access"] == "open"
    assert sum(row["count"] for row in report["transaction_summary"]) == 5
    # every row is this customer's
    assert {t["id"] for t in report["transactions"]} == set(subject.transactions.values_list("id", flat=True))
    event = AuditEvent.objects.get(action="subject.report")
    assert event.actor_id == compliance_officer.pk and event.target_id == str(subject.pk)
    assert event.after == {"format": "json", "external_id": subject.external_id, "pii_unmasked": True}


def test_pii_is_unmasked_for_compliance_and_risk_admins_and_masked_otherwise(client, compliance_officer, risk_admin, analyst, subject):
    from compliance.services.report import identity

    client.force_login(compliance_officer)  # the report answers the subject's request: in full, audited
    full = _json(client.get(reverse("compliance:subject-report-json", args=[subject.external_id])))["customer"]
    assert full["national_id"] == "110101199001011234" and full["phone"] == "13812345678" and not full["pii_masked"]
    page = client.get(reverse("compliance:subject-report", args=[subject.external_id])).content.decode()
    assert "110101199001011234" in page and "13812345678" in page
    client.force_login(risk_admin)  # risk admins hold accounts.view_customer_pii
    full = _json(client.get(reverse("compliance:subject-report-json", args=[subject.external_id])))["customer"]
    assert full["national_id"] == "110101199001011234" and not full["pii_masked"]
    assert list(AuditEvent.objects.filter(action="subject.report").values_list("after__pii_unmasked", flat=True)) == [True, True, True]
    # anyone else (an analyst never reaches the page, but the service masks for them)
    masked = identity(subject, viewer=analyst)
    assert masked["national_id"] == "••••••••••••••1234" and masked["phone"] == "••••••••678" and masked["pii_masked"]


def test_report_reads_as_a_document(client, compliance_officer, subject):
    from decimal import Decimal

    line = subject.credit_line
    line.limit_amount = Decimal("12345.5")
    line.save(update_fields=["limit_amount"])
    client.force_login(compliance_officer)
    response = client.get(reverse("compliance:subject-report", args=[subject.external_id]))
    body = response.content.decode()
    # the line in a sentence, access by its label and money with two decimals and the currency
    assert "¥12,345.50" in body and f"<strong>{line.get_access_display()}</strong>" in body
    assert "This report sets out everything held about" in body
    # headings are field names in words, codes shown with their meaning, no raw JSON
    alerts = next(s for s in response.context["sections"] if s.key == "alerts")
    assert "customer_id" not in alerts.columns and "raised_at" not in alerts.columns and "Raised at" in alerts.columns
    alert = subject.alerts.get()
    status_col = alerts.keys.index("status")
    assert alerts.cells[0][status_col] == alert.get_status_display()
    assert not any(cell.startswith(("{", "[")) for s in response.context["sections"] for row in s.cells for cell in row)
    assert 'class="report-table"' in body


def test_json_download_is_named_after_the_external_id(client, compliance_officer, subject):
    client.force_login(compliance_officer)
    response = client.get(reverse("compliance:subject-report-json", args=[subject.external_id]))
    assert f'filename="subject-report-{subject.external_id}-' in response["Content-Disposition"]
    b"".join(response.streaming_content)


def test_page_shows_each_section_and_truncates_long_lists(client, compliance_officer, subject, monkeypatch):
    monkeypatch.setattr("compliance.services.report.PAGE_ROWS", 3)
    monkeypatch.setattr("compliance.report_views.subject_report_page.__kwdefaults__", {"page_rows": 3})
    client.force_login(compliance_officer)
    response = client.get(reverse("compliance:subject-report", args=[subject.external_id]))
    body = response.content.decode()
    assert response.status_code == 200
    assert 'data-section="transactions" data-total="5"' in body
    assert "The newest 3 of 5 are shown" in body
    assert "report-print.css" in body
    tx = next(s for s in response.context["sections"] if s.key == "transactions")
    assert len(tx.rows) == 3 and tx.truncated


def test_json_streams_transactions_in_chunks(client, compliance_officer, subject):
    from compliance.services.report import subject_report_json

    TransactionFactory.create_batch(25, customer=subject)
    with CaptureQueriesContext(connection) as ctx:
        parts = list(subject_report_json(customer=subject, viewer=compliance_officer, chunk_size=10))
    report = json.loads("".join(parts))
    assert len(report["transactions"]) == 30
    # one JSON fragment per row: nothing assembles the whole list first
    assert len(parts) > 30
    tx_reads = [q["sql"] for q in ctx.captured_queries if 'FROM "accounts_transaction"' in q["sql"] and "COUNT" not in q["sql"] and "SUM" not in q["sql"]]
    # SQLite has no server-side cursor: Django reads the same query in chunk_size fetches
    assert len(tx_reads) == 1


def test_lookup_from_the_landing_page(client, make_user, subject):
    client.force_login(make_user("c", "compliance"))
    index = client.get(reverse("compliance:index")).content.decode()
    assert reverse("compliance:subject-report-lookup") in index and reverse("compliance:audit") in index
    response = client.get(reverse("compliance:subject-report-lookup"), {"customer": f"  {subject.external_id} "})
    assert response.status_code == 302 and response.url == reverse("compliance:subject-report", args=[subject.external_id])
    response = client.get(reverse("compliance:subject-report-lookup"), {"customer": "C-NOPE"})
    assert response.status_code == 400 and "No customer with this id." in response.content.decode()
    assert not AuditEvent.objects.filter(action="subject.report").exists()  # a lookup is not a report
    client.force_login(make_user("a", "analyst"))
    assert client.get(reverse("compliance:subject-report-lookup"), {"customer": subject.external_id}).status_code == 403


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_report_is_read_from_one_snapshot_on_postgresql(client, compliance_officer):
    from compliance.services.report import one_snapshot

    with one_snapshot(), connection.cursor() as cursor:
        cursor.execute("SHOW transaction_isolation")
        assert cursor.fetchone()[0] == "repeatable read"
        cursor.execute("SHOW transaction_read_only")
        assert cursor.fetchone()[0] == "on"
    # and the views work outside a test transaction (the isolation is set before the first read)
    customer = CustomerFactory()
    TransactionFactory.create_batch(3, customer=customer)
    client.force_login(compliance_officer)
    assert len(_json(client.get(reverse("compliance:subject-report-json", args=[customer.external_id])))["transactions"]) == 3
    assert client.get(reverse("compliance:subject-report", args=[customer.external_id])).status_code == 200
