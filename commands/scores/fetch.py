"""One poll's HTTP GET, within the URL rules, so `/scores start` cannot probe the bot's network.

The URL is `https`, or `http` to a host the settings allow. Every hop's host is resolved and each
address checked: a private, loopback, link-local or otherwise non-global address is refused unless
the settings allow that host. The connection then goes to the address that was checked (no second
lookup for a rebinding DNS to answer differently). Redirects are followed only to the same host, at
most three. A timeout, a non-2xx answer and a body over the cap each raise `FetchError`.

One deadline bounds the whole fetch, whatever the peer does: a watchdog shuts the socket down when it
passes, so a peer dribbling its status line, headers or chunk sizes a byte at a time (each byte
within any per-read timeout) cannot hold a poll past it.
"""

from __future__ import annotations

import contextlib
import http.client
import ipaddress
import socket
import ssl
import threading
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


# IPv6 prefixes whose last 32 bits are an IPv4 address a translator or tunnel forwards to.
_V4_IN_LAST_32_BITS = tuple(
    ipaddress.IPv6Network(net)
    for net in (
        "64:ff9b::/96",  # NAT64, the well-known prefix (RFC 6052)
        "::ffff:0:0/96",  # IPv4-mapped
        "::ffff:0:0:0/96",  # IPv4-translated (SIIT, RFC 2765)
        "::/96",  # IPv4-compatible (deprecated, still routed by some stacks)
    )
)
# NAT64 local use (RFC 8215): IANA marks it not globally reachable, and where its IPv4 address sits
# depends on the operator's prefix length, so it is never public (Python 3.11 calls it global).
_NAT64_LOCAL_USE = ipaddress.IPv6Network("64:ff9b:1::/48")


def is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%")[0])
    if isinstance(ip, ipaddress.IPv6Address):
        if ip in _NAT64_LOCAL_USE:
            return False
        if ip.sixtofour is not None:  # 6to4, 2002::/16: the IPv4 address is in bits 16 to 48
            return is_public(str(ip.sixtofour))
        if any(ip in net for net in _V4_IN_LAST_32_BITS):
            return is_public(str(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)))
    return ip.is_global and not ip.is_multicast


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str
    port: int
    path: str
    address: str  # the checked address the connection goes to


def check_url(url: str, rules: UrlRules, resolver: Resolver = resolve) -> Target:
    try:
        parts = urlsplit(url)
        scheme, host = parts.scheme.lower(), (parts.hostname or "").lower()
    except ValueError:  # e.g. "https://[::1/": an unclosed IPv6 bracket
        raise UrlRefused("the URL is malformed") from None
    if not url.isascii() or any(c.isspace() or not c.isprintable() for c in url):
        raise UrlRefused("the URL has spaces, control or non-ASCII characters; percent-encode them")
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
        # CPython bounds the whole handshake by the socket's timeout (the time left), not each read.
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)  # type: ignore[attr-defined]


class _Watchdog:
    """Shuts the connection's socket down at the deadline: every read in progress or to come then fails.

    A socket timeout alone restarts at each read, and http.client reads the status line, each header
    and each chunk size separately; only a cut from outside ends them all at one time."""

    def __init__(self, conn: http.client.HTTPConnection, seconds: float) -> None:
        self.fired = threading.Event()
        self._conn = conn
        self._timer = threading.Timer(seconds, self._cut)
        self._timer.daemon = True
        self._timer.start()

    def _cut(self) -> None:
        self.fired.set()
        sock = self._conn.sock
        if sock is not None:
            with contextlib.suppress(OSError):  # closed already
                # The plain socket's shutdown, also under TLS: no close_notify sent to a peer that stalls.
                socket.socket.shutdown(sock, socket.SHUT_RDWR)

    def cancel(self) -> None:
        self._timer.cancel()


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
            try:
                url = urljoin(f"{target.scheme}://{target.host}:{target.port}{target.path}", location)
            except ValueError:
                raise UrlRefused(f"HTTP {status} redirects to a malformed URL") from None
            if _host_and_port(url) != (first.host, first.port):  # before any lookup of the other host
                raise UrlRefused(f"HTTP {status} redirects to another host; not followed")
            target = check_url(url, rules, resolver)
            continue
        if not 200 <= status < 300:
            raise FetchError(f"HTTP {status}")
        return body
    raise FetchError(f"more than {MAX_REDIRECTS} redirects")


def _host_and_port(url: str) -> tuple[str, int | None]:
    try:
        parts = urlsplit(url)
        return (parts.hostname or "").lower(), parts.port or (443 if parts.scheme.lower() == "https" else 80)
    except ValueError:
        return "", None


def _get(target: Target, deadline: float, max_bytes: int) -> tuple[int, str, bytes]:
    left = deadline - time.monotonic()
    if left <= 0:
        raise FetchError("timed out")
    kind = _PinnedHTTPS if target.scheme == "https" else _PinnedHTTP
    conn = kind(target, timeout=left)
    watchdog = _Watchdog(conn, left)
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
            chunks.append(chunk)
        if watchdog.fired.is_set():  # a cut can look like a complete body (e.g. one without a length)
            raise FetchError("timed out")
        return response.status, location, b"".join(chunks)
    except (OSError, http.client.HTTPException) as exc:
        if watchdog.fired.is_set() or isinstance(exc, TimeoutError):
            raise FetchError("timed out") from None
        raise FetchError(f"{type(exc).__name__}: {exc}") from None
    finally:
        watchdog.cancel()
        conn.close()
