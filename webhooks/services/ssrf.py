"""No delivery to loopback, private, link-local or otherwise non-public addresses.

The host is resolved and *every* address it resolves to must be public (`ipaddress.is_global`:
not loopback, RFC 1918/4193 private, link-local, shared 100.64/10, reserved, multicast or
unspecified), unless settings.RISKOPS_WEBHOOK_ALLOW_PRIVATE is on (tests, benchmarks, a local
receiver). An IPv6 address that carries an IPv4 one (IPv4-mapped ::ffff:a.b.c.d, IPv4-translated
::ffff:0:a.b.c.d, IPv4-compatible ::a.b.c.d, NAT64 64:ff9b::a.b.c.d, 6to4 2002:aabb:ccdd::/48,
Teredo 2001::/32) reaches that IPv4 through a translator or tunnel, and `is_global` calls several
of them global whatever they embed: the embedded IPv4 is judged too. The local-use NAT64 prefix
64:ff9b:1::/48 (RFC 8215) is refused outright: IANA lists it as not globally reachable, and where
the IPv4 sits in it depends on the site's chosen prefix length. Checked when an endpoint is saved and again before every batch is sent (DNS answers change), and
the delivery connects only to the addresses checked then (`pinning.py`, against DNS rebinding);
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


# RFC 6052 well-known NAT64 prefix: the IPv4 is the last 32 bits.
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_NAT64_LOCAL = ipaddress.IPv6Network("64:ff9b:1::/48")
_IPV4_COMPATIBLE = ipaddress.IPv6Network("::/96")  # deprecated (RFC 4291), still parsed and routed by some stacks
_IPV4_TRANSLATED = ipaddress.IPv6Network("::ffff:0:0:0/96")  # SIIT (RFC 2765)


def embedded_ipv4(ip: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """The IPv4 addresses an IPv6 address carries by its format (none for a plain IPv6 one)."""
    if ip.ipv4_mapped is not None:
        return [ip.ipv4_mapped]
    if ip.sixtofour is not None:
        return [ip.sixtofour]
    if ip.teredo is not None:
        return list(ip.teredo)  # (server, client): the relay and the (de-obfuscated) client behind it
    if ip in _NAT64 or ip in _IPV4_COMPATIBLE or ip in _IPV4_TRANSLATED:
        return [ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)]
    return []


def _public(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    return ip.is_global and not ip.is_multicast


def refusal(address: str) -> str | None:
    """Why `address` (as getaddrinfo gives it, maybe with a %scope) may not be sent to, or None."""
    ip = ipaddress.ip_address(address.split("%")[0])
    if not _public(ip):
        return "which is not a public address"
    if isinstance(ip, ipaddress.IPv6Address):
        if ip in _NAT64_LOCAL:
            return "a local-use NAT64 address (64:ff9b:1::/48), which is not public"
        for v4 in embedded_ipv4(ip):
            if not _public(v4):
                return f"which embeds {v4}, not a public address"
    return None


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
            reason = refusal(address)
            if reason is not None:
                raise AddressNotAllowed(f"{host} resolves to {address}, {reason}", field="url")
    return addresses
