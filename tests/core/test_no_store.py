"""`Cache-Control: no-store` on every URL that carries personal data, and on every other one too.

Built from the URL configuration itself: every named URL outside the admin is classified below
as PERSONAL (asked for with real data, as someone allowed to see it: a 200 that says no-store)
or OTHER (with the reason); a URL added without a classification fails here. Then every named
URL, the admin's included, is asked for once more with placeholder arguments, and whatever it
answers (a page, a 404, a 405, a redirect) says no-store as well.
"""

import json
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group, User
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from accounts.models import Consent
from riskops.core.audit import audit_record
from tests.api.factories import api_client_with
from tests.factories import (
    CaseNoteFactory,
    ConsentFactory,
    CreditDecisionFactory,
    CreditLineFactory,
    CustomerFactory,
    RiskAlertFactory,
    ScoreSnapshotFactory,
)

pytestmark = pytest.mark.django_db

EXTERNAL_ID = "C-PII-1"
# name → (method, who asks): "staff" is a user with every role; "token" a service client with
# every scope. Each answers with something about a customer.
PERSONAL = {
    "decisions:overview": ("get", "staff"),  # open alerts name customers
    "decisions:customer": ("get", "staff"),  # the risk profile
    "decisions:queue": ("get", "staff"),  # flagged customers
    "decisions:customer-search": ("get", "staff"),  # customers found, phones masked
    "decisions:queue-export": ("get", "staff"),  # the queue as CSV
    "decisions:override-request": ("get", "staff"),  # the customer's line on the request form
    "compliance:index": ("get", "staff"),
    "compliance:audit": ("get", "staff"),
    "compliance:audit-event": ("get", "staff"),
    "compliance:consents": ("get", "staff"),
    "compliance:consent": ("get", "staff"),
    "compliance:customer-consents": ("get", "staff"),
    "compliance:notices": ("get", "staff"),
    "compliance:subject-report": ("get", "staff"),
    "compliance:subject-report-json": ("get", "staff"),
    "compliance:disclosure-missing": ("get", "staff"),  # customers who have not acknowledged
    "compliance:export-audit": ("get", "staff"),
    "compliance:export-consents": ("get", "staff"),
    "compliance:export-acknowledgements": ("get", "staff"),
    "compliance:export-decisions": ("get", "staff"),
    "compliance:export-notices": ("get", "staff"),
    "api:customer-decision": ("get", "token"),
    "api:customer-decisions": ("get", "token"),
    "api:alerts": ("get", "token"),
    "api:draw-check": ("post", "token"),  # the customer's available credit
}
OTHER = {
    "healthz": "a probe: {\"status\": \"ok\"}",
    "readyz": "a probe: the status, checks only for a monitoring token or network",
    "metrics": "Prometheus figures, for a monitoring token or network only (else a 404)",
    "login": "a form",
    "logout": "POST, then a redirect",
    "set_language": "POST, then a redirect",
    "compliance:audit-verify": "POST, then a redirect",
    "compliance:disclosures": "published disclosure texts",
    "compliance:subject-report-lookup": "a redirect to the report",
    "decisions:runs": "run progress, counts",
    "decisions:run-start": "a confirmation: the customer count; POST, then a redirect",
    "decisions:run-progress": "run progress, counts",
    "decisions:queue-next": "POST, then a redirect",
    "decisions:queue-assign": "POST, then a redirect",
    "decisions:queue-dismiss": "POST, then a redirect",
    "decisions:alert-claim": "POST, then a redirect",
    "decisions:alert-unassign": "POST, then a redirect",
    "decisions:alert-assign": "POST, then a redirect",
    "decisions:alert-dismiss": "POST, then a redirect",
    "decisions:alert-confirm": "POST, then a redirect",
    "decisions:note-add": "POST, then a redirect",
    "decisions:customer-recompute": "POST, then a redirect",
    "decisions:simulation": "book-wide figures of a draft policy",
    "decisions:simulation-progress": "progress, counts",
    "decisions:simulation-resume": "POST, then a redirect",
    "modelling:index": "model figures",
    "modelling:report": "model figures",
    "modelling:report-json": "model figures",
    "modelling:validate": "POST, then a redirect",
    "modelling:health": "model figures",
    "modelling:health-acknowledge": "POST, then a redirect",
    "modelling:challenger": "model figures",
    "modelling:challenger-attach": "POST, then a redirect",
    "modelling:challenger-detach": "POST, then a redirect",
    "api:transactions": "an ingestion receipt (ids)",
    "api:transactions-batch": "an ingestion receipt (ids)",
    "api:repayments": "an ingestion receipt (ids)",
    "api:repayments-batch": "an ingestion receipt (ids)",
    "api:credit-applications": "an ingestion receipt (ids)",
    "api:credit-applications-batch": "an ingestion receipt (ids)",
    "api:bureau-reports": "an ingestion receipt (ids)",
    "api:bureau-reports-batch": "an ingestion receipt (ids)",
    "api:consent-grant": "an ingestion receipt (ids)",
    "api:consent-withdraw": "an ingestion receipt (ids)",
    "api:acknowledgements": "an ingestion receipt (ids)",
    "api:schema": "the OpenAPI document",
    "api:docs": "Swagger UI",
    "api:not-found": "a JSON 404",
}
PLACEHOLDER = {"int": 999999, "str": "C-NONE", "path": "999999", "slug": "none"}
# Admin URLs whose arguments come from a regular expression rather than a converter.
ADMIN_KWARGS = {"admin:app_list": {"app_label": "accounts"}}


