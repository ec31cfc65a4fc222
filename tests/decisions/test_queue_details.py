"""Queue details: the age column, invalid filters answered, numbered pages, select-all, bulk
dismiss and the CSV export of the filtered queue."""

from datetime import timedelta
from unittest import mock

import pytest
from django.urls import reverse
from django.utils import timezone

from tests.factories import CreditLineFactory, RiskAlertFactory

pytestmark = pytest.mark.django_db

QUEUE = reverse("decisions:queue")


@pytest.fixture(autouse=True)
def no_broker():
    with mock.patch("decisions.tasks.recompute_customer.delay") as delay:
        yield delay


def flagged(external_id: str, *, raised_ago: timedelta, severity: int = 3):
    customer = CreditLineFactory(customer__external_id=external_id).customer
    return RiskAlertFactory(customer=customer, severity=severity, raised_at=timezone.now() - raised_ago)


def test_the_age_column_says_how_long_since_raised_in_words(analyst_client):
    flagged("AGE-HOURS", raised_ago=timedelta(hours=3, minutes=10))
    flagged("AGE-DAYS", raised_ago=timedelta(days=2, hours=5))
    flagged("AGE-DAY", raised_ago=timedelta(hours=49))
    html = analyst_client.get(QUEUE).content.decode()
    assert ">Age" in html
    ages = {}
    for chunk in html.split('data-customer="')[1:]:
        external_id = chunk.split('"', 1)[0]
        cell = chunk.split("data-age>", 1)[1].split("</time>", 1)[0]
        ages[external_id] = cell.rsplit(">", 1)[1]
    assert ages == {"AGE-HOURS": "3 h", "AGE-DAYS": "2 days", "AGE-DAY": "2 days"}


def test_invalid_filter_values_are_named_in_a_warning_and_ignored(analyst_client):
    flagged("BAD-FILTER", raised_ago=timedelta(hours=1), severity=4)
    response = analyst_client.get(QUEUE, {"severity": "9", "rule": "NOPE", "band": "B", "page_size": "7"})
    html = response.content.decode()
    assert response.status_code == 200
    assert "Ignored filter values the queue does not know: Rule “NOPE”, Severity “9”, Rows per page “7”." in html
    assert "Band “B”" not in html  # a valid value is not named
    # valid values draw no warning
    assert "Ignored filter values" not in analyst_client.get(QUEUE, {"severity": "4", "sort": "-age"}).content.decode()


def test_a_script_in_a_filter_value_is_shown_as_text(analyst_client):
    html = analyst_client.get(QUEUE, {"rule": "<script>x</script>"}).content.decode()
    assert "Rule “&lt;script&gt;x&lt;/script&gt;”" in html


def _csv(response) -> list[list[str]]:
    import csv
    import io

    body = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.reader(io.StringIO(body)))


def test_the_csv_export_holds_the_filtered_queue_masked_escaped_and_audited(analyst_client, analyst):
    from riskops.core.models import AuditAction, AuditEvent

    flagged("EXP-SEV5", raised_ago=timedelta(hours=2), severity=5)
    flagged("=HYPERLINK(1)", raised_ago=timedelta(hours=2), severity=5)
    flagged("EXP-SEV2", raised_ago=timedelta(hours=2), severity=2)
    html = analyst_client.get(QUEUE, {"severity": "5"}).content.decode()
    export_url = reverse("decisions:queue-export") + "?severity=5"
    assert f'href="{export_url}"' in html

    response = analyst_client.get(export_url)
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    rows = _csv(response)
    assert rows[0][:4] == ["customer", "phone_masked", "max_severity", "open_alerts"]
    assert sorted(r[0] for r in rows[1:]) == ["'=HYPERLINK(1)", "EXP-SEV5"]
    assert all(r[1].startswith("•") for r in rows[1:])
    events = AuditEvent.objects.filter(action__in=[AuditAction.EXPORT_START, AuditAction.EXPORT_CSV]).order_by("pk")
    assert [e.action for e in events] == [AuditAction.EXPORT_START, AuditAction.EXPORT_CSV]
    assert events[1].actor == analyst
    assert events[1].after["export"] == "queue" and events[1].after["filters"] == {"severity": "5"}
    assert events[1].after["rows"] == 2 and events[1].after["complete"] is True


