"""The audit trail page, one event's diff, and who may see them."""

import pytest
from django.urls import reverse

from compliance.audit_selectors import audit_page, field_diff, flatten
from riskops.core.audit import audit_record

pytestmark = pytest.mark.django_db

AUDIT_URLS = ["compliance:audit", "compliance:export-audit"]


@pytest.fixture
def events(make_user):
    alice = make_user("alice-actor")
    out = []
    for i in range(12):
        out.append(
            audit_record(
                actor=alice if i % 3 == 0 else None,
                action="alert.claim" if i % 2 else "note.add",
                target=("decisions.riskalert", i % 4),
                before={"status": "open", "n": i},
                after={"status": "in_review", "n": i},
            )
        )
    return out


@pytest.mark.parametrize(
    "role, expected",
    [("analyst", 403), ("compliance", 200), ("risk_admin", 200)],
)
def test_every_audit_url_by_role(client, make_user, events, role, expected):
    # given a user of each role / when they open the audit pages (GET) / then analysts get 403
    client.force_login(make_user("u", role))
    for url in [reverse(n) for n in AUDIT_URLS] + [reverse("compliance:audit-event", args=[events[0].pk])]:
        response = client.get(url)
        assert response.status_code == expected, url
        if hasattr(response, "streaming_content"):
            b"".join(response.streaming_content)
    # the verify button is a POST: 403 for analysts, a redirect for the others
    response = client.post(reverse("compliance:audit-verify"))
    assert response.status_code == (403 if expected == 403 else 302)


def test_anonymous_is_sent_to_login_and_no_role_gets_403(client, make_user, events):
    for name in AUDIT_URLS:
        response = client.get(reverse(name))
        assert response.status_code == 302 and "/login" in response.url
    client.force_login(make_user("nobody"))
    assert client.get(reverse("compliance:audit")).status_code == 403


def test_verify_is_post_only(client, compliance_officer):
    client.force_login(compliance_officer)
    assert client.get(reverse("compliance:audit-verify")).status_code == 405


@pytest.mark.parametrize(
    "params, expected_ids",
    [
        ({"action": "alert.claim"}, lambda ev: [e.pk for e in ev if e.action == "alert.claim"]),
        ({"actor": "alice-actor"}, lambda ev: [e.pk for e in ev if e.actor_label == "alice-actor"]),
        ({"actor": "system"}, lambda ev: [e.pk for e in ev if e.actor_id is None]),
        ({"actor": "no-such-user"}, lambda ev: []),
        ({"target_type": "decisions.riskalert", "target_id": "2"}, lambda ev: [e.pk for e in ev if e.target_id == "2"]),
        ({"action": "note.add", "actor": "system"}, lambda ev: [e.pk for e in ev if e.action == "note.add" and e.actor_id is None]),
    ],
)
def test_filters_narrow_the_page(client, compliance_officer, events, params, expected_ids):
    client.force_login(compliance_officer)
    response = client.get(reverse("compliance:audit"), params)
    shown = [e.pk for e in response.context["page"].events]
    assert shown == sorted(expected_ids(events), reverse=True)
    assert response.context["page"].matching == len(shown)


def test_time_range_filter(client, compliance_officer, events):
    from datetime import timedelta

    client.force_login(compliance_officer)
    today = events[0].occurred_at.date()
    inside = client.get(reverse("compliance:audit"), {"since": today.isoformat(), "until": today.isoformat()})
    assert len(inside.context["page"].events) == 12
    before = client.get(reverse("compliance:audit"), {"until": (today - timedelta(days=1)).isoformat()})
    assert before.context["page"].events == []
    assert "No audit event matches" in before.content.decode()


def test_bad_filter_names_the_field_and_filters_nothing(client, compliance_officer, events):
    client.force_login(compliance_officer)
    response = client.get(reverse("compliance:audit"), {"since": "2026-02-01", "until": "2026-01-01", "action": "bogus"})
    assert response.status_code == 200
    body = response.content.decode()
    assert "The end date is before the start date." in body
    assert "Action" in body and "Select a valid choice" in body
    assert len(response.context["page"].events) == 12


