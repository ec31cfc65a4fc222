"""Working a case without leaving the profile (issue 22, items 4 and 6): the case panel (claim,
triage forms as a panel, "Done, next case"), triage in words (no "suppression"), bounded case
notes with a counter, and valid <time> markup."""

from datetime import datetime, timedelta
from html.parser import HTMLParser
from unittest import mock

import pytest
from django.urls import reverse
from django.utils import timezone

from decisions.casework.services import triage
from decisions.models import AlertStatus, CaseNote, RiskAlert
from riskops.core.exceptions import ValidationFailed
from riskops.core.models import AuditEvent
from tests.factories import CaseNoteFactory, CreditLineFactory, RiskAlertFactory

pytestmark = pytest.mark.django_db

MAX = triage.NOTE_MAX_CHARS


@pytest.fixture(autouse=True)
def no_broker():
    # Dismiss and confirm enqueue a recompute on commit; the task itself is tested elsewhere.
    with mock.patch("decisions.tasks.recompute_customer.delay"):
        yield


def flagged(**kw) -> RiskAlert:
    return RiskAlertFactory(customer=CreditLineFactory().customer, **kw)


def profile_url(alert_or_customer) -> str:
    customer = getattr(alert_or_customer, "customer", alert_or_customer)
    return reverse("decisions:customer", kwargs={"external_id": customer.external_id})


class _Times(HTMLParser):
    def __init__(self):
        super().__init__()
        self.values: list[str | None] = []

    def handle_starttag(self, tag, attrs):
        if tag == "time":
            self.values.append(dict(attrs).get("datetime"))


# --- item 4: the case panel ---------------------------------------------------------------------


def test_the_case_panel_holds_claim_next_case_and_a_triage_card_per_open_alert(analyst_client):
    # Given an account with two open alerts and a closed one
    alert = flagged(severity=4)
    sibling = RiskAlertFactory(customer=alert.customer, rule="SPENDING_SPIKE", severity=2)
    closed = RiskAlertFactory(customer=alert.customer, rule="OVERDUE_30", dismissed=True)
    # when an analyst opens the profile
    html = analyst_client.get(profile_url(alert)).content.decode()
    panel = html[html.index('id="h-case"') : html.index('id="h-alerts"')]
    # then the panel says nobody works it, offers the claim, "Done, next case" and the way back
    assert "Nobody is working on this account yet." in panel
    assert f'action="{reverse("decisions:alert-claim", args=[alert.pk])}"' in panel and "data-claim-form" in panel
    assert f'action="{reverse("decisions:queue-next")}"' in panel and "Done, next case" in panel
    assert f'href="{reverse("decisions:queue")}" data-back-to-queue' in panel
    # one card per open alert, most severe first, each with its dismiss and confirm forms
    assert panel.index(f'id="triage-{alert.pk}"') < panel.index(f'id="triage-{sibling.pk}"')
    assert f'id="triage-{closed.pk}"' not in panel
    for each in (alert, sibling):
        assert f'action="{reverse("decisions:alert-dismiss", args=[each.pk])}"' in panel
        assert f'action="{reverse("decisions:alert-confirm", args=[each.pk])}"' in panel
    # and the alerts table holds no form any more: its open rows link to their card
    table = html[html.index('id="h-alerts"') : html.index("</table>", html.index('id="h-alerts"'))]
    assert "<form" not in table and f'href="#triage-{alert.pk}"' in table


def test_the_panel_names_the_holder_and_offers_the_holder_to_give_it_back(analyst_client, analyst, make_user):
    alert = flagged()
    triage.alert_claim(alert=alert, actor=analyst)
    html = analyst_client.get(profile_url(alert)).content.decode()
    assert "You are working on this account." in html and "data-claim-form" not in html
    assert f'action="{reverse("decisions:alert-unassign", args=[alert.pk])}"' in html

    other = make_user("other", "analyst")
    analyst_client.force_login(other)
    html = analyst_client.get(profile_url(alert)).content.decode()
    assert f"{analyst.get_username()} is working on this account." in html
    assert "data-claim-form" not in html and reverse("decisions:alert-unassign", args=[alert.pk]) not in html


def test_compliance_reads_the_profile_without_the_case_panel(client, compliance_officer):
    alert = flagged()
    client.force_login(compliance_officer)
    html = client.get(profile_url(alert)).content.decode()
    assert 'id="h-case"' not in html and "data-claim-form" not in html and "data-next-form" not in html
    assert "js/profile.js" in html  # `q` still goes back to the queue


