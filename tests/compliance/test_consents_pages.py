"""Compliance landing page and consent pages: roles, filters, provenance, withdrawal proof, budgets."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.events import consent_withdraw
from accounts.models import Consent
from compliance.filters import ConsentFilterForm, consent_queryset, decisions_using_consent
from compliance.selectors import withdrawal_proof
from decisions.models import CreditDecision, ScoreSnapshot
from decisions.engine.services.recompute import decision_recompute
from tests.decisions.scenarios import make_customer
from tests.factories import ConsentFactory, CustomerFactory, DisclosureFactory


@pytest.fixture(autouse=True)
def _no_cached_figures():
    from django.core.cache import cache

    cache.clear()  # book figures are cached for 5 minutes; each test builds its own book


@pytest.fixture
def scored(db):
    """A customer scored once under all three consents."""
    customer = make_customer()
    decision_recompute(customer=customer, trigger="manual")
    return customer


def _urls(customer, consent):
    return [
        reverse("compliance:index"),
        reverse("compliance:consents"),
        reverse("compliance:consent", args=[consent.pk]),
        reverse("compliance:customer-consents", args=[customer.external_id]),
        reverse("compliance:disclosures"),
        reverse("compliance:notices"),
    ]


@pytest.mark.django_db
@pytest.mark.parametrize("role, expected", [("compliance", 200), ("risk_admin", 200), ("analyst", 403)])
def test_every_page_by_role(client, make_user, scored, role, expected):
    client.force_login(make_user("u-" + role, role))
    consent = Consent.objects.filter(customer=scored).first()
    for url in _urls(scored, consent):
        assert client.get(url).status_code == expected, url


@pytest.mark.django_db
def test_anonymous_is_sent_to_login(client, scored):
    consent = Consent.objects.filter(customer=scored).first()
    for url in _urls(scored, consent):
        response = client.get(url)
        assert response.status_code == 302 and reverse("login") in response["Location"], url


@pytest.mark.django_db
def test_compliance_users_change_nothing(client, compliance_officer, scored):
    client.force_login(compliance_officer)
    consent = Consent.objects.filter(customer=scored).first()
    for url in _urls(scored, consent):
        assert client.post(url).status_code == 405, url


@pytest.mark.django_db
def test_the_index_links_the_pages_and_shows_the_charts(client, compliance_officer, scored):
    consent_withdraw(consent=Consent.objects.get(customer=scored, purpose="bureau_query"))  # an event this week
    client.force_login(compliance_officer)
    html = client.get(reverse("compliance:index")).content.decode()
    for name in ("consents", "disclosures", "notices"):
        assert reverse(f"compliance:{name}") in html
    assert 'id="chart-consent-coverage"' in html and 'id="chart-consent-weekly"' in html
    assert "<script>" not in html.replace('<script src', '')  # no inline script (CSP)


@pytest.mark.django_db
def test_the_compliance_link_is_in_the_top_bar_for_compliance_not_for_analysts(client, compliance_officer, analyst):
    client.force_login(compliance_officer)
    assert reverse("compliance:index") in client.get(reverse("compliance:consents")).content.decode()
    client.force_login(analyst)
    assert reverse("compliance:index") not in client.get(reverse("decisions:queue")).content.decode()


# --- filters ---------------------------------------------------------------------------------------


def _filtered(**params):
    form = ConsentFilterForm(params)
    assert form.is_valid(), form.errors
    return set(consent_queryset(form.cleaned_data).values_list("pk", flat=True))


@pytest.mark.django_db
def test_consent_filters_each_narrow_the_list():
    v1 = DisclosureFactory(kind="consent_text", version=1)
    v2 = DisclosureFactory(kind="consent_text", version=2)
    now = timezone.now()
    a = ConsentFactory(purpose="credit_scoring", channel="app", disclosure=v1, granted_at=now - timedelta(days=40))
    b = ConsentFactory(purpose="bureau_query", channel="web", disclosure=v2, granted_at=now - timedelta(days=5))
    c = ConsentFactory(purpose="bureau_query", state="withdrawn", channel="app", disclosure=v2, granted_at=now - timedelta(days=3))

    assert _filtered() == {a.pk, b.pk, c.pk}
    assert _filtered(customer=a.customer.external_id) == {a.pk}
    assert _filtered(purpose="bureau_query") == {b.pk, c.pk}
    assert _filtered(state="withdrawn") == {c.pk}
    assert _filtered(channel="web") == {b.pk}
    assert _filtered(version="1") == {a.pk}
    day = lambda d: (now - timedelta(days=d)).date().isoformat()  # noqa: E731
    assert _filtered(granted_from=day(10)) == {b.pk, c.pk}
    assert _filtered(granted_to=day(10)) == {a.pk}
    assert _filtered(granted_from=day(6), granted_to=day(4)) == {b.pk}
    assert _filtered(purpose="bureau_query", state="active") == {b.pk}


@pytest.mark.django_db
@pytest.mark.parametrize("params, field", [
    ({"purpose": "fishing"}, "purpose"),
    ({"state": "maybe"}, "state"),
    ({"version": "0"}, "version"),
    ({"version": "x"}, "version"),
    ({"granted_from": "2026-13-01"}, "granted_from"),
    ({"granted_from": "2026-05-02", "granted_to": "2026-05-01"}, "granted_to"),
])
def test_bad_filters_name_the_field_and_list_nothing(client, compliance_officer, params, field):
    ConsentFactory()
    client.force_login(compliance_officer)
    response = client.get(reverse("compliance:consents"), params)
    assert response.status_code == 200
    assert field in response.context["form"].errors
    assert response.context["page"] is None
    assert 'class="error-summary"' in response.content.decode()


@pytest.mark.django_db
def test_the_list_pages_without_counting(client, compliance_officer, django_assert_max_num_queries):
    customer = CustomerFactory()
    text = DisclosureFactory()
    for i in range(30):
        ConsentFactory(customer=CustomerFactory(), disclosure=text, granted_at=timezone.now() - timedelta(hours=i))
    client.force_login(compliance_officer)
    first = client.get(reverse("compliance:consents"), {"page_size": "25"}).context["page"]
    assert len(first.rows) == 25 and first.has_next and not first.has_previous
    second = client.get(reverse("compliance:consents") + first.next_url).context["page"]
    assert len(second.rows) == 5 and not second.has_next and second.number == 2
    assert not {c.pk for c in first.rows} & {c.pk for c in second.rows}
    assert customer  # (a customer without consents does not appear)


@pytest.mark.django_db
def test_consent_list_query_budget(client, compliance_officer, django_assert_max_num_queries):
    text = DisclosureFactory()
    for _ in range(60):
        ConsentFactory(disclosure=text)
    client.force_login(compliance_officer)
    # session, user, groups (role check), groups again (top bar), page rows (customer and text joined)
    with django_assert_max_num_queries(6) as ctx:
        response = client.get(reverse("compliance:consents"), {"page_size": "50"})
    assert response.status_code == 200 and len(response.context["page"].rows) == 50
    assert not any("COUNT(" in q["sql"].upper() for q in ctx.captured_queries)


# --- ledger, provenance, withdrawal proof --------------------------------------------------------


@pytest.mark.django_db
def test_the_customer_ledger_shows_every_consent_with_events_evidence_and_text_version(client, compliance_officer, scored):
    consent = Consent.objects.get(customer=scored, purpose="bureau_query")
    consent_withdraw(consent=consent, evidence={"device": "phone-7"})
    client.force_login(compliance_officer)
    response = client.get(reverse("compliance:customer-consents", args=[scored.external_id]))
    html = response.content.decode()
    assert len(response.context["consents"]) == 3
    assert "phone-7" in html and f"v{consent.disclosure.version}" in html
    assert client.get(reverse("compliance:customer-consents", args=["NOPE"])).status_code == 404


@pytest.mark.django_db
def test_provenance_lists_the_snapshots_and_decisions_that_used_the_consent(client, compliance_officer, scored):
    consent = Consent.objects.get(customer=scored, purpose="bureau_query")
    snapshot = ScoreSnapshot.objects.get(customer=scored)
    decision = CreditDecision.objects.get(customer=scored)
    other = make_customer()
    decision_recompute(customer=other, trigger="manual")

    assert list(decisions_using_consent(consent)) == [decision]
    client.force_login(compliance_officer)
    response = client.get(reverse("compliance:consent", args=[consent.pk]))
    assert [s.pk for s in response.context["page"].rows] == [snapshot.pk]
    html = response.content.decode()
    assert f'data-decision="{decision.pk}"' in html
    assert response.context["proof"] is None  # active: no withdrawal to prove
    assert client.get(reverse("compliance:consent", args=[999999])).status_code == 404


@pytest.mark.django_db
def test_a_withdrawn_consent_proves_nothing_used_it_afterwards(client, compliance_officer, scored):
    consent = Consent.objects.get(customer=scored, purpose="transaction_analysis")
    consent_withdraw(consent=consent)  # asks for a recompute on commit: eager in tests
    decision_recompute(customer=scored, trigger="manual")
    consent.refresh_from_db()

    client.force_login(compliance_officer)
    response = client.get(reverse("compliance:consent", args=[consent.pk]))
    proof = response.context["proof"]
    assert (proof.snapshots_after, proof.decisions_after, proof.holds) == (0, 0, True)
    assert 'data-proof="holds"' in response.content.decode()
    # the snapshots before the withdrawal still show as provenance
    assert len(response.context["page"].rows) == 1
    assert ScoreSnapshot.objects.filter(customer=scored).count() >= 2


@pytest.mark.django_db
def test_the_proof_fails_loudly_if_a_later_snapshot_used_the_consent(client, compliance_officer, scored):
    # given a withdrawn consent that a later snapshot was (wrongly) linked to
    consent = Consent.objects.get(customer=scored, purpose="transaction_analysis")
    consent_withdraw(consent=consent)
    consent.refresh_from_db()
    late = ScoreSnapshot.objects.filter(customer=scored).latest()
    ScoreSnapshot.objects.filter(pk=late.pk).update(computed_at=consent.withdrawn_at + timedelta(seconds=1))
    late.consents_used.add(consent)

    client.force_login(compliance_officer)
    response = client.get(reverse("compliance:consent", args=[consent.pk]))
    assert response.context["proof"].snapshots_after == 1 and not response.context["proof"].holds
    assert 'data-proof="broken"' in response.content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize("purpose, source", [("transaction_analysis", "transactions"), ("bureau_query", "bureau"), ("credit_scoring", None)])
def test_the_proof_checks_what_later_snapshots_read_not_only_their_links(client, compliance_officer, purpose, source):
    # given a withdrawal and the recompute it asks for (which reads nothing under it: the proof holds)
    customer = make_customer()
    decision_recompute(customer=customer, trigger="manual")
    consent = Consent.objects.get(customer=customer, purpose=purpose)
    consent_withdraw(consent=consent)
    consent.refresh_from_db()
    decision_recompute(customer=customer, trigger="consent", now=consent.withdrawn_at + timedelta(seconds=1))
    assert withdrawal_proof(consent=consent).holds
    # when a later snapshot read the source anyway, without linking any consent of that purpose
    late = ScoreSnapshot.objects.filter(customer=customer).latest()
    if source:
        ScoreSnapshot.objects.filter(pk=late.pk).update(data_sources=[*late.data_sources, source])
    else:
        ScoreSnapshot.objects.filter(pk=late.pk).update(score=640)
    # then the proof is broken, and the page says so
    proof = withdrawal_proof(consent=consent)
    assert (proof.snapshots_after, proof.reads_without_consent, proof.holds) == (0, 1, False)
    client.force_login(compliance_officer)
    html = client.get(reverse("compliance:consent", args=[consent.pk])).content.decode()
    assert 'data-proof="broken"' in html and "read what this consent covered under no consent of its purpose" in html


@pytest.mark.django_db
def test_provenance_query_budget(client, compliance_officer, django_assert_max_num_queries):
    customer = make_customer()
    for i in range(30):
        decision_recompute(customer=customer, trigger="manual", now=timezone.now() + timedelta(seconds=i))
    consent = Consent.objects.get(customer=customer, purpose="credit_scoring")
    client.force_login(compliance_officer)
    # session, user, groups, groups (top bar), consent, events, snapshots page, their decisions
    with django_assert_max_num_queries(8):
        response = client.get(reverse("compliance:consent", args=[consent.pk]), {"page_size": "25"})
    assert len(response.context["page"].rows) == 25 and response.context["page"].has_next


@pytest.mark.django_db
def test_book_figures_count_coverage_and_weekly_events(client, compliance_officer, scored):
    from compliance.selectors import book_figures

    make_customer(consents=("credit_scoring",))
    figures = book_figures(fresh=True)
    coverage = {c.purpose: (c.customers, c.share) for c in figures.coverage}
    assert figures.customers == 2
    assert coverage["credit_scoring"] == (2, 1.0)
    assert coverage["bureau_query"] == (1, 0.5)
    assert coverage["marketing"] == (0, 0.0)


@pytest.mark.django_db
def test_export_links_carry_the_filters(client, compliance_officer, scored):
    consent = Consent.objects.filter(customer=scored).first()
    client.force_login(compliance_officer)
    html = client.get(reverse("compliance:consents"), {"purpose": "bureau_query", "page": "1", "page_size": "25"}).content.decode()
    assert reverse("compliance:export-consents") + "?purpose=bureau_query\"" in html
    html = client.get(reverse("compliance:consent", args=[consent.pk])).content.decode()
    assert f'{reverse("compliance:export-decisions")}?consent={consent.pk}"' in html


@pytest.mark.django_db
def test_states_have_one_colour_each_on_every_page(client, compliance_officer):
    from compliance.templatetags.compliance_states import state_class

    active = ConsentFactory(state="active")
    withdrawn = ConsentFactory(state="withdrawn", customer=active.customer, purpose="bureau_query")
    client.force_login(compliance_officer)
    pages = [reverse("compliance:consents"), reverse("compliance:customer-consents", args=[active.customer.external_id])]
    for url in pages:
        html = client.get(url).content.decode()
        assert f'<span class="badge access-open">{active.get_state_display()}</span>' in html, url
        assert f'<span class="badge access-closed">{withdrawn.get_state_display()}</span>' in html, url
    html = client.get(reverse("compliance:consent", args=[withdrawn.pk])).content.decode()
    assert f'<span class="badge access-closed">{withdrawn.get_state_display()}</span>' in html
    # a refused or closed line reads as red like a withdrawn consent; anything unknown is neutral
    assert state_class("closed", "notice") == state_class("withdrawn", "consent") == "access-closed"
    assert state_class("nonsense", "consent") == "access-not_offered"
