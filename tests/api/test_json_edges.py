"""JSON edges of the API's parser (api/parsers.py): a key repeated in one object is refused with
a 400 naming it, at any depth (Python's json keeps the last one silently, so
`{"amount": "1.00", "amount": "999999.00"}` used to record 999999.00); parser errors are
answered in the API's own words: no Python text ("maximum recursion depth exceeded", "Exceeds
the limit (4300 digits)", codec names) reaches the client."""

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import BureauReport, Transaction
from draws.models import DrawCheck
from tests.factories import CreditLineFactory, CustomerFactory

from .factories import ApiClientFactory, bearer, token_for

pytestmark = pytest.mark.django_db
AT = (timezone.now() - timedelta(minutes=1)).isoformat()
PYTHON_TEXT = ("recursion", "4300", "set_int_max_str_digits", "Exceeds the limit", "codec", "Traceback", "Error", "sys.")


@pytest.fixture
def customer():
    return CustomerFactory(external_id="C-1")


def _txn_raw(amounts: str) -> str:
    # Written by hand: json.dumps cannot produce a repeated key.
    return ('{"customer": "C-1", "external_id": "t-1", "kind": "purchase", ' + amounts
            + ', "currency": "CNY", "occurred_at": "' + AT + '"}')


def _refused(response, field: str, code: str = "duplicate_key") -> dict:
    assert response.status_code == 400, response.content
    body = response.json()
    assert (body["code"], body["field"]) == (code, field), body
    assert not any(text in body["message"] for text in PYTHON_TEXT), body["message"]
    return body


def test_a_repeated_key_is_refused_naming_it_and_nothing_is_written(post, customer):
    body = _refused(post("/api/v1/transactions/", None, raw=_txn_raw('"amount": "1.00", "amount": "9.00"')), "amount")
    assert "'amount'" in body["message"]
    assert Transaction.objects.count() == 0
    # The same body without the repeat is accepted: the refusal is about the repeat only.
    assert post("/api/v1/transactions/", None, raw=_txn_raw('"amount": "1.00"')).status_code == 201


def test_a_repeat_with_the_same_value_is_refused_too(post, customer):
    _refused(post("/api/v1/transactions/", None, raw=_txn_raw('"amount": "1.00", "amount": "1.00"')), "amount")


def test_a_repeated_key_inside_a_nested_object_is_named_by_its_path(post, customer):
    raw = ('{"customer": "C-1", "external_id": "b-1", "score": 700, "external_lenders": 2, "external_debt": "0", '
           '"currency": "CNY", "reported_at": "' + AT + '", "raw": {"ref": "x", "lines": [{"id": 1}, {"id": 2, "id": 3}]}}')
    _refused(post("/api/v1/bureau-reports/", None, raw=raw), "raw.lines[1].id")
    assert BureauReport.objects.count() == 0


def test_a_repeated_key_in_a_batch_item_names_the_item(post, customer):
    item = '{"customer": "C-1", "external_id": "bt-%d", "kind": "purchase", "amount": "5.00", "currency": "CNY", "occurred_at": "' + AT + '"}'
    repeated = item.replace('"kind"', '"kind": "refund", "kind"') % 2
    raw = '{"items": [' + ", ".join([item % 0, item % 1, repeated]) + "]}"
    _refused(post("/api/v1/transactions/batch/", None, raw=raw), "items[2].kind")
    assert Transaction.objects.count() == 0


def test_the_same_key_in_sibling_objects_is_fine(post, customer):
    items = [{"customer": "C-1", "external_id": f"bt-{n}", "kind": "purchase", "amount": "5.00", "currency": "CNY", "occurred_at": AT}
             for n in range(3)]
    assert post("/api/v1/transactions/batch/", {"items": items}).status_code == 200


def test_a_repeated_top_level_key_is_refused_by_the_draw_check_too(client):
    CreditLineFactory(customer__external_id="C")
    token = token_for(ApiClientFactory(scopes=["draws:check"]))
    raw = '{"customer": "C", "amount": "1.00", "amount": "999999.00", "currency": "CNY", "channel": "app"}'
    response = client.post("/api/v1/draw-checks/", data=raw, content_type="application/json", **bearer(token))
    _refused(response, "amount")
    assert not DrawCheck.objects.exists()


# --- parser errors in the API's words -----------------------------------------------------------

def test_a_huge_integer_is_refused_naming_its_field(post, customer):
    raw = ('{"customer": "C-1", "external_id": "b-1", "score": ' + "7" * 5000 + ', "external_lenders": 2, "external_debt": "0", '
           '"currency": "CNY", "reported_at": "' + AT + '", "raw": {}}')
    body = _refused(post("/api/v1/bureau-reports/", None, raw=raw), "score", code="number_too_long")
    assert "digits" in body["message"]
    nested = raw.replace('"raw": {}', '"raw": {"a": [1, ' + "9" * 5000 + "]}").replace("7" * 5000, "700")
    _refused(post("/api/v1/bureau-reports/", None, raw=nested), "raw.a[1]", code="number_too_long")
    assert BureauReport.objects.count() == 0


def test_a_long_but_reasonable_integer_still_reaches_the_field_check(post, customer):
    raw = _txn_raw('"amount": ' + "1" * 40)
    response = post("/api/v1/transactions/", None, raw=raw)
    assert response.status_code == 400 and response.json()["field"] == "amount" and response.json()["code"] != "number_too_long"


@pytest.mark.parametrize("raw", ["[" * 100_000, '{"a": ' * 50_000 + "1" + "}" * 50_000, '{"items": ' + "[" * 3000 + "]" * 3000 + "}"])
def test_a_body_nested_beyond_the_limit_is_refused_in_our_words(post, customer, raw):
    body = _refused(post("/api/v1/transactions/batch/", None, raw=raw), "body", code="too_deep")
    assert "levels deep" in body["message"]


@pytest.mark.parametrize(
    "raw, words",
    [
        (b'{"amount": "\xff"}', "UTF-8"),
        (b'{"amount": 1,}', "line 1, column 14"),
        (b'{"amount": NaN}', "NaN"),
        (b'{"amount": "1.00"} x', "line 1, column 20"),
    ],
)
def test_other_parse_errors_say_what_is_wrong_without_python_text(post, customer, raw, words):
    body = _refused(post("/api/v1/transactions/", None, raw=raw), "body", code="parse_error")
    assert words in body["message"], body["message"]
