"""The policy's common edits in a form (decisions/governance/policy_sections.py and the admin's
"Edit in a form" page): a submit with nothing changed leaves the document identical, an edit
changes exactly its own value and nothing else (through policy_draft_edit: audited), a bad value
is answered on its own field in words and changes nothing, and only a draft can be edited."""

import copy
from decimal import Decimal

import pytest
from django.urls import reverse
from hypothesis import HealthCheck, given, settings as hsettings, strategies as st

from decisions.engine.policy import BANDS, default_policy_body, validate_policy
from decisions.governance.policy_sections import PolicySectionsForm, dotted
from decisions.governance.services.policy import policy_diff, policy_draft_copy
from decisions.models import PolicyVersion
from riskops.core.models import AuditEvent
from tests.decisions.policy_factories import active_version, second_admin  # noqa: F401

pytestmark = pytest.mark.django_db


def _url(name: str, pk: int) -> str:
    return reverse(f"admin:decisions_policyversion_{name}", args=[pk])


def _submitted(form: PolicySectionsForm) -> dict:
    """What a browser sends back for the form as rendered: each field's shown value (an unticked
    checkbox sends nothing)."""
    data = {}
    for bf in form:
        value = bf.value()
        if isinstance(value, bool):
            if value:
                data[bf.html_name] = "on"
        elif value is not None:
            data[bf.html_name] = str(value)
    return data


def _form_for(body: dict, **changes) -> PolicySectionsForm:
    data = _submitted(PolicySectionsForm(body=body, stamp="s"))
    data.update(changes)
    return PolicySectionsForm(data, body=body, stamp="s")


def _paths(before: dict, after: dict) -> list[str]:
    return [line.path for line in policy_diff(before, after)]


# --- the form alone: round trip and one change at a time ---------------------------------------


def _varied_body(data) -> dict:
    """The default policy with valid values drawn in every section the form edits."""
    body = copy.deepcopy(default_policy_body())
    cuts = sorted(data.draw(st.sets(st.integers(1, 2000), min_size=len(BANDS) - 1, max_size=len(BANDS) - 1)), reverse=True)
    for band, cut in zip(body["bands"], [*cuts, 0]):
        band["min_score"] = cut
    for band in BANDS:
        body["limits"]["multipliers"][band] = str(data.draw(st.decimals(0, 100, places=data.draw(st.integers(0, 3)))))
    body["limits"]["max_limit"] = f"{data.draw(st.integers(5000, 10**6))}.{data.draw(st.integers(0, 99)):02d}"
    rule = body["rules"]["OVER_BORROWING"]
    rule["enabled"] = data.draw(st.booleans())
    rule["severity"] = data.draw(st.integers(1, 5))
    rule["max_debt_to_income"] = str(data.draw(st.decimals(0, 1000, places=2)))
    for spec in body["scorecard"]["features"].values():
        spec["missing_points"] = data.draw(st.integers(-50, 50))
        for b in spec["bins"]:
            b["points"] = data.draw(st.integers(-50, 50))
    validate_policy(body)
    return body


@hsettings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_submitting_the_form_unchanged_gives_the_identical_document(data):
    body = _varied_body(data)
    form = _form_for(body)
    assert form.is_valid(), form.errors
    assert form.changed_data == []
    assert form.new_body() == body and _paths(body, form.new_body()) == []


@hsettings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_changing_one_value_changes_exactly_that_value(data):
    body = _varied_body(data)
    kept = copy.deepcopy(body)
    form = PolicySectionsForm(body=body, stamp="s")
    name = data.draw(st.sampled_from(sorted(n for n in form.fields if n.endswith("__points") or n.startswith("limits__multipliers"))))
    new = str(data.draw(st.integers(-50, 50))) if name.endswith("points") else str(data.draw(st.decimals(0, 100, places=2)))
    edited = _form_for(body, **{name: new})
    assert edited.is_valid(), edited.errors
    changed = _paths(body, edited.new_body())
    assert changed in ([], [dotted(form.paths[name])])  # [] when the drawn value was the same
    assert body == kept  # the document the form was given is untouched


