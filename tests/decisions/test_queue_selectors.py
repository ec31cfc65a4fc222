"""The queue's reads: one row per flagged account, filters, counts, sort, pages, fixed queries."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from decisions.casework.queue_selectors import QueueFilters, duration_words, flagged_accounts, queue_counts
from tests.factories import CreditLineFactory, CustomerFactory, RiskAlertFactory

pytestmark = pytest.mark.django_db


def flagged(**filters):
    user = filters.pop("user", None)
    return flagged_accounts(filters=QueueFilters(**filters), user=user)


def ids(page):
    return [r.external_id for r in page.rows]


def test_one_row_per_flagged_account_with_its_highest_severity_and_rules():
    line = CreditLineFactory(access="limited", band="D")
    RiskAlertFactory(customer=line.customer, rule="OVER_BORROWING", severity=2)
    RiskAlertFactory(customer=line.customer, rule="OVERDUE_30", severity=4, suspend=True)
    RiskAlertFactory(dismissed=True)  # closed: not in the queue
    page = flagged()
    assert page.total == 1
    (row,) = page.rows
    assert (row.external_id, row.max_severity, row.alert_count, row.access, row.band) == (line.customer.external_id, 4, 2, "limited", "D")
    assert [code for code, _name in row.rules] == ["OVERDUE_30", "OVER_BORROWING"]


def test_sla_is_measured_per_severity_and_said_in_words():
    now = timezone.now()
    late = RiskAlertFactory(severity=5, raised_at=now - timedelta(hours=6))  # SLA 4 h → 2 h over
    fresh = RiskAlertFactory(severity=1, raised_at=now - timedelta(hours=2))  # SLA 72 h
    rows = {r.external_id: r for r in flagged().rows}
    assert rows[late.customer.external_id].sla_words == "2 h over"
    assert rows[fresh.customer.external_id].overdue is None
    assert rows[fresh.customer.external_id].sla_words.endswith("left")
    assert ids(flagged(sla_breached=True)) == [late.customer.external_id]


def test_duration_words():
    assert duration_words(timedelta(minutes=5)) == "5 min"
    assert duration_words(timedelta(hours=2, minutes=59)) == "2 h"
    assert duration_words(timedelta(days=3)) == "3 days"


def test_filters_by_rule_severity_status_access_band(analyst):
    a = RiskAlertFactory(customer=CreditLineFactory(access="suspended").customer, rule="OVERDUE_30", severity=4, suspend=True)
    b = RiskAlertFactory(customer=CreditLineFactory(access="open", band="A").customer, rule="SPENDING_SPIKE", severity=2)
    c = RiskAlertFactory(in_review=True, customer=CreditLineFactory(band="C").customer)
    assert ids(flagged(rule="OVERDUE_30")) == [a.customer.external_id]
    assert ids(flagged(severity=2)) == [b.customer.external_id]
    assert ids(flagged(status="in_review")) == [c.customer.external_id]
    assert ids(flagged(access="suspended")) == [a.customer.external_id]
    assert ids(flagged(band="A")) == [b.customer.external_id]


def test_assignee_me_unassigned_anyone(analyst):
    mine = RiskAlertFactory(in_review=True, assigned_to=analyst)
    other = RiskAlertFactory(in_review=True)
    free = RiskAlertFactory()
    assert ids(flagged(assignee="me", user=analyst)) == [mine.customer.external_id]
    assert ids(flagged(assignee="unassigned", user=analyst)) == [free.customer.external_id]
    assert flagged(user=analyst).total == 3
    assert other.customer.external_id in ids(flagged(user=analyst))


def test_search_by_external_id_or_last_phone_digits():
    target = RiskAlertFactory(customer=CustomerFactory(external_id="C000123", phone="13800005678"))
    RiskAlertFactory(customer=CustomerFactory(phone="13800001234"))
    assert ids(flagged(q="C000123")) == ["C000123"]
    assert ids(flagged(q="c000123")) == ["C000123"]
    assert ids(flagged(q="5678")) == [target.customer.external_id]
    assert ids(flagged(q="78")) == []  # too few digits to mean a phone


def test_counts_per_filter_value_are_accounts_not_alerts(analyst):
    line = CreditLineFactory(access="limited", band="D")
    RiskAlertFactory(customer=line.customer, rule="OVER_BORROWING", severity=3)
    RiskAlertFactory(customer=line.customer, rule="SPENDING_SPIKE", severity=3)
    RiskAlertFactory(rule="SPENDING_SPIKE", severity=2, in_review=True, assigned_to=analyst)
    counts = queue_counts(user=analyst)
    assert counts["all"][""] == 2
    assert counts["rule"]["SPENDING_SPIKE"] == 2 and counts["rule"]["OVER_BORROWING"] == 1
    assert counts["severity"]["3"] == 1 and counts["severity"]["2"] == 1
    assert counts["access"]["limited"] == 1 and counts["band"]["D"] == 1
    assert counts["assignee"] == {"me": 1, "unassigned": 1}
    assert counts["status"] == {"open": 1, "in_review": 1}


def test_sort_by_column_and_ties_are_stable():
    now = timezone.now()
    low_old = RiskAlertFactory(severity=1, raised_at=now - timedelta(hours=30))
    high_new = RiskAlertFactory(severity=5, raised_at=now - timedelta(minutes=5))
    assert ids(flagged()) == [high_new.customer.external_id, low_old.customer.external_id]  # default: -severity
    assert ids(flagged(sort="severity")) == [low_old.customer.external_id, high_new.customer.external_id]
    assert ids(flagged(sort="age")) == [low_old.customer.external_id, high_new.customer.external_id]
    assert ids(flagged(sort="-customer")) == sorted(ids(flagged()), reverse=True)


def test_pages_and_page_size():
    RiskAlertFactory.create_batch(30)
    page = flagged(page_size=25)
    assert (page.total, page.num_pages, len(page.rows), page.has_next) == (30, 2, 25, True)
    second = flagged(page_size=25, page=2)
    assert len(second.rows) == 5 and not second.has_next and second.first_index == 26
    assert flagged(page_size=25, page=99).number == 2  # past the end: the last page
    assert not set(ids(page)) & set(ids(second))


def test_filters_round_trip_through_get_params():
    f = QueueFilters.from_params({"rule": "OVERDUE_30", "severity": "4", "assignee": "me", "sla": "breached", "q": " C1 ", "sort": "-due", "page_size": "100"})
    assert QueueFilters.from_params(f.params()) == f
    assert f.is_filtered and not QueueFilters().is_filtered
    junk = QueueFilters.from_params({"severity": "9", "rule": "X", "sort": "password", "page": "0", "page_size": "5000"})
    assert junk == QueueFilters()


# --- query budgets ----------------------------------------------------------------------------


def make_queue(n: int) -> None:
    for i in range(n):
        line = CreditLineFactory(band="BCDE"[i % 4])
        RiskAlertFactory(customer=line.customer, severity=1 + i % 5, in_review=bool(i % 3 == 0))
        if i % 2:
            RiskAlertFactory(customer=line.customer, rule="SPENDING_SPIKE")


# The page's budget, query by query (the same for 1 row or 65):
#  1 session  2 user  3 the user's groups (roles, cached on the user for the request)
#  4 active policy version (SLA hours per severity)
#  5 its body — only the first time in a process; parsed policies are cached per version
#  6 counts per filter value (one aggregate over the open cases, line facets included, no join)
#  7 matching accounts (counted once; the page is a slice, no paginator counts again)
#  8 the page's cases with their customers and credit lines joined
#  9 the page's open alerts with their assignees joined (rules firing, who holds it)
#  10 the user's own permissions  11 their groups' permissions (has_perm, cached after)
#  12 assignable people for bulk assignment (risk admins only)
QUEUE_BUDGET = 12


@pytest.mark.parametrize("rows", [1, 65])
@pytest.mark.parametrize("role", ["analyst", "risk_admin"])
def test_queue_query_budget_is_fixed_whatever_the_rows(client, make_user, django_assert_max_num_queries, rows, role):
    make_queue(rows)
    client.force_login(make_user("viewer", role))
    with django_assert_max_num_queries(QUEUE_BUDGET):
        response = client.get(reverse("decisions:queue"), {"page_size": "100"})
    assert response.status_code == 200
    assert response.content.decode().count("data-row ") == rows


def test_selector_budget(django_assert_num_queries, analyst):
    make_queue(65)
    # policy (SLA) · facet counts · total · page cases with their customers and lines · their
    # alerts: read from the case table, never grouping alerts, never reading the book's lines
    with django_assert_num_queries(5) as captured:
        page = flagged(user=analyst, page_size=100)
        assert [r.assignees for r in page.rows]  # assignees come joined, no query per row
    assert len(page.rows) == 65
    assert not any("GROUP BY" in q["sql"].upper() for q in captured.captured_queries)
    assert not any('FROM "decisions_creditline"' in q["sql"] for q in captured.captured_queries)
