"""Webhooks: events written with decisions (only for real changes), delivered after commit,
signed so the `standardwebhooks` verifier accepts them, retried on the schedule until dead,
logged; the SSRF guard; replay and disable in the admin."""

import json
from datetime import timedelta
from unittest import mock

import pytest
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from decisions.engine.services.recompute import decision_recompute
from riskops.core.exceptions import ValidationFailed
from riskops.core.models import AuditEvent
from tests.decisions.scenarios import make_customer
from webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint, WebhookEvent
from webhooks.services.delivery import MAX_ATTEMPTS, RETRY_DELAYS, deliveries_send, next_attempt_after, webhook_sweep
from webhooks.services.endpoints import webhook_endpoint_create, webhook_endpoint_disable
from webhooks.services.outbox import webhook_events_write
from webhooks.services.ssrf import AddressNotAllowed, resolve_and_check

from .receiver import Receiver

pytestmark = pytest.mark.django_db
BOTH = ["decision.changed", "alert.raised"]


@pytest.fixture(autouse=True)
def _private_allowed(settings):
    settings.RISKOPS_WEBHOOK_ALLOW_PRIVATE = True


@pytest.fixture
def receiver():
    with Receiver() as r:
        yield r


@pytest.fixture
def endpoint(receiver):
    return webhook_endpoint_create(url=receiver.url, event_types=BOTH, actor=None)


def test_a_changed_decision_is_delivered_after_commit_signed_and_verifiable(receiver, endpoint, django_capture_on_commit_callbacks):
    customer = make_customer()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        decision_recompute(customer=customer, trigger="manual")
    # Written in the decision's transaction; nothing sent before the commit.
    event = WebhookEvent.objects.get(type="decision.changed")
    delivery = WebhookDelivery.objects.get(event=event)
    assert delivery.status == "pending" and receiver.requests == []
    for callback in callbacks:
        callback()
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.last_response_code) == ("succeeded", 1, 204)
    [(headers, body)] = receiver.requests
    payload = Webhook(endpoint.secret).verify(body, headers)  # the package's own verifier
    assert headers["webhook-id"] == event.pk and headers["webhook-signature"].startswith("v1,")
    assert payload["type"] == "decision.changed"
    data = payload["data"]
    assert (data["customer"], data["previous_access"], data["access"], data["limit"]) == (customer.external_id, "not_offered", "open", "4500.00")
    with pytest.raises(WebhookVerificationError):
        Webhook("whsec_" + "QUJD" * 8).verify(body, headers)  # another secret
    with pytest.raises(WebhookVerificationError):
        Webhook(endpoint.secret).verify(body.replace(b"4500.00", b"9999.00"), headers)  # a tampered body
    assert WebhookAttempt.objects.get(delivery=delivery).response_code == 204


def test_a_rerun_with_nothing_new_writes_no_event(endpoint, django_capture_on_commit_callbacks):
    customer = make_customer()
    now = timezone.now()
    with django_capture_on_commit_callbacks(execute=True):
        decision_recompute(customer=customer, trigger="manual", now=now)
    assert WebhookEvent.objects.count() == 1
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        decision_recompute(customer=customer, trigger="manual", now=now)
    assert WebhookEvent.objects.count() == 1 and WebhookDelivery.objects.count() == 1 and callbacks == []


def test_a_raised_alert_is_an_event_and_types_are_filtered(receiver, django_capture_on_commit_callbacks):
    alerts_only = webhook_endpoint_create(url=receiver.url, event_types=["alert.raised"], actor=None)
    customer = make_customer(applications_last_week=6)  # FREQUENT_APPLICATIONS
    with django_capture_on_commit_callbacks(execute=True):
        decision_recompute(customer=customer, trigger="manual")
    types = sorted(WebhookEvent.objects.values_list("type", flat=True))
    assert types and set(types) == {"alert.raised"}
    assert WebhookDelivery.objects.filter(endpoint=alerts_only, status="succeeded").count() == len(types)
    data = json.loads(receiver.requests[0][1])["data"]
    assert data["customer"] == customer.external_id and data["rule"]


def test_no_endpoint_no_event(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        decision_recompute(customer=make_customer(), trigger="manual")
    assert not WebhookEvent.objects.exists()


def test_a_rolled_back_decision_sends_nothing(receiver, endpoint):
    customer = make_customer()
    with pytest.raises(RuntimeError):
        with transaction.atomic():
            decision_recompute(customer=customer, trigger="manual")
            raise RuntimeError("the caller fails after the recompute")
    assert not WebhookEvent.objects.exists() and receiver.requests == []


def test_never_sent_from_inside_a_transaction(endpoint):
    with transaction.atomic():
        [pk] = webhook_events_write([("decision.changed", {"x": 1})])
        with pytest.raises(RuntimeError, match="never from inside a transaction"):
            deliveries_send(delivery_ids=[pk])


def _due_now(delivery):
    WebhookDelivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now() - timedelta(seconds=1))


