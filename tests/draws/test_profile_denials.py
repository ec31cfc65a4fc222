"""Denied draw checks on the customer's risk profile."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from draws.services import draw_check
from tests.factories import CreditLineFactory

from .factories import DrawCheckFactory

pytestmark = pytest.mark.django_db


def test_denials_are_listed_on_the_profile_with_their_reasons(analyst_client):
    line = CreditLineFactory(limit_amount=Decimal("500.00"))
    customer = line.customer
    draw_check(data={"customer": customer.external_id, "amount": "1234.00", "currency": "CNY", "channel": "web", "merchant_category": "5732"})
    draw_check(data={"customer": customer.external_id, "amount": "10.00", "currency": "CNY", "channel": "app"})  # allowed: not listed
    page = analyst_client.get(reverse("decisions:customer", args=[customer.external_id]))
    assert page.status_code == 200
    html = page.content.decode()
    assert "Denied draws" in html and "¥1,234.00" in html and "OVER_AVAILABLE" in html and "5732" in html
    assert "The amount is more than the available limit (after holds for draws allowed but not yet posted)." in html
    assert "¥10.00" not in html


def test_denials_newest_first_and_only_this_customer(analyst_client):
    line = CreditLineFactory()
    now = timezone.now()
    DrawCheckFactory(customer=line.customer, decision="deny", amount=Decimal("11.00"), checked_at=now - timedelta(days=2),
                     reasons=[{"code": "ACCESS_CLOSED", "text": "The credit line is closed."}])
    DrawCheckFactory(customer=line.customer, decision="deny", amount=Decimal("22.00"), checked_at=now)
    DrawCheckFactory(decision="deny", amount=Decimal("33.00"))  # someone else
    html = analyst_client.get(reverse("decisions:customer", args=[line.customer.external_id])).content.decode()
    assert html.index("¥22.00") < html.index("¥11.00") and "¥33.00" not in html


def test_no_denial_says_so_in_chinese_too(analyst_client):
    line = CreditLineFactory()
    html = analyst_client.get(reverse("decisions:customer", args=[line.customer.external_id])).content.decode()
    assert "No draw has been denied for this customer." in html
    analyst_client.cookies["django_language"] = "zh-hans"
    html = analyst_client.get(reverse("decisions:customer", args=[line.customer.external_id]), HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "没有被拒绝的提款" in html
