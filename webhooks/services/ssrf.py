"""No delivery to loopback, private, link-local or otherwise non-public addresses.

The host is resolved and *every* address it resolves to must be public (`ipaddress.is_global`:
not loopback, RFC 1918/4193 private, link-local, shared 100.64/10, reserved, multicast or
unspecified), unless settings.RISKOPS_WEBHOOK_ALLOW_PRIVATE is on (tests, benchmarks, a local
receiver). Checked when an endpoint is saved and again before every send (DNS answers change);
redirects are never followed, so a public endpoint cannot bounce a request inward.
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

from django.conf import settings

from riskops.core.exceptions import ValidationFailed


class AddressNotAllowed(ValidationFailed):
    """The endpoint's host resolves to an address webhooks may not be sent to."""

    code = "address_not_allowed"


def url_parts(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValidationFailed("must be an http:// or https:// URL with a host", field="url")
    if parts.username or parts.password:
        raise ValidationFailed("must not carry credentials", field="url")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise ValidationFailed("has an invalid port", field="url") from None
    return parts.hostname, port


def resolve_and_check(url: str, *, allow_private: bool | None = None) -> list[str]:
    """The URL's addresses; AddressNotAllowed if any is not public (unless allowed)."""
    host, port = url_parts(url)
    try:
        infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError) as exc:
        raise ValidationFailed(f"the host {host!r} does not resolve ({exc})", field="url") from None
    addresses = sorted({info[4][0] for info in infos})
    if allow_private is None:
        allow_private = settings.RISKOPS_WEBHOOK_ALLOW_PRIVATE
    if not allow_private:
        for address in addresses:
            ip = ipaddress.ip_address(address.split("%")[0])
            if not ip.is_global or ip.is_multicast:
                raise AddressNotAllowed(f"{host} resolves to {address}, which is not a public address", field="url")
    return addresses
