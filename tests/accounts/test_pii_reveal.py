"""A customer's national id and phone in the admin: masked for everyone by default; a holder of
`view_customer_pii` may reveal them with a POST (CSRF), on that response only, and the reveal is
audited (who, when, which customer); without the permission there is no reveal."""

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from riskops.core.audit import verify_chain
from riskops.core.exceptions import NotPermitted
from riskops.core.models import AuditEvent
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db

NATIONAL_ID = "110101199003071234"
PHONE = "13812345678"


@pytest.fixture
def customer():
    return CustomerFactory(external_id="C-REVEAL", national_id=NATIONAL_ID, phone=PHONE)


@pytest.fixture
def holder(make_user):
    return make_user("rita", "risk_admin", is_staff=True)  # holds accounts.view_customer_pii


def _change(customer) -> str:
    return reverse("admin:accounts_customer_change", args=[customer.pk])


def _reveal(customer) -> str:
    return reverse("admin:accounts_customer_reveal", args=[customer.pk])


def _reveals():
    return AuditEvent.objects.filter(action="customer.pii_reveal")


def test_the_change_page_shows_them_masked_with_a_way_to_reveal(client, holder, customer):
    client.force_login(holder)

    body = client.get(_change(customer)).content.decode()

    assert customer.national_id_masked in body and customer.phone_masked in body
    assert NATIONAL_ID not in body and PHONE not in body
    assert _reveal(customer) in body
    assert not _reveals().exists()


def test_asking_to_reveal_explains_and_shows_nothing_yet(client, holder, customer):
    client.force_login(holder)

    response = client.get(_reveal(customer))

    body = response.content.decode()
    assert response.status_code == 200
    assert 'method="post"' in body and "csrfmiddlewaretoken" in body
    assert NATIONAL_ID not in body and PHONE not in body
    assert not _reveals().exists()


def test_the_reveal_shows_them_on_that_response_only_and_is_audited(client, holder, customer):
    client.force_login(holder)
    before = timezone.now()

    response = client.post(_reveal(customer))

    body = response.content.decode()
    assert response.status_code == 200
    assert NATIONAL_ID in body and PHONE in body
    assert "no-store" in response["Cache-Control"]
    event = _reveals().get()
    assert event.actor_id == holder.pk and event.actor_label == holder.username  # who
    assert event.occurred_at >= before  # when
    assert (event.target_type, event.target_id) == ("accounts.customer", str(customer.pk))  # which customer
    assert event.after == {"external_id": "C-REVEAL", "fields": ["national_id", "phone"], "via": "admin"}
    assert verify_chain()[1] is None  # the chain still verifies
    # The next page is masked again.
    again = client.get(_change(customer)).content.decode()
    assert NATIONAL_ID not in again and PHONE not in again


def test_each_reveal_is_recorded(client, holder, customer):
    client.force_login(holder)

    client.post(_reveal(customer))
    client.post(_reveal(customer))

    assert _reveals().count() == 2


def test_the_reveal_needs_the_csrf_token(holder, customer):
    client = Client(enforce_csrf_checks=True)
    client.force_login(holder)

    response = client.post(_reveal(customer))

    assert response.status_code == 403
    assert NATIONAL_ID not in response.content.decode()
    assert not _reveals().exists()


def test_without_the_permission_there_is_no_reveal(client, make_user, customer):
    officer = make_user("cleo", "compliance", is_staff=True)  # may view customers, not their PII
    client.force_login(officer)

    page = client.get(_change(customer))
    asked = client.get(_reveal(customer))
    posted = client.post(_reveal(customer))

    assert page.status_code == 200 and _reveal(customer) not in page.content.decode()
    assert asked.status_code == 403 and posted.status_code == 403
    assert NATIONAL_ID not in posted.content.decode() and PHONE not in posted.content.decode()
    assert not _reveals().exists()


def test_the_service_refuses_without_the_permission_and_records_nothing(make_user, customer):
    from accounts.services import customer_pii_reveal

    officer = make_user("cleo", "compliance", is_staff=True)

    with pytest.raises(NotPermitted):
        customer_pii_reveal(actor=officer, customer=customer, via="admin")

    assert not _reveals().exists()