def test_the_export_reads_the_queue_page_after_page(analyst_client, monkeypatch):
    from decisions.casework import queue_export

    monkeypatch.setattr(queue_export, "ROWS_PER_PAGE", 2)
    for n in range(5):
        flagged(f"PAGED-{n}", raised_ago=timedelta(hours=n + 1))
    rows = _csv(analyst_client.get(reverse("decisions:queue-export")))
    assert sorted(r[0] for r in rows[1:]) == [f"PAGED-{n}" for n in range(5)]


def test_page_numbers_show_the_first_the_last_and_the_neighbours_with_gaps():
    from decisions.casework.queue_selectors import page_numbers

    assert page_numbers(1, 1) == [1]
    assert page_numbers(1, 10) == [1, 2, 3, None, 10]
    assert page_numbers(6, 10) == [1, None, 4, 5, 6, 7, 8, None, 10]
    assert page_numbers(10, 10) == [1, None, 8, 9, 10]
    assert page_numbers(4, 10) == [1, 2, 3, 4, 5, 6, None, 10]


def test_the_queue_links_numbered_pages_and_the_last_page(analyst_client):
    for n in range(26):
        flagged(f"PG-{n:02d}", raised_ago=timedelta(hours=1))
    html = analyst_client.get(QUEUE, {"page_size": "25"}).content.decode()
    assert 'aria-label="Last page, 2"' in html and "page=2" in html
    assert "Page 1 of 2" in html
    last = analyst_client.get(QUEUE, {"page_size": "25", "page": "2"}).content.decode()
    assert last.count('data-customer="PG-') == 1 and "Page 2 of 2" in last


def test_bulk_dismiss_closes_every_selected_alert_with_one_note_audited(analyst_client, analyst):
    from decisions.models import CaseNote, RiskAlert
    from riskops.core.models import AuditEvent

    first = flagged("BULK-A", raised_ago=timedelta(hours=1))
    second = flagged("BULK-B", raised_ago=timedelta(hours=1))
    keep = flagged("BULK-C", raised_ago=timedelta(hours=1))
    html = analyst_client.get(QUEUE).content.decode()
    assert "data-select-all" in html and "data-bulk-dismiss" in html
    response = analyst_client.post(
        reverse("decisions:queue-dismiss"), {"alert_ids": [str(first.pk), str(second.pk)], "note": "known payroll pattern", "suppress_days": "7"}
    )
    assert response.status_code == 302
    statuses = dict(RiskAlert.objects.values_list("pk", "status"))
    assert statuses[first.pk] == statuses[second.pk] == "dismissed" and statuses[keep.pk] == "open"
    assert CaseNote.objects.filter(body="known payroll pattern").count() == 2
    assert AuditEvent.objects.filter(action="alert.dismiss", actor=analyst).count() == 2


def test_bulk_dismiss_changes_nothing_when_one_alert_is_refused(analyst_client, make_user):
    from decisions.models import RiskAlert

    mine = flagged("BULK-MINE", raised_ago=timedelta(hours=1))
    held = flagged("BULK-HELD", raised_ago=timedelta(hours=1))
    RiskAlert.objects.filter(pk=held.pk).update(
        status="in_review", assigned_to=make_user("someone-else", "analyst"), claimed_at=timezone.now()
    )
    analyst_client.post(reverse("decisions:queue-dismiss"), {"alert_ids": f"{mine.pk},{held.pk}", "note": "n", "suppress_days": "7"})
    assert set(RiskAlert.objects.values_list("status", flat=True)) == {"open", "in_review"}
    # no note: refused with a message, nothing written
    response = analyst_client.post(reverse("decisions:queue-dismiss"), {"alert_ids": str(mine.pk), "note": " ", "suppress_days": "7"}, follow=True)
    assert "Say why, in a note" in response.content.decode()
    assert RiskAlert.objects.get(pk=mine.pk).status == "open"


def test_compliance_cannot_bulk_dismiss(client, make_user):
    alert = flagged("BULK-COMP", raised_ago=timedelta(hours=1))
    client.force_login(make_user("u-comp", "compliance"))
    assert client.post(reverse("decisions:queue-dismiss"), {"alert_ids": str(alert.pk), "note": "n", "suppress_days": "7"}).status_code == 403
    assert "data-bulk-dismiss" not in client.get(QUEUE).content.decode()