def test_the_keys_and_their_help_come_translated_from_the_page(analyst_client):
    html = analyst_client.get(profile_url(flagged())).content.decode()
    assert "js/profile.js" in html and "<script>" not in html  # static file, no inline script (CSP)
    for key in "cdrjknq":
        assert f"data-key-{key}=" in html
    assert 'data-key-n="Done, next case: claim the next unassigned account (highest severity, then nearest SLA deadline, then oldest) and open it"' in html


def test_dismiss_then_next_case_opens_the_most_urgent_unassigned_account(analyst_client, analyst):
    # Given the account being worked and two waiting: severity 2 (older) and severity 5
    alert = flagged()
    triage.alert_claim(alert=alert, actor=analyst)
    flagged(severity=2, raised_at=timezone.now() - timedelta(days=3))
    urgent = flagged(severity=5, rule="OVERDUE_90")
    # when the analyst dismisses with "Dismiss, next case"
    response = analyst_client.post(
        reverse("decisions:alert-dismiss", args=[alert.pk]),
        {"note": "Payslip explains it.", "suppress_days": "14", "then": "next", "next": profile_url(alert)},
    )
    # then the alert is dismissed and the next case, in the queue's order, is open and theirs
    alert.refresh_from_db()
    assert alert.status == AlertStatus.DISMISSED
    assert response.status_code == 302 and response.url == profile_url(urgent)
    urgent.refresh_from_db()
    assert urgent.assigned_to == analyst and urgent.status == AlertStatus.IN_REVIEW
    html = analyst_client.get(response.url).content.decode()
    assert "dismissed as a false positive" in html and f"Next case: {urgent.customer.external_id} is yours." in html


def test_confirm_then_next_with_nothing_waiting_goes_back_to_the_queue_saying_so(analyst_client, analyst):
    alert = flagged()
    response = analyst_client.post(
        reverse("decisions:alert-confirm", args=[alert.pk]),
        {"note": "Six lenders confirmed by phone.", "suppress_days": "30", "then": "next"},
        follow=True,
    )
    alert.refresh_from_db()
    assert alert.status == AlertStatus.CONFIRMED
    assert response.redirect_chain[-1][0].startswith(reverse("decisions:queue"))
    html = response.content.decode()
    assert "No unassigned case is waiting: the queue is clear for now." in html
    assert "confirmed; its action stays in force until" in html