def _named_urls() -> dict[str, URLPattern]:
    found: dict[str, URLPattern] = {}

    def walk(patterns, namespaces):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                walk(pattern.url_patterns, namespaces + ([pattern.namespace] if pattern.namespace else []))
            elif pattern.name:
                found.setdefault(":".join([*namespaces, pattern.name]), pattern)

    walk(get_resolver().url_patterns, [])
    return found


def _converter_kind(converter) -> str:
    return type(converter).__name__.removesuffix("Converter").lower().replace("string", "str")


def _placeholder_url(name: str, pattern: URLPattern) -> str:
    kwargs = ADMIN_KWARGS.get(name) or {arg: PLACEHOLDER[_converter_kind(c)] for arg, c in pattern.pattern.converters.items()}
    return reverse(name, kwargs=kwargs)


def _no_store(response) -> bool:
    directives = {part.strip().split("=")[0] for part in response.get("Cache-Control", "").split(",")}
    return "no-store" in directives


@pytest.fixture
def staff(client):
    user = User.objects.create_user("every-role", password="x", is_staff=True, is_superuser=True)
    user.groups.set(Group.objects.filter(name__in=["analyst", "compliance", "risk_admin"]))
    client.force_login(user)
    return client


@pytest.fixture
def book():
    """One customer with something on every personal page: decisions, an open alert, a consent, a note, an audit event."""
    customer = CustomerFactory(external_id=EXTERNAL_ID, national_id="110101199001011234", phone="13812345678")
    ConsentFactory(customer=customer, purpose="credit_scoring")
    snapshot = ScoreSnapshotFactory(customer=customer, score=650, band="B")
    CreditDecisionFactory(customer=customer, snapshot=snapshot, limit_amount=Decimal("500.00"))
    CreditLineFactory(customer=customer, access="open", limit_amount=Decimal("500.00"), score=650, band="B", last_snapshot=snapshot)
    RiskAlertFactory(customer=customer, rule="OVER_BORROWING", severity=3)
    CaseNoteFactory(customer=customer, body="called the customer")
    event = audit_record(actor=None, action="note.add", target=customer)
    return {"customer": customer, "consent": Consent.objects.get(customer=customer), "event": event}


def _personal_request(name: str, book, staff, token_client):
    method, who = PERSONAL[name]
    kwargs = {
        "consent": {"pk": book["consent"].pk}, "audit-event": {"pk": book["event"].pk}, "disclosure-missing": {"kind": "privacy_notice"},
    }.get(name.split(":")[-1])
    if kwargs is None:
        converters = _named_urls()[name].pattern.converters
        kwargs = {"external_id": EXTERNAL_ID} if "external_id" in converters else {}
    url = reverse(name, kwargs=kwargs)
    if who == "staff":
        return staff.get(url)
    http, auth = token_client
    if method == "post":
        body = {"customer": EXTERNAL_ID, "amount": "10.00", "currency": "CNY", "channel": "app"}
        return http.post(url, data=json.dumps(body), content_type="application/json", **auth)
    return http.get(url, **auth)


def test_every_url_outside_the_admin_is_classified():
    named = {name for name in _named_urls() if not name.startswith("admin:")}

    assert named - set(PERSONAL) - set(OTHER) == set(), "classify the new URL in PERSONAL or OTHER"
    assert (set(PERSONAL) | set(OTHER)) - named == set(), "a classified URL no longer exists"
    assert set(PERSONAL) & set(OTHER) == set()


@pytest.mark.parametrize("name", sorted(PERSONAL))
def test_every_personal_url_says_no_store(name, book, staff):
    from django.test import Client

    _, auth = api_client_with()
    response = _personal_request(name, book, staff, (Client(), auth))

    assert response.status_code == 200, (name, response.status_code)
    assert _no_store(response), (name, response.get("Cache-Control"))


def test_the_customer_admin_page_says_no_store(book, staff):
    response = staff.get(reverse("admin:accounts_customer_change", args=[book["customer"].pk]))

    assert response.status_code == 200 and _no_store(response)


def test_every_named_url_says_no_store_whatever_it_answers(staff):
    missing = []
    for name, pattern in sorted(_named_urls().items()):
        response = staff.get(_placeholder_url(name, pattern))
        if not _no_store(response):
            missing.append((name, response.status_code, response.get("Cache-Control")))

    assert missing == []


def test_static_files_keep_their_own_cache_headers(client, settings):
    # As under runserver: WhiteNoise serves from the finders (tests have no collectstatic output).
    settings.WHITENOISE_USE_FINDERS = settings.WHITENOISE_AUTOREFRESH = True
    response = client.get("/static/css/riskops.css")

    assert response.status_code == 200 and not _no_store(response)