def test_retries_follow_the_schedule_then_dead_with_a_log(endpoint):
    with Receiver(statuses=[500] * 20) as failing:
        WebhookEndpoint.objects.filter(pk=endpoint.pk).update(url=failing.url)
        with transaction.atomic():
            [pk] = webhook_events_write([("decision.changed", {"n": 1})])
        delivery = WebhookDelivery.objects.get(pk=pk)
        for attempt in range(1, MAX_ATTEMPTS + 1):
            before = timezone.now()
            deliveries_send(delivery_ids=[pk])
            delivery.refresh_from_db()
            assert delivery.attempts == attempt and delivery.last_response_code == 500 and delivery.last_error == "HTTP 500"
            if attempt < MAX_ATTEMPTS:
                assert delivery.status == "failed"
                wait = delivery.next_attempt_at - before
                assert RETRY_DELAYS[attempt - 1] <= wait <= RETRY_DELAYS[attempt - 1] + timedelta(seconds=5)
                deliveries_send(delivery_ids=[pk])  # not due yet: nothing is sent
                assert len(failing.requests) == attempt
                _due_now(delivery)
        assert delivery.status == "dead" and delivery.next_attempt_at is None
        assert len(failing.requests) == MAX_ATTEMPTS
        assert list(WebhookAttempt.objects.filter(delivery=delivery).values_list("response_code", flat=True)) == [500] * MAX_ATTEMPTS
        # All attempts carry the same webhook-id and a signature valid for that moment.
        assert {h["webhook-id"] for h, _ in failing.requests} == {delivery.event_id}


def test_schedule_is_the_spec_s_capped_at_ten_hours():
    at = timezone.now()
    assert [next_attempt_after(n, at) - at for n in range(1, MAX_ATTEMPTS)] == [
        timedelta(seconds=5), timedelta(minutes=5), timedelta(minutes=30), timedelta(hours=2), timedelta(hours=5),
        timedelta(hours=10), timedelta(hours=10),
    ]
    assert next_attempt_after(MAX_ATTEMPTS, at) is None


def test_a_network_error_is_a_failed_attempt_and_a_later_success_ends_it(endpoint):
    with transaction.atomic():
        [pk] = webhook_events_write([("decision.changed", {"n": 2})])
    import requests

    with mock.patch("requests.Session.post", side_effect=requests.ConnectionError("connection refused")):
        assert deliveries_send(delivery_ids=[pk]) == {"sent": 1, "succeeded": 0, "failed": 1}
    delivery = WebhookDelivery.objects.get(pk=pk)
    assert delivery.status == "failed" and "ConnectionError" in delivery.last_error and delivery.last_response_code is None
    _due_now(delivery)
    assert deliveries_send(delivery_ids=[pk])["succeeded"] == 1
    delivery.refresh_from_db()
    assert delivery.status == "succeeded" and delivery.delivered_at is not None and delivery.attempts == 2


def test_the_sweep_sends_pending_deliveries_whose_message_was_lost(receiver, endpoint):
    with mock.patch("webhooks.services.outbox.dispatch_on_commit"):  # the message is lost
        with transaction.atomic():
            [pk] = webhook_events_write([("decision.changed", {"n": 3})])
    assert webhook_sweep() == 0  # within the grace period: the dispatch may still come
    WebhookDelivery.objects.filter(pk=pk).update(next_attempt_at=timezone.now() - timedelta(minutes=5))
    assert webhook_sweep() == 1
    assert WebhookDelivery.objects.get(pk=pk).status == "succeeded" and len(receiver.requests) == 1


@pytest.mark.parametrize(
    "url",
    ["http://127.0.0.1/x", "http://localhost:8080/", "http://10.1.2.3/", "http://192.168.0.1/", "http://172.16.5.4/",
     "http://169.254.169.254/latest/meta-data/", "http://[::1]/", "http://0.0.0.0/", "http://100.64.0.1/", "http://[fe80::1]/"],
)
def test_ssrf_guard_refuses_non_public_addresses(settings, url):
    settings.RISKOPS_WEBHOOK_ALLOW_PRIVATE = False
    with pytest.raises(AddressNotAllowed):
        resolve_and_check(url)
    with pytest.raises(ValidationFailed) as err:
        webhook_endpoint_create(url=url, event_types=BOTH, actor=None)
    assert err.value.field == "url"


