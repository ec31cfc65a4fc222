"""Every compliance URL × every role, built from the URL configuration itself: a URL added to
compliance/urls.py without a row in EXPECTED fails here, so none can be missed."""

import pytest
from django.urls import URLPattern, get_resolver, reverse

from accounts.models import Consent
from riskops.core.audit import audit_record
from riskops.core.models import AuditEvent
from tests.decisions.scenarios import make_customer

pytestmark = pytest.mark.django_db

READERS = {"compliance", "risk_admin"}
# name → (method, the statuses a reader may get). Everyone else: anonymous → login, no role or
# analyst → 403 (analysts see neither exports nor the audit trail nor any compliance page).
EXPECTED = {
    "index": ("get", {200}),
    "consents": ("get", {200}),
    "consent": ("get", {200}),
    "customer-consents": ("get", {200}),
    "disclosures": ("get", {200}),
    "disclosure-missing": ("get", {200}),
    "notices": ("get", {200}),
    "audit": ("get", {200}),
    "audit-event": ("get", {200}),
    "audit-verify": ("post", {302}),  # verification on demand: a read of the chain, then back to the page
    "export-audit": ("get", {200}),
    "export-consents": ("get", {200}),
    "export-acknowledgements": ("get", {200}),
    "export-decisions": ("get", {200}),
    "export-notices": ("get", {200}),
    "subject-report": ("get", {200}),
    "subject-report-json": ("get", {200}),
    "subject-report-lookup": ("get", {302}),
}


def _compliance_patterns() -> list[URLPattern]:
    return [p for p in get_resolver().namespace_dict["compliance"][1].url_patterns if isinstance(p, URLPattern)]


@pytest.fixture
def urls():
    customer = make_customer()
    consent = Consent.objects.filter(customer=customer).first()
    event = audit_record(actor=None, action="note.add", target=customer)
    kwargs = {"consent": {"pk": consent.pk}, "audit-event": {"pk": event.pk}, "disclosure-missing": {"kind": "risk_disclosure"}}
    out = {}
    for pattern in _compliance_patterns():
        names = set(pattern.pattern.converters)
        args = kwargs.get(pattern.name, {"external_id": customer.external_id} if "external_id" in names else {})
        url = reverse(f"compliance:{pattern.name}", kwargs=args)
        if pattern.name == "subject-report-lookup":
            url += f"?customer={customer.external_id}"
        out[pattern.name] = url
    return out


def test_every_compliance_url_has_an_expectation():
    assert {p.name for p in _compliance_patterns()} == set(EXPECTED)


@pytest.mark.parametrize("role", [None, "", "analyst", "compliance", "risk_admin"])
def test_every_compliance_url_by_role(client, make_user, urls, role):
    if role is not None:
        client.force_login(make_user("u-" + (role or "nobody"), *([role] if role else [])))
    for name, url in urls.items():
        method, allowed = EXPECTED[name]
        response = getattr(client, method)(url)
        if role is None:
            assert response.status_code == 302 and reverse("login") in response["Location"], (name, response.status_code)
        elif role in READERS:
            assert response.status_code in allowed, (name, response.status_code)
            if hasattr(response, "streaming_content"):
                b"".join(response.streaming_content)
        else:
            assert response.status_code == 403, (name, role, response.status_code)


@pytest.mark.parametrize("role", ["compliance", "risk_admin"])
def test_readers_cannot_write_through_any_compliance_page(client, make_user, urls, role):
    # Everything here reads: a POST to any page is refused (405) and writes nothing, not even
    # an audit event (the one POST that exists, verification on demand, is in the table above).
    client.force_login(make_user("u-" + role, role))
    before = AuditEvent.objects.count()
    for name, url in urls.items():
        if EXPECTED[name][0] == "get":
            assert client.post(url).status_code == 405, name
    assert AuditEvent.objects.count() == before