def test_each_section_edits_only_its_own_part():
    body = default_policy_body()
    edits = {
        "bands__1__min_score": ("645", "bands[1].min_score", 645),
        "limits__multipliers__C": ("0.55", "limits.multipliers.C", "0.55"),
        "limits__max_limit": ("6000.00", "limits.max_limit", "6000.00"),
        "limits__cycle_days": ("45", "limits.cycle_days", 45),
        "rules__OVER_BORROWING__max_external_lenders": ("3", "rules.OVER_BORROWING.max_external_lenders", 3),
        "rules__SPENDING_SPIKE__action": ("suspend", None, None),  # needs days: see below
        "scorecard__features__utilisation__bins__1__points": ("7", "scorecard.features.utilisation.bins[1].points", 7),
        "scorecard__features__bureau_score__bins__0__below": ("520", "scorecard.features.bureau_score.bins[0].below", 520),
        "scorecard__features__debt_to_income__bins__0__below": ("0.75", "scorecard.features.debt_to_income.bins[0].below", "0.75"),
        "scorecard__features__income_proxy_3m__missing_points": ("-20", "scorecard.features.income_proxy_3m.missing_points", -20),
    }
    for name, (typed, path, value) in edits.items():
        if path is None:
            continue
        form = _form_for(body, **{name: typed})
        assert form.is_valid(), (name, form.errors)
        diff = policy_diff(body, form.new_body())
        assert [(d.path, d.after) for d in diff] == [(path, value)], name
    # A rule's action and its days together; a rule switched off; both are only the rule's own values.
    form = _form_for(body, rules__SPENDING_SPIKE__action="suspend", rules__SPENDING_SPIKE__suspend_days="5")
    assert form.is_valid(), form.errors
    assert {(d.path, d.kind, d.after) for d in policy_diff(body, form.new_body())} == {
        ("rules.SPENDING_SPIKE.action", "changed", "suspend"), ("rules.SPENDING_SPIKE.suspend_days", "added", 5),
    }
    data = _submitted(PolicySectionsForm(body=body, stamp="s"))
    del data["rules__OVERDUE_90__enabled"]  # the checkbox unticked
    form = PolicySectionsForm(data, body=body, stamp="s")
    assert form.is_valid(), form.errors
    assert _paths(body, form.new_body()) == ["rules.OVERDUE_90.enabled"] and form.new_body()["rules"]["OVERDUE_90"]["enabled"] is False
    assert body == default_policy_body()  # the form never touched the document it was given


@pytest.mark.parametrize(
    ("name", "typed", "words"),
    [
        ("limits__max_limit", "5000.001", "must be a positive amount with at most 2 decimals"),
        ("limits__min_limit", "-5", "must be a positive amount with at most 2 decimals"),
        ("limits__multipliers__B", "1,5", "must be a number with at most 10 decimals"),
        ("limits__multipliers__B", "-1", "must not be negative"),
        ("rules__OVER_BORROWING__max_debt_to_income", "abc", "must be a number with at most 10 decimals"),
        ("rules__OVER_BORROWING__severity", "9", "greater than the maximum of 5"),
        ("rules__OVER_BORROWING__severity", "many", "Enter a whole number."),
        ("rules__SPENDING_SPIKE__action", "suspend", "is needed here"),
        ("rules__OVERDUE_90__min_days_past_due", "20", "must be greater than OVERDUE_30"),
        ("scorecard__features__tenure_months__bins__1__points", "5000", "greater than the maximum of 1000"),
        ("bands__0__min_score", "", "This field is required."),
    ],
)
def test_a_bad_value_is_answered_in_words_on_its_own_field(name, typed, words):
    body = default_policy_body()
    form = _form_for(body, **{name: typed})
    assert not form.is_valid()
    field = "rules__SPENDING_SPIKE__suspend_days" if name == "rules__SPENDING_SPIKE__action" else name
    assert any(words in e for e in form.errors.get(field, [])), form.errors
    assert "^" not in str(form.errors)  # no regular expression shown


def test_band_order_is_said_beside_the_band_that_breaks_it():
    form = _form_for(default_policy_body(), bands__1__min_score="700")  # B above A
    assert not form.is_valid()
    assert form.errors["bands__1__min_score"] == ["700 must be below band A's 680 (min_score must fall strictly from A to E)"]


def test_an_error_about_a_whole_section_is_said_in_that_section():
    body = default_policy_body()
    form = _form_for(body, scorecard__features__utilisation__bins__1__below="0.2")  # below bin 1's 0.3
    assert not form.is_valid()
    assert "strictly increasing" in form.section_errors["scorecard"][0]
    assert "scorecard.features.utilisation.bins" in form.non_field_errors()[0]


def test_a_read_only_form_disables_every_value():
    form = PolicySectionsForm(body=default_policy_body(), stamp="s", read_only=True)
    assert all(f.disabled for f in form.fields.values())


# --- the admin page ------------------------------------------------------------------------------


@pytest.fixture
def draft(risk_admin):
    return policy_draft_copy(source=active_version(), actor=risk_admin)