def test_ssrf_guard_checks_every_address_a_name_resolves_to(settings):
    settings.RISKOPS_WEBHOOK_ALLOW_PRIVATE = False
    infos = [(2, 1, 6, "", ("93.184.216.34", 443)), (2, 1, 6, "", ("10.0.0.7", 443))]
    with mock.patch("socket.getaddrinfo", return_value=infos), pytest.raises(AddressNotAllowed):
        resolve_and_check("https://hooks.example.com/x")
    with mock.patch("socket.getaddrinfo", return_value=infos[:1]):
        assert resolve_and_check("https://hooks.example.com/x") == ["93.184.216.34"]


# IPv6 forms that carry an IPv4: each reaches the IPv4 through a translator or tunnel, so it is
# judged by the IPv4 (Python's is_global calls most of these global whatever they embed).
EMBEDDING_NON_PUBLIC = [
    ("64:ff9b::7f00:1", "127.0.0.1"),  # NAT64 (RFC 6052) to loopback
    ("64:ff9b::a9fe:a9fe", "169.254.169.254"),  # NAT64 to the cloud metadata address
    ("64:ff9b::c0a8:1", "192.168.0.1"),
    ("2002:a00:1::1", "10.0.0.1"),  # 6to4
    ("2002:7f00:1::", "127.0.0.1"),
    ("2002:a9fe:a9fe::1", "169.254.169.254"),
    ("::7f00:1", "127.0.0.1"),  # IPv4-compatible (deprecated)
    ("::ac10:504", "172.16.5.4"),
    ("::ffff:127.0.0.1", "127.0.0.1"),  # IPv4-mapped
    ("::ffff:10.1.2.3", "10.1.2.3"),
    ("::ffff:0:a9fe:a9fe", "169.254.169.254"),  # IPv4-translated (SIIT)
    ("::ffff:0:6440:1", "100.64.0.1"),
    ("2001:0:4136:e378:8000:63bf:f5ff:fffe", "10.0.0.1"),  # Teredo: public server, private client (obfuscated)
    ("2001:0:a00:1::1", "10.0.0.1"),  # Teredo: private server
    ("64:ff9b::e000:1", "224.0.0.1"),  # NAT64 to IPv4 multicast
]


@pytest.mark.parametrize("address,embedded", EMBEDDING_NON_PUBLIC)
def test_ssrf_guard_judges_the_ipv4_an_ipv6_address_embeds(settings, address, embedded):
    settings.RISKOPS_WEBHOOK_ALLOW_PRIVATE = False
    url = f"http://[{address}]/hook"
    with pytest.raises(AddressNotAllowed) as err:
        resolve_and_check(url)
    assert err.value.field == "url" and address in err.value.message
    with pytest.raises(AddressNotAllowed):
        webhook_endpoint_create(url=url, event_types=BOTH, actor=None)
    assert not WebhookEndpoint.objects.exists()


@pytest.mark.parametrize("address", ["64:ff9b:1::a00:1", "64:ff9b:1:ff00::808:808", "64:ff9b:1::808:808"])
def test_ssrf_guard_refuses_the_local_use_nat64_prefix(settings, address):
    # RFC 8215: for a site's own translators, not globally reachable, whatever it carries.
    settings.RISKOPS_WEBHOOK_ALLOW_PRIVATE = False
    with pytest.raises(AddressNotAllowed):
        resolve_and_check(f"http://[{address}]/")


@pytest.mark.parametrize("address", ["64:ff9b::808:808", "2002:808:808::1", "::ffff:8.8.8.8", "2606:4700:4700::1111", "93.184.216.34"])
def test_ssrf_guard_allows_forms_that_embed_a_public_ipv4(settings, address):
    settings.RISKOPS_WEBHOOK_ALLOW_PRIVATE = False
    host = f"[{address}]" if ":" in address else address
    assert resolve_and_check(f"https://{host}/hook") == [address]


def test_ssrf_guard_refuses_a_dns64_answer_for_a_private_name(settings):
    # A DNS64 resolver synthesises 64:ff9b::/96 answers for names with only an A record.
    settings.RISKOPS_WEBHOOK_ALLOW_PRIVATE = False
    infos = [(10, 1, 6, "", ("64:ff9b::a00:7", 443, 0, 0))]
    with mock.patch("socket.getaddrinfo", return_value=infos), pytest.raises(AddressNotAllowed) as err:
        resolve_and_check("https://hooks.example.com/x")
    assert "10.0.0.7" in err.value.message


@pytest.mark.parametrize("url", ["ftp://example.com/", "file:///etc/passwd", "http://user:pw@example.com/", "not a url"])
def test_only_http_urls_without_credentials(url):
    with pytest.raises(ValidationFailed):
        resolve_and_check(url)


