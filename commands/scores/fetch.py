"""One poll's HTTP GET, within the URL rules, so `/scores start` cannot probe the bot's network.

The URL is `https`, or `http` to a host the settings allow. Every hop's host is resolved and each
address checked: a private, loopback, link-local or otherwise non-global address is refused unless
the settings allow that host. The connection then goes to the address that was checked (no second
lookup for a rebinding DNS to answer differently). Redirects are followed only to the same host, at
most three. A timeout, a non-2xx answer and a body over the cap each raise `FetchError`.
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

MAX_REDIRECTS = 3
Resolver = Callable[[str, int], list[str]]


class FetchError(RuntimeError):
    """A failed poll, with a reason fit for a log line and the game's status."""


class UrlRefused(FetchError):
    """The URL breaks the rules (scheme, host, address): refused before anything is sent."""


@dataclass(frozen=True)
class UrlRules:
    http_hosts: frozenset[str] = frozenset()  # may use plain http, and be private (e.g. the demo's loopback)
    private_hosts: frozenset[str] = frozenset()  # may resolve to a non-global address over https

    def allows_private(self, host: str) -> bool:
        return host in self.http_hosts or host in self.private_hosts


def resolve(host: str, port: int) -> list[str]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise FetchError(f"cannot resolve {host}: {exc}") from None
    return sorted({str(info[4][0]) for info in infos})


def is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%")[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str
    port: int
    path: str
    address: str  # the checked address the connection goes to


def check_url(url: str, rules: UrlRules, resolver: Resolver = resolve) -> Target:
    parts = urlsplit(url)
    scheme, host = parts.scheme.lower(), (parts.hostname or "").lower()
    if not host:
        raise UrlRefused("the URL has no host")
    if parts.username or parts.password:
        raise UrlRefused("the URL carries a user name or password")
    if scheme == "http" and host not in rules.http_hosts:
        raise UrlRefused(f"plain http is allowed only to the hosts in [commands.scores] allow_http_hosts, not {host}")
    if scheme not in ("http", "https"):
        raise UrlRefused(f"the URL must be https, not {scheme or 'without a scheme'}")
    try:
        port = parts.port or (443 if scheme == "https" else 80)
    except ValueError:
        raise UrlRefused("the URL's port is not a number from 1 to 65535") from None
    addresses = resolver(host, port)
    if not addresses:
        raise FetchError(f"{host} has no address")
    if not rules.allows_private(host):
        private = [a for a in addresses if not is_public(a)]
        if private:
            raise UrlRefused(f"{host} is a private address ({private[0]}); allow it in [commands.scores]")
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return Target(scheme, host, port, path, addresses[0])


class _PinnedHTTP(http.client.HTTPConnection):
    def __init__(self, target: Target, timeout: float) -> None:
        super().__init__(target.host, target.port, timeout=timeout)
        self._address = target.address

    def connect(self) -> None:
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedHTTPS(http.client.HTTPSConnection):
    def __init__(self, target: Target, timeout: float) -> None:
        super().__init__(target.host, target.port, timeout=timeout, context=ssl.create_default_context())
        self._address = target.address

    def connect(self) -> None:
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)  # type: ignore[attr-defined]


def fetch(url: str, rules: UrlRules, timeout: float, max_bytes: int, resolver: Resolver = resolve) -> bytes:
    """The body of a GET within the rules; FetchError for every way a poll can fail."""
    deadline = time.monotonic() + timeout
    first = check_url(url, rules, resolver)
    target = first
    for _ in range(MAX_REDIRECTS + 1):
        status, location, body = _get(target, deadline, max_bytes)
        if status in (301, 302, 303, 307, 308):
            if not location:
                raise FetchError(f"HTTP {status} without a Location")
            url = urljoin(f"{target.scheme}://{target.host}:{target.port}{target.path}", location)
            if _host_and_port(url) != (first.host, first.port):  # before any lookup of the other host
                raise UrlRefused(f"HTTP {status} redirects to another host; not followed")
            target = check_url(url, rules, resolver)
            continue
        if not 200 <= status < 300:
            raise FetchError(f"HTTP {status}")
        return body
    raise FetchError(f"more than {MAX_REDIRECTS} redirects")


def _host_and_port(url: str) -> tuple[str, int | None]:
    parts = urlsplit(url)
    try:
        return (parts.hostname or "").lower(), parts.port or (443 if parts.scheme.lower() == "https" else 80)
    except ValueError:
        return "", None


def _get(target: Target, deadline: float, max_bytes: int) -> tuple[int, str, bytes]:
    left = deadline - time.monotonic()
    if left <= 0:
        raise FetchError("timed out")
    kind = _PinnedHTTPS if target.scheme == "https" else _PinnedHTTP
    conn = kind(target, timeout=left)
    try:
        conn.request("GET", target.path, headers={"Accept": "application/json", "User-Agent": "opsbot-scores"})
        response = conn.getresponse()
        location = response.getheader("Location") or ""
        length = response.getheader("Content-Length")
        if length and length.isdigit() and int(length) > max_bytes:
            raise FetchError(f"the answer is {int(length):,} bytes, over the {max_bytes:,}-byte cap")
        chunks: list[bytes] = []
        size = 0
        while chunk := response.read1(64 * 1024) if response.status < 300 else b"":
            size += len(chunk)
            if size > max_bytes:
                raise FetchError(f"the answer is over the {max_bytes:,}-byte cap")
            left = deadline - time.monotonic()
            if left <= 0:
                raise FetchError("timed out")
            if conn.sock is not None:  # a body trickled a byte at a time still ends at the deadline
                conn.sock.settimeout(left)
            chunks.append(chunk)
        return response.status, location, b"".join(chunks)
    except TimeoutError:
        raise FetchError("timed out") from None
    except (OSError, http.client.HTTPException) as exc:
        raise FetchError(f"{type(exc).__name__}: {exc}") from None
    finally:
        conn.close()
