"""The disclosures page: versions with hashes and effective dates, coverage of the version in force
among customers holding a line, acknowledgement records with filters, a fixed query budget."""

from datetime import timedelta

import pytest
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone

from compliance.filters import AcknowledgementFilterForm, acknowledgement_queryset
from compliance.selectors import disclosure_summaries
from tests.factories import CreditLineFactory, CustomerFactory, DisclosureAcknowledgementFactory, DisclosureFactory


@pytest.fixture(autouse=True)
def _no_cached_figures():
    cache.clear()


def days_ago(n):
    return timezone.now() - timedelta(days=n)


@pytest.mark.django_db
def test_versions_carry_hash_and_effective_dates_and_coverage_counts_lines_held():
    v1 = DisclosureFactory(kind="risk_disclosure", version=1, published_at=days_ago(100))
    v2 = DisclosureFactory(kind="risk_disclosure", version=2, published_at=days_ago(40))
    future = DisclosureFactory(kind="risk_disclosure", version=3, published_at=timezone.now() + timedelta(days=5))
    open_acked = CreditLineFactory(access="open").customer
    limited_missing = CreditLineFactory(access="limited", limit_amount=100).customer
    CreditLineFactory(access="closed", limit_amount=0)  # holds no line: not counted
    DisclosureAcknowledgementFactory(customer=open_acked, disclosure=v2)
    DisclosureAcknowledgementFactory(customer=limited_missing, disclosure=v1)  # an old version does not count

    risk = next(s for s in disclosure_summaries() if s.kind == "risk_disclosure")

    assert risk.current == v2  # v3 is not published yet
    by_version = {v.disclosure.version: v for v in risk.versions}
    assert by_version[1].effective_until == v2.published_at and not by_version[1].in_force
    assert by_version[2].effective_until == future.published_at and by_version[2].in_force
    assert (by_version[1].acknowledgements, by_version[2].acknowledgements) == (1, 1)
    assert (risk.lines_held, risk.acknowledged, risk.missing) == (2, 1, 1)
    assert risk.coverage == 0.5


@pytest.mark.django_db
def test_the_page_shows_hash_coverage_and_records(client, compliance_officer):
    v1 = DisclosureFactory(kind="risk_disclosure", version=1, published_at=days_ago(10))
    line = CreditLineFactory(access="open")
    ack = DisclosureAcknowledgementFactory(customer=line.customer, disclosure=v1)
    client.force_login(compliance_officer)
    html = client.get(reverse("compliance:disclosures")).content.decode()
    assert v1.content_hash in html
    assert 'data-coverage="risk_disclosure"' in html and "100%" in html
    assert f'data-acknowledgement="{ack.pk}"' in html


@pytest.mark.django_db
def test_acknowledgement_filters():
    risk = DisclosureFactory(kind="risk_disclosure", version=1)
    privacy = DisclosureFactory(kind="privacy_notice", version=1)
    a = DisclosureAcknowledgementFactory(disclosure=risk, shown_at=days_ago(20), acknowledged_at=days_ago(20))
    b = DisclosureAcknowledgementFactory(disclosure=privacy, channel="web")
    c = DisclosureAcknowledgementFactory(disclosure=risk, customer=b.customer)

    def found(**params):
        form = AcknowledgementFilterForm(params)
        assert form.is_valid(), form.errors
        return set(acknowledgement_queryset(form.cleaned_data).values_list("pk", flat=True))

    assert found() == {a.pk, b.pk, c.pk}
    assert found(kind="risk_disclosure") == {a.pk, c.pk}
    assert found(customer=b.customer.external_id) == {b.pk, c.pk}
    assert found(channel="web") == {b.pk}
    assert found(kind="risk_disclosure", version="1") == {a.pk, c.pk}
    assert found(acknowledged_to=days_ago(10).date().isoformat()) == {a.pk}
    assert found(acknowledged_from=days_ago(1).date().isoformat()) == {b.pk, c.pk}


@pytest.mark.django_db
def test_a_bad_filter_is_named(client, compliance_officer):
    client.force_login(compliance_officer)
    response = client.get(reverse("compliance:disclosures"), {"kind": "menu", "acknowledged_from": "yesterday"})
    assert {"kind", "acknowledged_from"} <= set(response.context["form"].errors)
    assert response.context["page"] is None


@pytest.mark.django_db
def test_disclosures_query_budget(client, compliance_officer, django_assert_max_num_queries):
    versions = [DisclosureFactory(kind=kind, version=v, published_at=days_ago(50 - v)) for kind in ("risk_disclosure", "privacy_notice", "product_terms", "consent_text") for v in (1, 2)]
    for _ in range(60):
        DisclosureAcknowledgementFactory(customer=CreditLineFactory(access="open").customer, disclosure=versions[1])
    client.force_login(compliance_officer)
    # session, user, groups, groups (top bar), versions, acknowledgement counts, coverage × 3 kinds, page rows
    with django_assert_max_num_queries(10):
        response = client.get(reverse("compliance:disclosures"), {"page_size": "50"})
    assert len(response.context["page"].rows) == 50 and response.context["page"].has_next
    # cached figures: the second view reads only the versions and the page
    with django_assert_max_num_queries(6):
        client.get(reverse("compliance:disclosures"))


@pytest.mark.django_db
def test_each_version_text_is_readable_and_missing_links_to_the_customers(client, compliance_officer):
    v1 = DisclosureFactory(kind="risk_disclosure", version=1, published_at=days_ago(100), body="Old risk words.")
    v2 = DisclosureFactory(kind="risk_disclosure", version=2, published_at=days_ago(10), body="Borrowing costs money.\n\nRepay on time.")
    acked = CreditLineFactory(access="open").customer
    missing = CreditLineFactory(access="limited", limit_amount=100).customer
    CreditLineFactory(access="closed", limit_amount=0)  # holds no line: never missing
    DisclosureAcknowledgementFactory(customer=acked, disclosure=v2)
    DisclosureAcknowledgementFactory(customer=missing, disclosure=v1)  # an old version is still missing
    client.force_login(compliance_officer)
    html = client.get(reverse("compliance:disclosures")).content.decode()
    assert "<p>Borrowing costs money.</p>" in html and "Old risk words." in html  # the text, not only its hash
    missing_url = reverse("compliance:disclosure-missing", args=["risk_disclosure"])
    assert f'<a href="{missing_url}" data-missing="risk_disclosure">1 missing</a>' in html
    page = client.get(missing_url)
    assert page.status_code == 200
    assert [line.customer for line in page.context["page"].rows] == [missing]
    assert f'data-customer="{missing.external_id}"' in page.content.decode()


@pytest.mark.django_db
def test_missing_list_refuses_unknown_kinds_and_analysts(client, compliance_officer, analyst):
    client.force_login(analyst)
    assert client.get(reverse("compliance:disclosure-missing", args=["risk_disclosure"])).status_code == 403
    client.force_login(compliance_officer)
    assert client.get(reverse("compliance:disclosure-missing", args=["nonsense"])).status_code == 404
    assert client.get(reverse("compliance:disclosure-missing", args=["consent_text"])).status_code == 404
    # no version in force yet: the page says so
    assert b"No version of this document is in force yet." in client.get(reverse("compliance:disclosure-missing", args=["privacy_notice"])).content
