"""The header's customer search: any customer, flagged or not, by id part or last phone digits."""

import pytest
from django.urls import reverse

from decisions.casework.customer_search import RESULT_CAP, customer_search
from tests.factories import CreditLineFactory, CustomerFactory, RiskAlertFactory

pytestmark = pytest.mark.django_db

URL = reverse("decisions:customer-search")


@pytest.fixture
def book():
    flagged = CreditLineFactory(customer=CustomerFactory(external_id="ACME-1001", phone="+15550001234")).customer
    RiskAlertFactory(customer=flagged)
    quiet = CreditLineFactory(customer=CustomerFactory(external_id="acme-2002", phone="+15550009876")).customer
    other = CustomerFactory(external_id="ZED-7", phone="+15550005234")
    return flagged, quiet, other


@pytest.mark.parametrize("role", ["analyst", "compliance", "risk_admin"])
def test_every_staff_role_finds_an_unflagged_customer_by_part_of_the_id(client, make_user, book, role):
    client.force_login(make_user(f"u-{role}", role))
    response = client.get(URL, {"q": "2002"})
    assert response.status_code == 302
    assert response["Location"] == reverse("decisions:customer", kwargs={"external_id": "acme-2002"})


def test_several_matches_list_them_case_insensitively_with_the_phone_masked(analyst_client, book):
    response = analyst_client.get(URL, {"q": "Acme"})
    html = response.content.decode()
    assert response.status_code == 200
    assert 'data-customer="ACME-1001"' in html and 'data-customer="acme-2002"' in html
    assert "ZED-7" not in html
    assert "+15550001234" not in html and "•••••••••234" in html
    assert "2 customers match." in html
    found = {hit.external_id: hit.flagged for hit in customer_search("acme").hits}
    assert found == {"ACME-1001": True, "acme-2002": False}


def test_last_phone_digits_find_the_customer_three_digits_being_enough(analyst_client, book):
    response = analyst_client.get(URL, {"q": "876"})
    assert response["Location"] == reverse("decisions:customer", kwargs={"external_id": "acme-2002"})
    # "234" ends two phones: a results page, not a guess
    assert [h.external_id for h in customer_search("234").hits] == ["ACME-1001", "ZED-7"]
    # two digits are too few for a phone match (and no id contains them)
    assert customer_search("34").total == 0


def test_nothing_found_says_so(analyst_client, book):
    response = analyst_client.get(URL, {"q": "nobody-here"})
    assert response.status_code == 200
    assert "No customer matches “nobody-here”." in response.content.decode()


def test_the_exact_id_comes_first(book):
    CustomerFactory(external_id="ACME-10011")
    assert customer_search("acme-1001").hits[0].external_id == "ACME-1001"


def test_results_are_capped_with_the_total_in_a_bounded_number_of_queries(analyst_client, django_assert_max_num_queries):
    for n in range(RESULT_CAP + 5):
        CustomerFactory(external_id=f"BULK-{n:03d}")
    with django_assert_max_num_queries(3):
        found = customer_search("bulk")
    assert found.total == RESULT_CAP + 5 and len(found.hits) == RESULT_CAP and found.capped
    html = analyst_client.get(URL, {"q": "bulk"}).content.decode()
    assert f"{RESULT_CAP + 5} customers match; the first {RESULT_CAP} are shown." in html
    assert html.count("data-customer=") == RESULT_CAP


def test_a_user_without_a_role_is_refused_and_anonymous_is_sent_to_log_in(client, make_user, book):
    assert client.get(URL, {"q": "acme"}).status_code == 302
    client.force_login(make_user("u-none"))
    assert client.get(URL, {"q": "acme"}).status_code == 403


def test_the_header_carries_the_search_and_the_queue_says_what_its_search_matches(analyst_client):
    html = analyst_client.get(reverse("decisions:queue")).content.decode()
    assert f'action="{URL}"' in html and 'id="top-q"' in html
    assert "Among flagged accounts only" in html
