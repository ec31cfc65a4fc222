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


# --- a lone surrogate escape: text no database can store ----------------------------------------
# "\ud800" is valid JSON and parses to a str that no UTF-8 encoder takes; it used to reach the
# database driver and come back as a 500 (UnicodeEncodeError). Refused where the JSON is read.

LONE = "\\ud800"  # the six characters of the escape, as a client sends them


def _draw_raw(customer: str) -> str:
    return '{"customer": "' + customer + '", "amount": "1.00", "currency": "CNY", "channel": "app"}'


@pytest.mark.parametrize("url, raw, field", [
    ("/api/v1/transactions/", _txn_raw('"amount": "1.00"').replace('"t-1"', '"t-' + LONE + '"'), "external_id"),
    ("/api/v1/transactions/", _txn_raw('"amount": "1.00"').replace('"CNY"', '"' + LONE + '"'), "currency"),
    ("/api/v1/bureau-reports/",
     '{"customer": "C-1", "external_id": "b-1", "score": 700, "external_lenders": 2, "external_debt": "0", '
     '"currency": "CNY", "reported_at": "' + AT + '", "raw": {"lines": [{"name": "x' + LONE + 'y"}]}}', "raw.lines[0].name"),
    ("/api/v1/bureau-reports/",
     '{"customer": "C-1", "external_id": "b-1", "score": 700, "external_lenders": 2, "external_debt": "0", '
     '"currency": "CNY", "reported_at": "' + AT + '", "raw": {"k' + LONE + '": 1}}', "raw.k?"),
    ("/api/v1/transactions/batch/",
     '{"items": [' + _txn_raw('"amount": "1.00"') + ", " + _txn_raw('"amount": "1.00"').replace('"purchase"', '"\\uDBFF"') + "]}",
     "items[1].kind"),
    ("/api/v1/consents/", '{"customer": "C-1", "purpose": "scoring", "evidence": {"ip": "' + LONE + '"}}', "evidence.ip"),
    ("/api/v1/transactions/", '"' + LONE + '"', "body"),
])
def test_a_lone_surrogate_is_a_400_naming_the_field_and_nothing_is_written(post, customer, url, raw, field):
    body = _refused(post(url, None, raw=raw), field, code="invalid_text")
    assert "surrogate" in body["message"]
    assert Transaction.objects.count() == 0 and BureauReport.objects.count() == 0


def test_a_lone_surrogate_in_a_draw_check_is_a_400_naming_the_field(client):
    CreditLineFactory(customer__external_id="C")
    token = token_for(ApiClientFactory(scopes=["draws:check"]))
    for raw, field in [(_draw_raw("C" + LONE), "customer"), (_draw_raw("C").replace('"app"', '"\\udfff"'), "channel")]:
        response = client.post("/api/v1/draw-checks/", data=raw, content_type="application/json", **bearer(token))
        _refused(response, field, code="invalid_text")
    assert not DrawCheck.objects.exists()
    # The check itself works: the refusal is about the escape only.
    assert client.post("/api/v1/draw-checks/", data=_draw_raw("C"), content_type="application/json", **bearer(token)).status_code == 200


def test_a_surrogate_pair_and_other_escapes_are_text_and_accepted(post, customer):
    # A proper pair (an emoji) and ordinary escapes are text: only the lone half is refused.
    raw = ('{"customer": "C-1", "external_id": "b-1", "score": 700, "external_lenders": 2, "external_debt": "0", '
           '"currency": "CNY", "reported_at": "' + AT + '", "raw": {"note": "\\ud83d\\ude00 \\u00e9 \\\\ud800"}}')
    response = post("/api/v1/bureau-reports/", None, raw=raw)
    assert response.status_code == 201, response.content
    assert BureauReport.objects.get().raw == {"note": "\U0001F600 é \\ud800"}


def test_a_lone_surrogate_in_the_policy_editor_is_a_form_error_naming_the_field(client, risk_admin):
    from decisions.engine.policy import default_policy_body
    from decisions.governance.admin_policy import PolicyDraftForm
    from decisions.governance.services.policy import policy_draft_copy
    from decisions.models import PolicyVersion

    draft = policy_draft_copy(source=PolicyVersion.objects.get(state="active"), actor=risk_admin)
    text = json.dumps(default_policy_body(), indent=2)
    assert '"max_limit": "' in text
    bad = text.replace('"max_limit": "', '"max_limit": "' + LONE, 1)
    form = PolicyDraftForm(data={"name": "d", "notes": "", "body": bad}, instance=draft)
    assert not form.is_valid()
    assert form.errors["body"][0].startswith("limits.max_limit holds a lone surrogate escape")
    # Through the admin's own page: the form again, with the message, not a 500; nothing saved.
    client.force_login(risk_admin)
    from django.urls import reverse

    response = client.post(reverse("admin:decisions_policyversion_change", args=[draft.pk]), {"name": "d", "notes": "", "body": bad})
    assert response.status_code == 200
    assert "limits.max_limit holds a lone surrogate escape" in response.content.decode()
    draft.refresh_from_db()
    assert draft.edited_at is None