def test_a_delivery_to_a_private_address_is_refused_at_send_time(settings, receiver, endpoint):
    settings.RISKOPS_WEBHOOK_ALLOW_PRIVATE = False  # allowed when saved, not any more
    with transaction.atomic():
        [pk] = webhook_events_write([("decision.changed", {"n": 4})])
    deliveries_send(delivery_ids=[pk])
    delivery = WebhookDelivery.objects.get(pk=pk)
    assert delivery.status == "failed" and delivery.last_error.startswith("refused:") and receiver.requests == []


# --- admin: replay, disable, enable ---------------------------------------------------------------

@pytest.fixture
def superuser_client(client, make_user):
    client.force_login(make_user("root", is_superuser=True, is_staff=True))
    return client


def test_replay_in_the_admin_sends_again_and_is_audited(superuser_client, receiver, endpoint, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        with transaction.atomic():
            [pk] = webhook_events_write([("decision.changed", {"n": 5})])
    assert len(receiver.requests) == 1
    url = reverse("admin:webhooks_webhookdelivery_changelist")
    with django_capture_on_commit_callbacks(execute=True):
        response = superuser_client.post(url, {"action": "replay", "_selected_action": [pk]})
    assert response.status_code == 302
    assert len(receiver.requests) == 2 and receiver.requests[0][0]["webhook-id"] == receiver.requests[1][0]["webhook-id"]
    assert AuditEvent.objects.filter(action="webhook.replay").count() == 1
    delivery = WebhookDelivery.objects.get(pk=pk)
    assert delivery.status == "succeeded" and WebhookAttempt.objects.filter(delivery=delivery).count() == 2
    # the delivery log page shows the attempts and their codes
    page = superuser_client.get(reverse("admin:webhooks_webhookdelivery_change", args=[pk]))
    assert page.status_code == 200 and b"204" in page.content


def test_disable_and_enable_in_the_admin(superuser_client, receiver, endpoint, django_capture_on_commit_callbacks):
    url = reverse("admin:webhooks_webhookendpoint_changelist")
    superuser_client.post(url, {"action": "disable_endpoints", "_selected_action": [endpoint.pk]})
    endpoint.refresh_from_db()
    assert not endpoint.active and endpoint.disabled_reason
    assert AuditEvent.objects.filter(action="webhook_endpoint.disable").count() == 1
    # Disabled: events are not even written for it, and waiting deliveries are not sent.
    with django_capture_on_commit_callbacks(execute=True):
        decision_recompute(customer=make_customer(), trigger="manual")
    assert not WebhookEvent.objects.exists() and receiver.requests == []
    superuser_client.post(url, {"action": "enable_endpoints", "_selected_action": [endpoint.pk]})
    endpoint.refresh_from_db()
    assert endpoint.active and endpoint.disabled_reason == ""


def test_admin_refuses_a_private_url(superuser_client, settings):
    settings.RISKOPS_WEBHOOK_ALLOW_PRIVATE = False
    response = superuser_client.post(reverse("admin:webhooks_webhookendpoint_add"), {"url": "http://127.0.0.1:9/", "event_types": BOTH})
    assert response.status_code == 200 and b"not a public address" in response.content
    assert not WebhookEndpoint.objects.exists()


def test_admin_creates_an_endpoint_through_the_service(superuser_client):
    response = superuser_client.post(reverse("admin:webhooks_webhookendpoint_add"), {"url": "http://127.0.0.1:9/h", "event_types": ["alert.raised"]})
    assert response.status_code == 302
    endpoint = WebhookEndpoint.objects.get()
    assert endpoint.secret.startswith("whsec_") and endpoint.event_types == ["alert.raised"]
    assert AuditEvent.objects.filter(action="webhook_endpoint.create").count() == 1


def test_disabling_needs_a_reason(endpoint):
    with pytest.raises(ValidationFailed) as err:
        webhook_endpoint_disable(endpoint=endpoint, actor=None, reason=" ")
    assert err.value.field == "reason"


def test_risk_admins_manage_webhooks_in_the_admin_and_analysts_do_not(client, risk_admin, analyst, endpoint):
    risk_admin.is_staff = True
    risk_admin.save()
    client.force_login(risk_admin)
    for name in ("webhookendpoint", "webhookdelivery", "webhookevent"):
        assert client.get(reverse(f"admin:webhooks_{name}_changelist")).status_code == 200
    page = client.get(reverse("admin:webhooks_webhookendpoint_change", args=[endpoint.pk])).content.decode()
    assert endpoint.secret in page  # the receiver's operator copies it from here
    analyst.is_staff = True
    analyst.save()
    client.force_login(analyst)
    assert client.get(reverse("admin:webhooks_webhookdelivery_changelist")).status_code == 403
