"""A requests session that connects only to addresses the SSRF guard has checked.

Checking a name and then letting the HTTP client resolve it again leaves a gap: a DNS server
that answers a public address to the check and 127.0.0.1 to the connection (DNS rebinding)
gets the signed POST delivered on loopback. Here the adapter checks each host once
(`resolve_and_check`, every address it resolves to) and *pins* the answer; the connections it
opens go to those addresses and never ask the resolver again. The URL is untouched, so the Host
header, the TLS server name (SNI) and the certificate's hostname check all use the endpoint's
name, as they would without the pin. A host the adapter did not check is never connected to.

The session ignores the environment (`trust_env=False`): a proxy from `HTTPS_PROXY` would resolve
the name itself, out of the guard's sight, and `.netrc` credentials have no business in a webhook.
"""

from __future__ import annotations

import socket
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3 import HTTPConnectionPool, HTTPSConnectionPool, PoolManager
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError
from urllib3.util.connection import create_connection

from riskops.core.exceptions import ValidationFailed

from .ssrf import resolve_and_check

_DEFAULT_PORTS = {"http": 80, "https": 443}

Pins = dict[tuple[str, int], tuple[str, ...]]


class AddressRefused(requests.ConnectionError):
    """The SSRF guard refused the request's host; nothing was sent."""


def _key(host: str, port: int) -> tuple[str, int]:
    # urllib3 lowercases the host, drops IPv6 brackets and a trailing dot; so do we, on both sides.
    return host.strip("[]").rstrip(".").lower(), int(port)


class _PinnedConnection(HTTPConnection):
    """Opens its socket to the pinned addresses of its host, trying each in turn (as
    `socket.create_connection` tries each address a name resolves to)."""

    def __init__(self, *args: Any, pins: Pins, **kwargs: Any) -> None:
        self._pins = pins
        super().__init__(*args, **kwargs)

    def _new_conn(self) -> socket.socket:
        addresses = self._pins.get(_key(self.host, self.port))
        if not addresses:
            raise NewConnectionError(self, f"{self.host}:{self.port} was not checked by the SSRF guard")
        error: Exception | None = None
        for address in addresses:
            try:
                return create_connection((address, self.port), self.timeout, source_address=self.source_address,
                                         socket_options=self.socket_options)
            except TimeoutError:
                error = ConnectTimeoutError(self, f"Connection to {self.host} ({address}) timed out (connect timeout={self.timeout})")
            except OSError as exc:
                error = NewConnectionError(self, f"Failed to establish a new connection to {address}: {exc}")
        raise error


class _PinnedHTTPSConnection(_PinnedConnection, HTTPSConnection):
    """The same socket, then TLS as usual: SNI and the certificate's check use `self.host`, the name."""


class _PinnedPoolManager(PoolManager):
    def __init__(self, *args: Any, pins: Pins, **kwargs: Any) -> None:
        self._pins = pins
        super().__init__(*args, **kwargs)

    def _new_pool(self, scheme: str, host: str, port: int, request_context: dict[str, Any] | None = None) -> HTTPConnectionPool:
        pool = super()._new_pool(scheme, host, port, request_context)
        pool.ConnectionCls = _PinnedHTTPSConnection if isinstance(pool, HTTPSConnectionPool) else _PinnedConnection
        pool.conn_kw["pins"] = self._pins
        return pool


class PinnedAdapter(HTTPAdapter):
    """Checks each (host, port) once for the adapter's life (one batch) and connects only there.
    A refused host raises `AddressRefused` with the guard's reason."""

    def __init__(self, **kwargs: Any) -> None:
        self.pins: Pins = {}
        self._refused: dict[tuple[str, int], str] = {}
        super().__init__(**kwargs)

    def init_poolmanager(self, connections: int, maxsize: int, block: bool = False, **pool_kwargs: Any) -> None:
        self._pool_connections, self._pool_maxsize, self._pool_block = connections, maxsize, block
        self.poolmanager = _PinnedPoolManager(num_pools=connections, maxsize=maxsize, block=block, pins=self.pins, **pool_kwargs)

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        raise AddressRefused("webhooks are never sent through a proxy (it would resolve the name itself)")

    def _check(self, url: str) -> None:
        parts = urlsplit(url)
        key = _key(parts.hostname or "", parts.port or _DEFAULT_PORTS.get(parts.scheme, 0))
        if key in self.pins:
            return
        if key not in self._refused:
            try:
                self.pins[key] = tuple(resolve_and_check(url))
                return
            except ValidationFailed as exc:
                self._refused[key] = exc.message
        raise AddressRefused(self._refused[key])

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> requests.Response:
        self._check(request.url)
        return super().send(request, *args, **kwargs)


def pinned_session() -> requests.Session:
    """A session for one batch of deliveries: every request to a checked, pinned address."""
    session = requests.Session()
    session.trust_env = False
    adapter = PinnedAdapter()
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session