def test_htmx_dismiss_then_next_case_tells_htmx_to_load_the_next_page(analyst_client):
    alert = flagged()
    nxt = flagged(severity=4)
    response = analyst_client.post(
        reverse("decisions:alert-dismiss", args=[alert.pk]),
        {"note": "Known pattern.", "suppress_days": "7", "then": "next"},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200 and response["HX-Redirect"] == profile_url(nxt)


def test_done_next_case_from_the_profile_takes_the_queue_order_unfiltered(analyst_client, analyst):
    current = flagged()
    triage.alert_claim(alert=current, actor=analyst)
    waiting = flagged(severity=5)
    response = analyst_client.post(reverse("decisions:queue-next"))
    assert response.url == profile_url(waiting)
    # nothing left: back to the queue, in words
    response = analyst_client.post(reverse("decisions:queue-next"), follow=True)
    assert "No unassigned case is waiting: the queue is clear for now." in response.content.decode()


def test_bad_input_with_then_next_stays_on_the_form_and_takes_no_case(analyst_client):
    alert = flagged()
    waiting = flagged(severity=5)
    response = analyst_client.post(reverse("decisions:alert-dismiss", args=[alert.pk]), {"note": " ", "suppress_days": "7", "then": "next"})
    assert response.status_code == 400
    waiting.refresh_from_db()
    assert waiting.assigned_to is None


# --- item 6a: triage in words, no "suppression" ---------------------------------------------------


def test_the_triage_forms_say_what_the_days_do_without_suppression(analyst_client):
    alert = flagged()
    html = analyst_client.get(profile_url(alert)).content.decode()
    assert "suppress" not in html.replace('name="suppress_days"', "").lower()
    dismiss = html[html.index('data-triage-form="dismiss"') : html.index('data-triage-form="confirm"')]
    confirm = html[html.index('data-triage-form="confirm"') : html.index("</form>", html.index('data-triage-form="confirm"'))]
    assert "Don't raise this again for (days)" in dismiss
    assert "Keep its action in force for (days)" in confirm and "raise" not in confirm.lower()


def test_closed_alerts_say_not_raised_again_or_action_in_force(analyst_client):
    customer = CreditLineFactory().customer
    now = timezone.now()
    RiskAlertFactory(customer=customer, dismissed=True, suppressed_until=now + timedelta(days=3))
    RiskAlertFactory(customer=customer, rule="OVERDUE_30", confirmed=True, suppressed_until=now + timedelta(days=5))
    html = analyst_client.get(profile_url(customer)).content.decode()
    assert "not raised again before" in html and "its action stays in force until" in html
    assert "suppressed until" not in html


def test_the_queue_bulk_dismiss_speaks_plainly(analyst_client):
    flagged()
    html = analyst_client.get(reverse("decisions:queue")).content.decode()
    assert "Don't raise these again for (days)" in html and "Suppress" not in html


def test_dismiss_message_and_error_pages_do_not_say_suppressed(analyst_client):
    alert = flagged()
    response = analyst_client.post(
        reverse("decisions:alert-dismiss", args=[alert.pk]), {"note": "Stale bureau file.", "suppress_days": "7"}, follow=True
    )
    html = response.content.decode()
    assert "is not raised again before" in html and "suppressed" not in html.lower()
    other = flagged()
    page = analyst_client.post(reverse("decisions:alert-confirm", args=[other.pk]), {"note": "x", "suppress_days": "0"})
    assert page.status_code == 400
    text = page.content.decode()
    assert "Keep its action in force for (days)" in text and f'href="#confirm-days-{other.pk}"' in text
    assert "suppress" not in text.replace('name="suppress_days"', "").lower()


def test_the_service_s_day_bound_message_does_not_mention_suppression(analyst):
    alert = flagged()
    with pytest.raises(ValidationFailed) as exc:
        triage.alert_confirm(alert=alert, actor=analyst, note="real", suppress_days=500)
    assert exc.value.field == "suppress_days" and "uppress" not in exc.value.message


# --- item 6f: bounded notes, a counter, valid times ------------------------------------------------


def test_a_note_longer_than_the_bound_is_refused_by_the_service(analyst):
    customer = flagged().customer
    with pytest.raises(ValidationFailed) as exc:
        triage.note_add(customer=customer, actor=analyst, body="x" * (MAX + 1))
    assert exc.value.field == "body" and "5,000" in exc.value.message
    assert triage.note_add(customer=customer, actor=analyst, body="x" * MAX).body == "x" * MAX
    with pytest.raises(ValidationFailed) as exc:
        triage.alert_dismiss(alert=flagged(), actor=analyst, note="y" * (MAX + 1), suppress_days=7)
    assert exc.value.field == "note"


def test_a_too_long_note_is_a_form_error_on_the_profile_with_the_text_kept(analyst_client):
    customer = flagged().customer
    events = AuditEvent.objects.count()
    body = "Call notes. " + "z" * MAX
    response = analyst_client.post(reverse("decisions:note-add", args=[customer.external_id]), {"body": body})
    assert response.status_code == 400
    html = response.content.decode()
    assert 'id="note-body-error"' in html and "A note is at most 5,000 characters" in html
    assert body in html and 'aria-invalid="true"' in html
    assert not CaseNote.objects.exists() and AuditEvent.objects.count() == events


def test_a_too_long_dismiss_note_is_a_form_error(analyst_client):
    alert = flagged()
    response = analyst_client.post(reverse("decisions:alert-dismiss", args=[alert.pk]), {"note": "n" * (MAX + 1), "suppress_days": "7"})
    assert response.status_code == 400 and "A note is at most 5,000 characters" in response.content.decode()
    alert.refresh_from_db()
    assert alert.status == AlertStatus.OPEN


def test_note_fields_carry_the_bound_and_a_counter(analyst_client):
    alert = flagged()
    html = analyst_client.get(profile_url(alert)).content.decode()
    assert f'id="note-body" name="body" rows="3" required maxlength="{MAX}" data-counted' in html
    assert 'data-counter-for="note-body"' in html and "At most 5,000 characters" in html
    assert f'maxlength="{MAX}" data-dismiss-note data-counted' in html
    assert f'maxlength="{MAX}" data-confirm-note data-counted' in html


def test_every_time_on_the_profile_has_a_valid_iso_datetime(analyst_client, analyst):
    alert = flagged()
    triage.alert_claim(alert=alert, actor=analyst)
    CaseNoteFactory(customer=alert.customer, author=analyst, body="First call.")
    RiskAlertFactory(customer=alert.customer, rule="OVERDUE_30", dismissed=True, suppressed_until=timezone.now() + timedelta(days=2))
    html = analyst_client.get(profile_url(alert)).content.decode()
    parser = _Times()
    parser.feed(html)
    assert len(parser.values) >= 4
    for value in parser.values:
        assert value is not None and "\\" not in value, value
        assert datetime.fromisoformat(value).tzinfo is not None, value
    assert '\\"' not in html