def _page_data(client, version) -> dict:
    response = client.get(_url("sections", version.pk))
    assert response.status_code == 200
    return _submitted(response.context["form"])


def test_the_admin_page_saves_an_edit_through_the_service_audited(client, risk_admin, draft):
    client.force_login(risk_admin)
    data = _page_data(client, draft)
    data["bands__0__min_score"] = "690"
    response = client.post(_url("sections", draft.pk), data, follow=True)
    assert response.redirect_chain[-1][0] == _url("sections", draft.pk)
    assert "Saved: 1 value of the draft changed." in response.content.decode()
    draft.refresh_from_db()
    assert _paths(active_version().body, draft.body) == ["bands[0].min_score"] and draft.body["bands"][0]["min_score"] == 690
    assert draft.edited_at is not None
    assert AuditEvent.objects.get(action="policy.edit", actor=risk_admin).after["changes"] == ["bands[0].min_score: 680 → 690"]

    # Unchanged again: nothing written, no second audit event.
    response = client.post(_url("sections", draft.pk), _page_data(client, draft), follow=True)
    assert "Nothing changed" in response.content.decode()
    assert AuditEvent.objects.filter(action="policy.edit").count() == 1


def test_a_bad_value_on_the_page_changes_nothing_and_says_why(client, risk_admin, draft):
    client.force_login(risk_admin)
    data = _page_data(client, draft)
    data["limits__max_limit"] = "5000.001"
    response = client.post(_url("sections", draft.pk), data)
    assert response.status_code == 200
    page = response.content.decode()
    assert "must be a positive amount with at most 2 decimals" in page and "Nothing was saved" in page
    assert 'value="5000.001"' in page  # what was typed stays in the box
    draft.refresh_from_db()
    assert draft.body == active_version().body and draft.edited_at is None
    assert not AuditEvent.objects.filter(action="policy.edit").exists()


def test_a_form_opened_before_another_edit_is_refused(client, risk_admin, draft):
    client.force_login(risk_admin)
    data = _page_data(client, draft)
    data["limits__multipliers__A"] = "1.4"
    other = copy.deepcopy(draft.body)
    other["limits"]["multipliers"]["B"] = "0.9"
    from decisions.governance.services.policy import policy_draft_edit

    policy_draft_edit(version=draft, body=other, actor=risk_admin)
    response = client.post(_url("sections", draft.pk), data)
    assert "changed since you opened the form" in response.content.decode()
    draft.refresh_from_db()
    assert draft.body["limits"]["multipliers"] == {**active_version().body["limits"]["multipliers"], "B": "0.9"}


def test_an_edit_in_the_form_withdraws_a_request_and_says_so(client, risk_admin, draft):
    draft.activation_requested_by = risk_admin
    draft.save(update_fields=["activation_requested_by"])
    client.force_login(risk_admin)
    data = _page_data(client, draft)
    data["limits__min_limit"] = "150.00"
    response = client.post(_url("sections", draft.pk), data, follow=True)
    assert "was withdrawn" in response.content.decode()
    draft.refresh_from_db()
    assert draft.activation_requested_by_id is None and Decimal(draft.body["limits"]["min_limit"]) == Decimal("150")


def test_active_and_retired_versions_are_read_only_in_the_form(client, risk_admin):
    client.force_login(risk_admin)
    active = active_version()
    response = client.get(_url("sections", active.pk))
    page = response.content.decode()
    assert response.status_code == 200 and "read-only" in page
    assert 'name="_save"' not in page and "disabled" in page
    before = copy.deepcopy(active.body)
    data = _submitted(PolicySectionsForm(body=before, stamp="s"))
    data["bands__0__min_score"] = "700"
    response = client.post(_url("sections", active.pk), data, follow=True)
    assert "Only a draft can be edited" in response.content.decode()
    active.refresh_from_db()
    assert active.body == before and not AuditEvent.objects.filter(action="policy.edit").exists()


def test_the_change_page_links_to_the_form_and_an_analyst_cannot_open_it(client, risk_admin, analyst, draft):
    client.force_login(risk_admin)
    assert _url("sections", draft.pk) in client.get(_url("change", draft.pk)).content.decode()
    client.force_login(analyst)
    assert client.get(_url("sections", draft.pk)).status_code in (302, 403)
    assert PolicyVersion.objects.get(pk=draft.pk).edited_at is None


def test_the_page_reads_in_chinese(client, risk_admin, draft):
    client.force_login(risk_admin)
    response = client.get(_url("sections", draft.pk), HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert response.status_code == 200 and 'lang="zh-hans"' in response.content.decode()
    assert 'id="id_bands__1__min_score"' in response.content.decode()
