"""DNS rebinding: a delivery connects to the very addresses the SSRF guard checked, never to a
second answer of the resolver; the Host header and the TLS server name stay the endpoint's name.

A fake resolver answers per name (in turn; the last answer repeats) and a fake network refuses
connections to the public test address at once, so nothing leaves the machine."""

import shutil
import socket
import subprocess
from unittest import mock

import pytest
import requests
from django.db import transaction

from webhooks.models import WebhookDelivery
from webhooks.services.delivery import deliveries_send
from webhooks.services.endpoints import webhook_endpoint_create
from webhooks.services.outbox import webhook_events_write
from webhooks.services.pinning import AddressRefused, pinned_session

from .receiver import Receiver

pytestmark = pytest.mark.django_db
PUBLIC = "93.184.216.34"  # a global address; the fake network refuses it, nothing is sent there
_real_getaddrinfo = socket.getaddrinfo
_real_connect = socket.socket.connect


class FakeDNS:
    """Answers for the names given, each lookup taking the next answer (the last one repeats;
    None is NXDOMAIN); every other name goes to the real resolver. Records each lookup."""

    def __init__(self, answers: dict[str, list[str | None]]) -> None:
        self.answers = {name: list(queue) for name, queue in answers.items()}
        self.lookups: list[str] = []
        self._patch = mock.patch("socket.getaddrinfo", self.getaddrinfo)

    def getaddrinfo(self, host, port, family=0, type=0, proto=0, flags=0):
        name = host.decode() if isinstance(host, bytes) else host
        if name not in self.answers:
            return _real_getaddrinfo(host, port, family, type, proto, flags)
        self.lookups.append(name)
        queue = self.answers[name]
        address = queue.pop(0) if len(queue) > 1 else queue[0]
        if address is None:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        af = socket.AF_INET6 if ":" in address else socket.AF_INET
        return [(af, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (address, int(port or 0)))]

    def __enter__(self) -> "FakeDNS":
        self._patch.start()
        return self

    def __exit__(self, *exc) -> None:
        self._patch.stop()


class FakeNetwork:
    """Records every outgoing TCP connect; refuses those to `refused` addresses immediately."""

    def __init__(self, refused: set[str]) -> None:
        self.refused = refused
        self.connects: list[tuple[str, int]] = []
        network = self

        def connect(sock, address):
            network.connects.append((address[0], address[1]))
            if address[0] in network.refused:
                raise ConnectionRefusedError(111, "Connection refused (fake network)")
            return _real_connect(sock, address)

        self._patch = mock.patch.object(socket.socket, "connect", connect)

    def __enter__(self) -> "FakeNetwork":
        self._patch.start()
        return self

    def __exit__(self, *exc) -> None:
        self._patch.stop()


@pytest.fixture
def receiver():
    with Receiver() as r:
        yield r


def _endpoint_and_events(url: str, answer: str, n: int = 1) -> list[int]:
    with FakeDNS({url.split("//")[1].split(":")[0]: [answer]}):
        webhook_endpoint_create(url=url, event_types=["decision.changed"], actor=None)
    with transaction.atomic():
        return webhook_events_write([("decision.changed", {"n": i}) for i in range(n)])


def test_a_name_that_rebinds_to_loopback_after_the_check_gets_nothing_on_loopback(settings, receiver):
    settings.RISKOPS_WEBHOOK_ALLOW_PRIVATE = False
    [pk] = _endpoint_and_events(f"http://rebind.example:{receiver.port}/hooks", PUBLIC)
    # The check hears the public address; any later lookup would hear loopback.
    with FakeDNS({"rebind.example": [PUBLIC, "127.0.0.1"]}) as dns, FakeNetwork(refused={PUBLIC}) as network:
        assert deliveries_send(delivery_ids=[pk]) == {"sent": 1, "succeeded": 0, "failed": 1}
    assert receiver.requests == []
    assert network.connects == [(PUBLIC, receiver.port)]  # the checked address, and only it
    assert dns.lookups == ["rebind.example"]  # resolved once, by the check
    delivery = WebhookDelivery.objects.get(pk=pk)
    assert delivery.status == "failed" and PUBLIC in delivery.last_error and delivery.last_response_code is None