def test_keyset_pages_walk_every_event_once_each_way(events):
    seen, cursor = [], None
    while True:
        page = audit_page(filters={}, before=cursor, size=5)
        seen += [e.pk for e in page.events]
        if page.older_cursor is None:
            break
        cursor = page.older_cursor
    assert seen == sorted((e.pk for e in events), reverse=True)
    # back from the last page to the first with `after`
    back, newer = [], page.newer_cursor
    while newer is not None:
        page = audit_page(filters={}, after=newer, size=5)
        back = [e.pk for e in page.events] + back
        newer = page.newer_cursor
    assert back + seen[-2:] == seen


def test_page_links_keep_the_filters(client, compliance_officer, events):
    client.force_login(compliance_officer)
    response = client.get(reverse("compliance:audit"), {"action": "note.add", "page_size": "25"})
    assert response.context["older_url"] == ""
    first = client.get(reverse("compliance:audit"), {"action": "alert.claim"})
    assert "action=alert.claim" in first.content.decode()  # the export link carries the filter
    assert "exports/audit.csv?action=alert.claim" in first.content.decode()


def test_matching_count_is_capped(events, monkeypatch):
    monkeypatch.setattr("compliance.audit_selectors.COUNT_CAP", 5)
    page = audit_page(filters={}, size=3)
    assert page.matching == 5 and page.matching_capped


def test_audit_page_query_budget(client, compliance_officer, events, django_assert_max_num_queries):
    for i in range(150):
        audit_record(actor=None, action="note.add", target=("x", i), after={"i": i})
    client.force_login(compliance_officer)
    # session, user, groups, verification rows, last finished verification (none yet),
    # capped count, page rows (+1), target names (one per known target type: riskalert), no per-row query
    with django_assert_max_num_queries(9):
        response = client.get(reverse("compliance:audit"), {"page_size": "200"})
    assert len(response.context["page"].events) == 162


def test_event_page_shows_a_field_level_diff(client, compliance_officer):
    event = audit_record(
        actor=None,
        action="override.approve",
        target=("decisions.override", 7),
        before={"state": "pending", "limit": {"amount": "3000.00", "currency": "CNY"}, "reasons": ["A", "B"], "gone": 1},
        after={"state": "approved", "limit": {"amount": "5000.00", "currency": "CNY"}, "reasons": ["A"], "note": "ok"},
    )
    client.force_login(compliance_officer)
    response = client.get(reverse("compliance:audit-event", args=[event.pk]))
    assert response.status_code == 200
    body = response.content.decode()
    rows = {r.path: r for r in response.context["changes"]}
    assert rows["state"].kind == "changed" and (rows["state"].before, rows["state"].after) == ("pending", "approved")
    assert rows["limit.amount"].kind == "changed"
    assert rows["reasons[1]"].kind == "removed" and rows["reasons[1]"].before == "B"
    assert rows["gone"].kind == "removed" and rows["note"].kind == "added"
    assert [r.path for r in response.context["unchanged"]] == ["limit.currency", "reasons[0]"]
    assert 'data-path="limit.amount"' in body and 'data-diff="added"' in body
    assert "Override approved" in body


def test_unknown_event_is_404(client, compliance_officer):
    client.force_login(compliance_officer)
    assert client.get(reverse("compliance:audit-event", args=[999999])).status_code == 404


def test_flatten_and_diff_edge_cases():
    assert flatten({"a": {"b": [1, {"c": None}]}, "e": {}, "f": []}) == {"a.b[0]": 1, "a.b[1].c": None, "e": {}, "f": []}
    assert field_diff({}, {}) == []
    # a type change with an equal-looking value is a change (1 vs "1", 1 vs True)
    assert [r.kind for r in field_diff({"x": 1, "y": 1}, {"x": "1", "y": True})] == ["changed", "changed"]
    assert field_diff({"x": None}, {"x": None})[0].kind == "unchanged"
    assert field_diff({"x": None}, {})[0].kind == "removed"


