"""The admin shows every model, writes nothing, masks PII and costs the same for 1 row or 50."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib import admin
from django.db.models import Model
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import (
    BureauReport,
    Consent,
    ConsentEvent,
    CreditApplication,
    Customer,
    Disclosure,
    DisclosureAcknowledgement,
    RepaymentInstallment,
    Transaction,
)
from decisions.models import (
    CaseNote,
    CreditDecision,
    CreditLine,
    Override,
    PolicyVersion,
    RecomputeChunk,
    RecomputeRun,
    RiskAlert,
    ScoreSnapshot,
)
from riskops.core.admin import ReadOnlyAdminMixin
from riskops.core.models import AuditEvent, Incident

pytestmark = pytest.mark.django_db


def _planner_estimate_queries() -> int:
    # LargeTablePaginator asks PostgreSQL's planner for an estimate before counting a small table.
    from django.conf import settings

    return 1 if settings.DATABASES["default"]["ENGINE"].endswith("postgresql") else 0


_ESTIMATE = _planner_estimate_queries()

NATIONAL_ID = "850101123456"
PHONE = "+15550001234"

# Everything here is a ledger or (for now) view-only: nothing is added, edited or deleted in the admin.
READ_ONLY_MODELS = [
    Customer,
    Transaction,
    RepaymentInstallment,
    CreditApplication,
    BureauReport,
    Consent,
    ConsentEvent,
    Disclosure,
    DisclosureAcknowledgement,
    AuditEvent,
    PolicyVersion,
    ScoreSnapshot,
    CreditDecision,
    CreditLine,
    RiskAlert,
    CaseNote,
    # Override: decided through actions and requested through the add page, both via the
    # services; its own tests are tests/decisions/test_overrides_admin.py.
    RecomputeRun,
    RecomputeChunk,
    Incident,  # written by the on-call check only (riskops/core/oncall.py)
]
# Admins with workflows that go through services (their own tests cover them).
WORKFLOW_MODELS = [Override]


def _url(obj_or_model: Model | type[Model], view: str, *args: object) -> str:
    opts = obj_or_model._meta
    return reverse(f"admin:{opts.app_label}_{opts.model_name}_{view}", args=args)


def _make_customer(n: int) -> Customer:
    return Customer.objects.create(
        external_id=f"C{n:05d}",
        full_name=f"Customer {n}",
        national_id=f"{NATIONAL_ID[:-4]}{n:04d}",
        phone=f"+1555{n:07d}",
        onboarded_at=timezone.now() - timedelta(days=400),
    )


@pytest.fixture
def rows(make_user) -> dict[type[Model], Model]:
    """One row of every model, linked the way the services would link them."""
    now = timezone.now()
    author = make_user("nora", "analyst")
    approver = make_user("rex", "risk_admin", is_staff=True)
    customer = Customer.objects.create(
        external_id="C-0001",
        full_name="Ada Example",
        national_id=NATIONAL_ID,
        phone=PHONE,
        onboarded_at=now - timedelta(days=400),
    )
    draw = Transaction.objects.create(
        external_id="T-1", customer=customer, kind=Transaction.Kind.CREDIT_DRAW, amount=Decimal("300.00"), occurred_at=now
    )
    installment = RepaymentInstallment.objects.create(
        draw=draw, customer=customer, sequence=1, due_on=(now + timedelta(days=30)).date(), amount_due=Decimal("100.00")
    )
    application = CreditApplication.objects.create(
        external_id="A-1", customer=customer, requested_amount=Decimal("500.00"), applied_at=now
    )
    bureau = BureauReport.objects.create(
        external_id="B-1", customer=customer, score=700, external_lenders=1, external_debt=Decimal("1000.00"), reported_at=now
    )
    disclosure = Disclosure.objects.create(
        kind=Disclosure.Kind.CONSENT_TEXT, version=1, title="Consent", body="We score you.", content_hash="a" * 64,
        published_at=now - timedelta(days=500),
    )
    acknowledgement = DisclosureAcknowledgement.objects.create(
        customer=customer, disclosure=disclosure, shown_at=now - timedelta(minutes=1), acknowledged_at=now
    )
    consent = Consent.objects.create(
        customer=customer, purpose=Consent.Purpose.CREDIT_SCORING, disclosure=disclosure, channel=Consent.Channel.APP,
        granted_at=now,
    )
    consent_event = ConsentEvent.objects.create(consent=consent, kind=ConsentEvent.Kind.GRANTED, occurred_at=now)
    audit = AuditEvent.objects.create(
        occurred_at=now, actor=approver, actor_label=approver.username, action="policy.activate",
        target_type="policyversion", target_id="1", prev_hash="0" * 64, hash="b" * 64,
    )
    policy = PolicyVersion.objects.get(version=1)  # the default policy shipped by a migration
    run = RecomputeRun.objects.create(policy_version=policy, requested_by=approver, total_customers=1, total_chunks=1)
    chunk = RecomputeChunk.objects.create(run=run, index=0, first_customer_id=customer.pk, last_customer_id=customer.pk, size=1)
    snapshot = ScoreSnapshot.objects.create(
        customer=customer, policy_version=policy, run=run, computed_at=now, trigger="nightly", score=650,
        probability_of_default=Decimal("0.04000"), band="B",
    )
    snapshot.consents_used.add(consent)
    override = Override.objects.create(
        customer=customer, access="open", limit_amount=Decimal("800.00"), reason="Salary verified",
        expires_at=now + timedelta(days=30), requested_by=author, created_at=now,
    )
    decision = CreditDecision.objects.create(
        customer=customer, snapshot=snapshot, policy_version=policy, run=run, decided_at=now, trigger="nightly",
        access="open", limit_amount=Decimal("600.00"), model_access="open", model_limit=Decimal("600.00"),
    )
    line = CreditLine.objects.create(
        customer=customer, access="open", limit_amount=Decimal("600.00"), score=650, band="B",
        last_decision=decision, last_snapshot=snapshot,
    )
    alert = RiskAlert.objects.create(
        customer=customer, rule=RiskAlert.Rule.SPENDING_SPIKE, action=RiskAlert.Action.REVIEW, snapshot=snapshot,
        raised_at=now, last_seen_at=now, assigned_to=author,
    )
    note = CaseNote.objects.create(customer=customer, alert=alert, author=author, body="Called the customer.")
    incident = Incident.objects.create(kind="nightly_run_failed", key=str(run.pk), summary="The nightly run failed.", opened_at=now)
    found = [
        customer, draw, installment, application, bureau, disclosure, acknowledgement, consent, consent_event, audit,
        policy, run, chunk, snapshot, override, decision, line, alert, note, incident,
    ]
    return {type(obj): obj for obj in found}


def test_fixture_covers_every_model_of_ours(rows):
    ours = {m for m in admin.site._registry if m._meta.app_label in {"accounts", "decisions", "core"}}
    assert ours == set(rows) == set(READ_ONLY_MODELS) | set(WORKFLOW_MODELS)


@pytest.mark.parametrize("model", list(admin.site._registry), ids=lambda m: m._meta.label)
def test_every_registered_changelist_renders(admin_client: Client, rows, model: type[Model]):
    assert admin_client.get(_url(model, "changelist")).status_code == 200


@pytest.mark.parametrize("model", READ_ONLY_MODELS, ids=lambda m: m._meta.label)
def test_change_page_renders_as_read_only_view(admin_client: Client, rows, model: type[Model]):
    response = admin_client.get(_url(model, "change", rows[model].pk))

    assert response.status_code == 200
    # A view page: no save buttons and no delete link.
    assert b'name="_save"' not in response.content
    assert _url(model, "delete", rows[model].pk).encode() not in response.content


@pytest.mark.parametrize("model", READ_ONLY_MODELS, ids=lambda m: m._meta.label)
def test_read_only_models_refuse_add_change_and_delete(admin_client: Client, rows, model: type[Model]):
    obj = rows[model]
    model_admin = admin.site._registry[model]

    assert isinstance(model_admin, ReadOnlyAdminMixin)
    assert admin_client.get(_url(model, "add")).status_code == 403
    assert admin_client.post(_url(model, "add"), {}).status_code == 403
    assert admin_client.post(_url(model, "change", obj.pk), {}).status_code == 403
    assert admin_client.get(_url(model, "delete", obj.pk)).status_code == 403
    assert admin_client.post(_url(model, "delete", obj.pk), {"post": "yes"}).status_code == 403
    # The bulk action is gone too, not just hidden.
    response = admin_client.post(
        _url(model, "changelist"), {"action": "delete_selected", "_selected_action": [obj.pk], "post": "yes"}
    )
    assert response.status_code in (200, 302)
    assert model.objects.filter(pk=obj.pk).exists()


def test_consent_page_shows_its_events_inline(admin_client: Client, rows):
    response = admin_client.get(_url(rows[Consent], "change", rows[Consent].pk))

    (inline,) = response.context["inline_admin_formsets"]
    assert inline.formset.model is ConsentEvent
    assert list(inline.formset.queryset) == [rows[ConsentEvent]]
    assert not inline.has_add_permission and not inline.has_change_permission


def test_customer_changelist_masks_pii(admin_client: Client, rows):
    customer = rows[Customer]

    response = admin_client.get(_url(Customer, "changelist"))

    body = response.content.decode()
    assert customer.national_id_masked in body
    assert customer.phone_masked in body
    assert NATIONAL_ID not in body
    assert PHONE not in body


def test_customer_search_does_not_match_national_id(admin_client: Client, rows):
    # Otherwise the search box is an oracle for guessed ids.
    response = admin_client.get(_url(Customer, "changelist"), {"q": NATIONAL_ID})

    assert response.context["cl"].result_count == 0


def test_customer_detail_masks_pii_for_pii_permission_holders_too(client: Client, rows, risk_admin):
    client.force_login(risk_admin)  # risk_admin holds accounts.view_customer_pii: an audited reveal shows them

    body = client.get(_url(rows[Customer], "change", rows[Customer].pk)).content.decode()

    assert rows[Customer].national_id_masked in body and NATIONAL_ID not in body
    assert rows[Customer].phone_masked in body and PHONE not in body
    assert reverse("admin:accounts_customer_reveal", args=[rows[Customer].pk]) in body  # tests/accounts/test_pii_reveal.py


def test_customer_detail_masks_pii_for_everyone_else(client: Client, rows, make_user):
    officer = make_user("cleo", "compliance", is_staff=True)  # may view customers, not their PII
    client.force_login(officer)

    response = client.get(_url(rows[Customer], "change", rows[Customer].pk))

    body = response.content.decode()
    assert response.status_code == 200
    assert rows[Customer].national_id_masked in body
    assert rows[Customer].phone_masked in body
    assert NATIONAL_ID not in body
    assert PHONE not in body


def test_role_user_can_view_but_not_delete(client: Client, rows, risk_admin):
    client.force_login(risk_admin)

    response = client.get(_url(Override, "changelist"))

    assert response.status_code == 200
    assert "delete_selected" not in response.context["cl"].model_admin.get_actions(response.wsgi_request)
    # the add page is a request through override_request (decisions/governance/admin_overrides.py)
    assert client.get(_url(Override, "add")).status_code == 200
    assert client.post(_url(Override, "delete", rows[Override].pk), {"post": "yes"}).status_code == 403


def test_integer_id_search_tolerates_text(admin_client: Client, rows):
    # An exact search on an integer id must not 500 on a non-numeric term.
    assert admin_client.get(_url(RecomputeRun, "changelist"), {"q": "abc"}).status_code == 200
    assert admin_client.get(_url(RecomputeChunk, "changelist"), {"q": "abc"}).status_code == 200


def test_transaction_changelist_query_budget(admin_client: Client, django_assert_max_num_queries):
    now = timezone.now()
    customers = [_make_customer(n) for n in range(10)]
    Transaction.objects.bulk_create(
        Transaction(
            external_id=f"T-{n}",
            customer=customers[n % 10],
            kind=Transaction.Kind.PURCHASE,
            amount=Decimal("12.50") + n,
            occurred_at=now - timedelta(hours=n),
        )
        for n in range(50)
    )

    # session, user, page count (no second full count; on PostgreSQL the planner's estimate
    # first), page rows with customer joined, the user's groups (role context processor)
    with django_assert_max_num_queries(5 + _ESTIMATE):
        response = admin_client.get(_url(Transaction, "changelist"))

    assert response.status_code == 200
    assert response.context["cl"].result_count == 50
    assert "C00003" in response.content.decode()


# --- At scale: no exact count of a large table, bounded pages, searches an index serves ---------

from django.db import connection  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from riskops.core import admin as core_admin  # noqa: E402
from riskops.core.admin import LargeTableAdminMixin, LargeTablePaginator  # noqa: E402
from riskops.core.audit import audit_record  # noqa: E402
from tests import factories as f  # noqa: E402


def _audit_events(n: int) -> None:
    for i in range(n):
        audit_record(actor=None, action="seed.demo_book", target=("test", i), after={"n": i})


LARGE_TABLE_ROWS = {
    Customer: f.CustomerFactory.create_batch,
    Transaction: f.TransactionFactory.create_batch,
    RepaymentInstallment: f.RepaymentInstallmentFactory.create_batch,
    CreditApplication: f.CreditApplicationFactory.create_batch,
    BureauReport: f.BureauReportFactory.create_batch,
    DisclosureAcknowledgement: f.DisclosureAcknowledgementFactory.create_batch,
    Consent: f.ConsentFactory.create_batch,
    ConsentEvent: f.ConsentEventFactory.create_batch,
    AuditEvent: _audit_events,
    ScoreSnapshot: f.ScoreSnapshotFactory.create_batch,
    CreditDecision: f.CreditDecisionFactory.create_batch,
    CreditLine: f.CreditLineFactory.create_batch,
    RiskAlert: f.RiskAlertFactory.create_batch,
}
# Per view: session, user, the user's groups (role context processor), the count (exact here:
# few rows; bounded when filtered), the page's rows with their foreign keys joined — plus one
# query per related-model list filter for its choices (policy_version on snapshots and
# decisions), and on PostgreSQL the planner's estimate asked before counting.
LARGE_TABLE_BUDGET = {ScoreSnapshot: 6, CreditDecision: 6}


def test_every_admin_of_a_table_that_grows_with_the_book_is_a_large_table_admin():
    large = {m for m, a in admin.site._registry.items() if isinstance(a, LargeTableAdminMixin)}
    assert large == set(LARGE_TABLE_ROWS)


@pytest.mark.parametrize("model", list(LARGE_TABLE_ROWS), ids=lambda m: m._meta.label)
def test_large_changelist_query_budget_does_not_grow_with_rows(admin_client: Client, model: type[Model]):
    url = _url(model, "changelist")
    LARGE_TABLE_ROWS[model](2)
    with CaptureQueriesContext(connection) as few:
        assert admin_client.get(url).status_code == 200

    LARGE_TABLE_ROWS[model](40)
    with CaptureQueriesContext(connection) as many:
        response = admin_client.get(url)

    assert response.status_code == 200
    assert response.context["cl"].result_count == model.objects.count()
    assert len(many) == len(few) <= LARGE_TABLE_BUDGET.get(model, 5) + _ESTIMATE, [q["sql"] for q in many.captured_queries]


@pytest.fixture
def small_pages(monkeypatch):
    """Pages end after 20 rows (5 pages of 4) instead of 10,000, so a test needs few rows."""
    monkeypatch.setattr(LargeTablePaginator, "max_rows", 20)
    for model in (Transaction, Customer):
        monkeypatch.setattr(admin.site._registry[model], "list_per_page", 4)


def test_a_page_past_the_last_one_shown_is_refused_without_an_offset_query(admin_client: Client, small_pages):
    f.TransactionFactory.create_batch(30)
    url = _url(Transaction, "changelist")

    assert admin_client.get(url, {"p": 5}).status_code == 200
    with CaptureQueriesContext(connection) as queries:
        response = admin_client.get(url, {"p": 6})

    # Django's changelist answers an out-of-range page with its "invalid lookup" redirect.
    assert response.status_code == 302 and "e=1" in response.url
    assert not any("OFFSET" in q["sql"].upper() for q in queries.captured_queries)


def test_a_filtered_changelist_counts_only_up_to_the_last_page_shown(admin_client: Client, small_pages):
    f.TransactionFactory.create_batch(30, kind=Transaction.Kind.PURCHASE)

    with CaptureQueriesContext(connection) as queries:
        response = admin_client.get(_url(Transaction, "changelist"), {"kind__exact": "purchase"})

    cl = response.context["cl"]
    assert cl.result_count == 20 and cl.paginator.capped and cl.paginator.num_pages == 5
    (count_sql,) = [q["sql"] for q in queries.captured_queries if "COUNT(" in q["sql"].upper()]
    assert "LIMIT 21" in count_sql
    assert "more than 20 transactions" in " ".join(response.content.decode().split())


def test_transaction_search_takes_exact_ids_through_their_indexes(admin_client: Client):
    mine = f.CustomerFactory(external_id="C777-0000001")
    theirs = f.CustomerFactory(external_id="C777-0000002")
    wanted = f.TransactionFactory.create_batch(3, customer=mine)
    other = f.TransactionFactory(customer=theirs)
    url = _url(Transaction, "changelist")

    with CaptureQueriesContext(connection) as queries:
        by_customer = admin_client.get(url, {"q": "C777-0000001"}).context["cl"].result_list
    by_id = admin_client.get(url, {"q": other.external_id}).context["cl"].result_list
    by_lowercase = admin_client.get(url, {"q": "c777-0000001"}).context["cl"].result_list

    assert {t.pk for t in by_customer} == {t.pk for t in wanted}
    assert [t.pk for t in by_id] == [other.pk]
    assert list(by_lowercase) == []  # exact, case and all: an UPPER() match has no index
    sql = " ".join(q["sql"].upper() for q in queries.captured_queries)
    assert "UPPER(" not in sql and "LIKE" not in sql


def test_customer_search_is_a_case_sensitive_prefix_of_the_external_id(admin_client: Client):
    a, b = f.CustomerFactory(external_id="C123-0000001"), f.CustomerFactory(external_id="C123-0000002")
    f.CustomerFactory(external_id="C124-0000001", full_name="C123 lookalike")

    found = admin_client.get(_url(Customer, "changelist"), {"q": "C123-"}).context["cl"].result_list

    assert {c.pk for c in found} == {a.pk, b.pk}


def test_audit_search_finds_a_target_by_type_and_id(admin_client: Client):
    _audit_events(3)

    found = admin_client.get(_url(AuditEvent, "changelist"), {"q": "test:1"}).context["cl"].result_list

    assert [(e.target_type, e.target_id) for e in found] == [("test", "1")]


@pytest.mark.postgres
def test_unfiltered_transactions_changelist_counts_no_rows(admin_client: Client, monkeypatch):
    # Given a transactions table PostgreSQL's statistics put at 5.4M rows
    f.TransactionFactory.create_batch(30)
    monkeypatch.setattr(core_admin, "planner_row_estimate", lambda queryset: 5_400_000)

    # When the unfiltered changelist is viewed
    with CaptureQueriesContext(connection) as queries:
        response = admin_client.get(_url(Transaction, "changelist"))

    # Then no COUNT runs over the table: the count is the estimate, and says so; pages stop at 100
    cl = response.context["cl"]
    assert cl.paginator.estimated and cl.result_count == 5_400_000 and cl.paginator.num_pages == 100
    assert not [q["sql"] for q in queries.captured_queries if "COUNT(" in q["sql"].upper()]
    assert "about 5400000 transactions" in " ".join(response.content.decode().split())
    assert len(cl.result_list) == 30


@pytest.mark.postgres
def test_planner_row_estimate_reads_the_tables_statistics():
    from django.db import connection as pg

    f.DisclosureFactory.create_batch(3)
    with pg.cursor() as cursor:
        # A tiny table: ANALYZE's statistics outlive the test's rollback, harmlessly here.
        cursor.execute("ANALYZE accounts_disclosure")

    assert core_admin.planner_row_estimate(Disclosure.objects.all()) == Disclosure.objects.count()


def test_planner_row_estimate_is_none_off_postgresql_or_before_analyze():
    # SQLite has no estimate; on PostgreSQL a never-analysed table has none either (reltuples -1)
    # and the paginator counts exactly. The table is one no bulk loader analyses (the replay and
    # the model-ready book refresh the statistics of the tables they fill).
    from api.models import ApiClient

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT reltuples FROM pg_class WHERE oid = 'api_apiclient'::regclass")
            if cursor.fetchone()[0] >= 0:
                pytest.skip("the test database's API client table has been analysed")
    assert core_admin.planner_row_estimate(ApiClient.objects.all()) is None