def test_a_named_endpoint_is_delivered_to_the_checked_address_with_its_name_as_host(settings, receiver):
    settings.RISKOPS_WEBHOOK_ALLOW_PRIVATE = True  # the local test receiver
    pks = _endpoint_and_events(f"http://hooks.example:{receiver.port}/hooks", "127.0.0.1", n=2)
    # A second lookup would fail: the delivery must not make one.
    with FakeDNS({"hooks.example": ["127.0.0.1", None]}) as dns:
        assert deliveries_send(delivery_ids=pks) == {"sent": 2, "succeeded": 2, "failed": 0}
    assert dns.lookups == ["hooks.example"]  # once per host and batch
    assert [headers["host"] for headers, _ in receiver.requests] == [f"hooks.example:{receiver.port}"] * 2
    assert set(WebhookDelivery.objects.values_list("status", flat=True)) == {"succeeded"}


def test_a_refused_host_is_never_connected_to(settings, receiver):
    settings.RISKOPS_WEBHOOK_ALLOW_PRIVATE = False
    with FakeDNS({"inside.example": ["127.0.0.1"]}), FakeNetwork(refused=set()) as network, pinned_session() as session:
        with pytest.raises(AddressRefused, match="not a public address"):
            session.post(f"http://inside.example:{receiver.port}/hooks", data=b"{}", timeout=5)
        with pytest.raises(AddressRefused):  # the refusal is remembered for the batch, still nothing sent
            session.post(f"http://inside.example:{receiver.port}/other", data=b"{}", timeout=5)
    assert network.connects == [] and receiver.requests == []


def test_the_pinned_session_ignores_proxies_from_the_environment(settings, receiver, monkeypatch):
    settings.RISKOPS_WEBHOOK_ALLOW_PRIVATE = True
    monkeypatch.setenv("HTTP_PROXY", "http://proxy.invalid:3128")
    monkeypatch.setenv("NO_PROXY", "")
    with pinned_session() as session:
        assert session.post(receiver.url, data=b"{}", timeout=5).status_code == 204
    with pinned_session() as session, pytest.raises(AddressRefused, match="proxy"):
        session.post(receiver.url, data=b"{}", timeout=5, proxies={"http": "http://proxy.invalid:3128"})


# --- HTTPS: SNI, Host and the certificate's check use the name, the socket the pinned address ----

@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    """A self-signed certificate for hooks.example (openssl: Python's ssl cannot make one)."""
    if shutil.which("openssl") is None:
        pytest.skip("needs the openssl command to make a test certificate")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
         "-keyout", str(key), "-out", str(cert), "-days", "2", "-subj", "/CN=hooks.example",
         "-addext", "subjectAltName=DNS:hooks.example"],
        check=True, capture_output=True,
    )
    return str(cert), str(key)


def test_https_to_the_pinned_address_sends_the_name_as_sni_and_host_and_checks_the_certificate_for_it(settings, certificate):
    settings.RISKOPS_WEBHOOK_ALLOW_PRIVATE = True
    cert, _ = certificate
    with Receiver(tls=certificate) as server, FakeDNS({"hooks.example": ["127.0.0.1", None]}) as dns:
        with pinned_session() as session:
            response = session.post(f"https://hooks.example:{server.port}/hooks", data=b"{}", timeout=5, verify=cert)
    assert response.status_code == 204 and dns.lookups == ["hooks.example"]
    assert server.server_names == ["hooks.example"]
    [(headers, _)] = server.requests
    assert headers["host"] == f"hooks.example:{server.port}"


def test_https_refuses_a_certificate_that_is_not_for_the_endpoint_s_name(settings, certificate):
    settings.RISKOPS_WEBHOOK_ALLOW_PRIVATE = True
    cert, _ = certificate
    with Receiver(tls=certificate) as server, FakeDNS({"other.example": ["127.0.0.1"]}):
        with pinned_session() as session, pytest.raises(requests.exceptions.SSLError, match="other.example"):
            session.post(f"https://other.example:{server.port}/hooks", data=b"{}", timeout=5, verify=cert)
    assert server.server_names == ["other.example"] and server.requests == []