def test_audit_pages_are_translated(client, compliance_officer, events):
    client.force_login(compliance_officer)
    client.cookies["django_language"] = "zh-hans"
    page = client.get(reverse("compliance:audit"), HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "审计日志" in page and "立即校验审计链" in page and "将这些导出为 CSV" in page
    event = client.get(reverse("compliance:audit-event", args=[events[1].pk]), HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "变更内容" in event and "修改" in event


def test_event_page_query_budget(client, compliance_officer, events, django_assert_max_num_queries):
    client.force_login(compliance_officer)
    # session, user, groups, the event, verification status (recent rows), previous id, next id, target name
    with django_assert_max_num_queries(9):
        assert client.get(reverse("compliance:audit-event", args=[events[5].pk])).status_code == 200


def test_targets_and_actions_in_words_with_links(client, compliance_officer, django_assert_max_num_queries):
    from tests.factories import CustomerFactory, PolicyVersionFactory, RecomputeRunFactory, RiskAlertFactory

    customer = CustomerFactory()
    policy = PolicyVersionFactory()
    run = RecomputeRunFactory()
    alert = RiskAlertFactory(customer=customer)
    on_customer = audit_record(actor=None, action="note.add", target=customer, after={})
    on_alert = audit_record(actor=None, action="alert.claim", target=alert, after={})
    on_policy = audit_record(actor=None, action="override.approve", target=policy, after={})
    on_run = audit_record(actor=None, action="note.add", target=run, after={})
    gone = audit_record(actor=None, action="note.add", target=("accounts.customer", 999999), after={})
    client.force_login(compliance_officer)
    response = client.get(reverse("compliance:audit"))
    named = {row["event"].pk: row for row in response.context["rows"]}
    profile = reverse("decisions:customer", args=[customer.external_id])
    assert named[on_customer.pk]["target"].text == customer.external_id and named[on_customer.pk]["target"].url == profile
    assert named[on_alert.pk]["target"].text == f"alert {alert.pk} · {customer.external_id}"
    assert named[on_alert.pk]["target"].url == profile
    assert named[on_policy.pk]["target"].text == f"policy v{policy.version}"
    assert named[on_run.pk]["target"].text == f"run {run.pk}"
    assert named[on_run.pk]["target"].url == reverse("decisions:run-progress", args=[run.pk])
    assert named[gone.pk]["target"].text == "accounts.customer:999999" and named[gone.pk]["target"].url == ""
    assert named[on_alert.pk]["action_label"] == "Alert claimed"
    body = response.content.decode()
    assert f'<a href="{profile}">{customer.external_id}</a>' in body
    assert "Alert claimed" in body and ">alert.claim<" not in body
    event_page = client.get(reverse("compliance:audit-event", args=[on_alert.pk])).content.decode()
    assert f'<a href="{profile}">alert {alert.pk} · {customer.external_id}</a>' in event_page


def test_audit_export_names_actions_and_targets_and_keeps_the_ids(client, compliance_officer):
    import csv
    import io

    from tests.factories import CustomerFactory

    customer = CustomerFactory()
    audit_record(actor=None, action="alert.claim", target=customer, after={})
    client.force_login(compliance_officer)
    response = client.get(reverse("compliance:export-audit"), {"action": "alert.claim"})
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
    assert rows == [rows[0]] and rows[0]["action"] == "alert.claim" and rows[0]["action_label"] == "Alert claimed"
    assert rows[0]["target"] == customer.external_id
    assert (rows[0]["target_type"], rows[0]["target_id"]) == ("accounts.customer", str(customer.pk))


def test_verification_card_names_who_asked_and_when(client, compliance_officer):
    from datetime import datetime, timezone as tz

    from compliance.models import AuditVerification

    AuditVerification.objects.create(
        trigger="manual", requested_by=compliance_officer, requested_at=datetime(2026, 3, 4, 5, 6, tzinfo=tz.utc),
        status="ok", finished_at=datetime(2026, 3, 4, 5, 7, tzinfo=tz.utc), events_checked=3,
    )
    client.force_login(compliance_officer)
    body = client.get(reverse("compliance:audit")).content.decode()
    assert "Asked by" in body and "cora, at 2026-03-04 05:06" in body
