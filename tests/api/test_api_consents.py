"""Consent grant and withdrawal, disclosure acknowledgement (service and endpoint)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.events import disclosure_acknowledge
from accounts.models import Consent, CustomerChangeMark, Disclosure, DisclosureAcknowledgement
from riskops.core.exceptions import Conflict, NotFound, ValidationFailed
from riskops.core.models import AuditEvent
from tests.factories import CustomerFactory, DisclosureFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def customer():
    return CustomerFactory(external_id="C-1")


@pytest.fixture
def consent_text():
    return DisclosureFactory(kind=Disclosure.Kind.CONSENT_TEXT, version=7)


@pytest.fixture
def risk_text():
    return DisclosureFactory(kind=Disclosure.Kind.RISK_DISCLOSURE, version=3)


def _nested(depth: int) -> dict:
    value: dict = {"leaf": 1}
    for _ in range(depth - 1):
        value = {"k": value}
    return value


def grant(**over):
    body = {"customer": "C-1", "purpose": "credit_scoring", "disclosure_version": 7, "channel": "app", "evidence": {"ip": "203.0.113.9"}}
    body.update(over)
    return body


def test_grant_then_withdraw(post, customer, consent_text):
    response = post("/api/v1/consents/", grant())
    assert response.status_code == 201, response.content
    assert response.json()["state"] == "active" and response.json()["disclosure_version"] == 7
    assert post("/api/v1/consents/", grant()).json()["id"] == response.json()["id"]  # already active: unchanged
    withdrawn = post("/api/v1/consents/withdraw/", {"customer": "C-1", "purpose": "credit_scoring"})
    assert withdrawn.status_code == 200 and withdrawn.json()["state"] == "withdrawn"
    again = post("/api/v1/consents/withdraw/", {"customer": "C-1", "purpose": "credit_scoring"})
    assert again.status_code == 200 and again.json()["withdrawn_at"] == withdrawn.json()["withdrawn_at"]
    assert Consent.objects.get().state == "withdrawn"
    assert CustomerChangeMark.objects.filter(trigger="consent").count() == 2


@pytest.mark.parametrize(
    "change,status,field",
    [
        ({"purpose": "astrology"}, 400, "purpose"),
        ({"channel": "pigeon"}, 400, "channel"),
        ({"evidence": [1]}, 400, "evidence"),
        ({"disclosure_version": 99}, 404, "disclosure_version"),
        ({"disclosure_version": "7"}, 400, "disclosure_version"),
        ({"customer": "nobody"}, 404, "customer"),
        ({"expires_at": "2000-01-01T00:00:00Z"}, 400, "expires_at"),
        # year 10000 once in UTC: refused before anything is written (it was stored, then broke the customer)
        ({"expires_at": "9999-12-31T23:59:59-14:00"}, 400, "expires_at"),
        ({"expires_at": "2300-01-01T00:00:00Z"}, 400, "expires_at"),
        ({"evidence": ...}, 400, "evidence"),
        ({"evidence": _nested(33)}, 400, "evidence"),
        ({"evidence": _nested(900)}, 400, "body"),  # refused by the parser, never reaches an encoder
    ],
)
def test_grant_errors(post, customer, consent_text, change, status, field):
    body = {k: v for k, v in grant(**change).items() if v is not ...}
    response = post("/api/v1/consents/", body)
    assert response.status_code == status, response.content
    assert response.json()["field"] == field
    assert Consent.objects.count() == 0


def test_withdraw_errors(post, customer, consent_text):
    assert post("/api/v1/consents/withdraw/", {"customer": "C-1", "purpose": "astrology"}).json()["field"] == "purpose"
    never = post("/api/v1/consents/withdraw/", {"customer": "C-1", "purpose": "marketing"})
    assert never.status_code == 404 and never.json()["field"] == "purpose"


def ack(**over):
    now = timezone.now()
    body = {"customer": "C-1", "disclosure_kind": "risk_disclosure", "disclosure_version": 3,
            "shown_at": (now - timedelta(minutes=3)).replace(microsecond=0).isoformat(),
            "acknowledged_at": (now - timedelta(minutes=2)).replace(microsecond=0).isoformat(), "channel": "app"}
    body.update(over)
    return body


def test_acknowledgement_endpoint(post, customer, risk_text, django_capture_on_commit_callbacks):
    body = ack()
    with django_capture_on_commit_callbacks() as callbacks:
        response = post("/api/v1/disclosure-acknowledgements/", body)
    assert response.status_code == 201, response.content
    assert response.json()["disclosure_kind"] == "risk_disclosure"
    assert len(callbacks) == 1
    assert CustomerChangeMark.objects.filter(customer=customer).count() == 1
    assert AuditEvent.objects.filter(action="disclosure.acknowledge").count() == 1
    # the identical acknowledgement again: stored once, audited once
    assert post("/api/v1/disclosure-acknowledgements/", body).status_code == 201
    assert DisclosureAcknowledgement.objects.count() == 1
    assert AuditEvent.objects.filter(action="disclosure.acknowledge").count() == 1
    later = post("/api/v1/disclosure-acknowledgements/", {**body, "acknowledged_at": timezone.now().isoformat()})
    assert later.status_code == 409 and later.json()["field"] == "acknowledged_at"


@pytest.mark.parametrize(
    "change,status,field",
    [
        ({"disclosure_kind": "horoscope"}, 400, "disclosure_kind"),
        ({"disclosure_version": 42}, 404, "disclosure_version"),
        ({"shown_at": "soon"}, 400, "shown_at"),
        ({"acknowledged_at": (timezone.now() + timedelta(hours=1)).isoformat()}, 400, "acknowledged_at"),
        ({"acknowledged_at": (timezone.now() - timedelta(hours=1)).isoformat()}, 400, "acknowledged_at"),  # before shown_at
        ({"channel": "fax"}, 400, "channel"),
        ({"customer": "nobody"}, 404, "customer"),
    ],
)
def test_acknowledgement_errors(post, customer, risk_text, change, status, field):
    response = post("/api/v1/disclosure-acknowledgements/", ack(**change))
    assert response.status_code == status, response.content
    assert response.json()["field"] == field
    assert DisclosureAcknowledgement.objects.count() == 0
    assert CustomerChangeMark.objects.count() == 0


def test_disclosure_acknowledge_service(customer, risk_text):
    now = timezone.now()
    with pytest.raises(ValidationFailed) as exc:
        disclosure_acknowledge(customer=customer, disclosure=risk_text, shown_at=now.replace(tzinfo=None), acknowledged_at=now)
    assert exc.value.field == "shown_at"
    with pytest.raises(ValidationFailed) as exc:
        disclosure_acknowledge(customer=customer, disclosure=risk_text, shown_at=now - timedelta(days=800), acknowledged_at=now)
    assert exc.value.field == "shown_at"  # long before onboarding
    with pytest.raises(ValidationFailed):
        disclosure_acknowledge(customer=customer, disclosure=Disclosure(kind="risk_disclosure", version=9), shown_at=now, acknowledged_at=now)
    row = disclosure_acknowledge(customer=customer, disclosure=risk_text, shown_at=now - timedelta(seconds=5), acknowledged_at=now)
    assert row.pk and row.channel == "app"
    with pytest.raises(Conflict):
        disclosure_acknowledge(customer=customer, disclosure=risk_text, shown_at=now - timedelta(seconds=5), acknowledged_at=now, channel="web")
    missing = Disclosure(pk=999999, kind="risk_disclosure", version=9)
    with pytest.raises(NotFound):
        disclosure_acknowledge(customer=customer, disclosure=missing, shown_at=now, acknowledged_at=now)
    assert DisclosureAcknowledgement.objects.count() == 1
