"""Customer notices: listed for compliance with filters, shown on the risk profile to analysts too."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import Customer
from compliance.filters import NoticeFilterForm, notice_queryset
from decisions.models import CustomerNotice
from decisions.engine.services.recompute import decision_recompute
from tests.decisions.scenarios import make_customer


@pytest.fixture
def notices(db):
    suspended = make_customer(overdue_days=35)
    refused = make_customer(consents=())
    Customer.objects.filter(pk=refused.pk).update(language="zh-hans")
    refused.refresh_from_db()
    for c in (suspended, refused):
        decision_recompute(customer=c, trigger="manual")
    return {n.kind: n for n in CustomerNotice.objects.select_related("customer")}


def _found(**params):
    form = NoticeFilterForm(params)
    assert form.is_valid(), form.errors
    return {n.kind for n in notice_queryset(form.cleaned_data)}


@pytest.mark.django_db
def test_notice_filters(notices):
    assert _found() == {"suspended", "refused"}
    assert _found(kind="refused") == {"refused"}
    assert _found(language="zh-hans") == {"refused"}
    assert _found(customer=notices["suspended"].customer.external_id) == {"suspended"}
    today = timezone.localdate()
    assert _found(created_from=today.isoformat(), created_to=today.isoformat()) == {"suspended", "refused"}
    assert _found(created_to=(today - timedelta(days=1)).isoformat()) == set()


@pytest.mark.django_db
def test_the_list_shows_reasons_as_sent(client, compliance_officer, notices):
    client.force_login(compliance_officer)
    response = client.get(reverse("compliance:notices"), {"language": "zh-hans"})
    html = response.content.decode()
    refused = notices["refused"]
    assert f'data-notice="{refused.pk}"' in html and f'data-notice="{notices["suspended"].pk}"' not in html
    assert refused.reasons[0]["text"] in html and 'lang="zh-hans"' in html


@pytest.mark.django_db
def test_a_bad_notice_filter_is_named(client, compliance_officer):
    client.force_login(compliance_officer)
    response = client.get(reverse("compliance:notices"), {"kind": "angry", "created_from": "2026-02-30"})
    assert {"kind", "created_from"} <= set(response.context["form"].errors)


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["analyst", "compliance", "risk_admin"])
def test_the_risk_profile_shows_the_notices_to_every_role(client, make_user, notices, role):
    client.force_login(make_user("u-" + role, role))
    notice = notices["suspended"]
    html = client.get(reverse("decisions:customer", args=[notice.customer.external_id])).content.decode()
    assert f'data-notice="{notice.pk}"' in html and notice.review_text in html
    # the decision's limit is shown as money everywhere on the profile: currency, separators, cents
    assert f'<span class="num money">¥{notice.decision.limit_amount:,.2f}</span>' in html


@pytest.mark.django_db
def test_analysts_cannot_open_the_compliance_notice_list(analyst_client):
    assert analyst_client.get(reverse("compliance:notices")).status_code == 403


@pytest.mark.django_db
def test_notices_query_budget(client, compliance_officer, django_assert_max_num_queries):
    for i in range(30):
        c = make_customer(consents=())
        decision_recompute(customer=c, trigger="manual")
    assert CustomerNotice.objects.count() == 30
    client.force_login(compliance_officer)
    # session, user, groups, groups (top bar), page rows (customer, decision, disclosure joined)
    with django_assert_max_num_queries(5):
        response = client.get(reverse("compliance:notices"), {"page_size": "25"})
    assert len(response.context["page"].rows) == 25 and response.context["page"].has_next
