"""Webhook subscribers' HTTP (issue 14): the address check that keeps the public sign-up form
from reaching the portal's own network (no SSRF), the connection that checks the address it
actually reached (a name that resolves elsewhere at sending time is refused too), and the
HMAC-SHA256 signature over a timestamp and the body that receivers verify.

Receivers verify `X-Status-Signature: t=<unix seconds>,v1=<hex>` where v1 is
HMAC-SHA256(secret, "<t>.<raw body>"), and reject a timestamp more than five minutes old."""

from __future__ import annotations

import concurrent.futures
import hashlib
import hmac
import http.client
import ipaddress
import socket
import time
import urllib.error
import urllib.request
from urllib.parse import urlsplit

from django.conf import settings

from portal.channels import PermanentError

TIMEOUT = 10.0
SIGNATURE_HEADER = "X-Status-Signature"
USER_AGENT = "incident-portal-status-webhook/1"


class Refused(ValueError):
    """The URL may not be used for a webhook; the message says why, in the sign-up's words."""


class Unresolvable(Refused):
    """The URL's host name does not resolve (now): refused at sign-up, retried at sending."""


class Gone(PermanentError):
    """The receiver answered 410 Gone: it asks to be unsubscribed."""


NOT_PUBLIC = (
    "This URL cannot be used: its host must resolve to public internet addresses only (not "
    "private, loopback or link-local ones)."
)
NAT64 = ipaddress.ip_network("64:ff9b::/96")


def _allowed_networks():
    nets = []
    for text in settings.SUBSCRIBER_WEBHOOK_ALLOW_NETWORKS:
        nets.append(ipaddress.ip_network(text, strict=False))
    return nets


def address_allowed(address: str) -> bool:
    """A public (globally routed) unicast address, or one the operator allowed by network."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if any(ip in net for net in _allowed_networks()):
        return True
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.is_site_local:
            return False
        # An IPv4 address carried inside IPv6 (mapped, NAT64, 6to4, Teredo) is judged as the
        # IPv4 address it reaches.
        if ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        elif ip in NAT64:
            ip = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        elif ip.sixtofour is not None:
            ip = ip.sixtofour
        elif ip.teredo is not None:
            ip = ip.teredo[1]
        if any(ip in net for net in _allowed_networks()):
            return True
    return ip.is_global and not ip.is_multicast


def check_url(url: str) -> None:
    """Refuse (Refused) a URL that is not http(s), carries credentials, or whose host resolves
    to any loopback, private, link-local or otherwise non-public address."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise Refused("Enter an http:// or https:// URL.")
    if parts.username or parts.password:
        raise Refused("The URL may not carry a user name or password.")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise Refused("The URL's port is not a number from 1 to 65535.") from None
    try:
        infos = _resolve(parts.hostname, port)
    except (OSError, UnicodeError, TimeoutError):
        # The same words as a private address: the public form tells nobody which of the
        # portal's internal names exist.
        raise Unresolvable(NOT_PUBLIC) from None
    addresses = {info[4][0] for info in infos}
    if not addresses:
        raise Unresolvable(NOT_PUBLIC)
    for address in addresses:
        if not address_allowed(address):
            raise Refused(NOT_PUBLIC)


# Name lookups for the public sign-up form run here, each bounded by RESOLVE_TIMEOUT: a
# slow resolver never holds a web worker longer than that. A lookup that overruns finishes
# in its pool thread; at most RESOLVERS run at once.
RESOLVE_TIMEOUT = 3.0
RESOLVERS = 4
_resolver = concurrent.futures.ThreadPoolExecutor(RESOLVERS, thread_name_prefix="webhook-dns")


def _resolve(host: str, port: int):
    lookup = _resolver.submit(socket.getaddrinfo, host, port, proto=socket.IPPROTO_TCP)
    try:
        return lookup.result(timeout=RESOLVE_TIMEOUT)
    except concurrent.futures.TimeoutError:
        raise TimeoutError(f"resolving {host} took over {RESOLVE_TIMEOUT} s") from None


def signature(secret: str, timestamp: int, body: bytes) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={digest.hexdigest()}"


def verify(secret: str, header: str, body: bytes, *, now: float | None = None) -> bool:
    """What a receiver does (and the tests): the signature matches and is fresh."""
    fields = dict(part.split("=", 1) for part in header.split(",") if "=" in part)
    try:
        timestamp = int(fields["t"])
    except (KeyError, ValueError):
        return False
    if abs((now or time.time()) - timestamp) > 300:
        return False
    return hmac.compare_digest(signature(secret, timestamp, body), header)


# -- A connection that refuses to talk to a private address ------------------------------


def _check_peer(sock) -> None:
    peer = sock.getpeername()[0]
    if not address_allowed(peer):
        sock.close()
        raise PermanentError("the webhook's host resolved to a private address; refused")


class _HTTPConnection(http.client.HTTPConnection):
    def connect(self):
        super().connect()
        _check_peer(self.sock)


class _HTTPSConnection(http.client.HTTPSConnection):
    def connect(self):
        # Checked on the plain socket, before the TLS handshake sends anything.
        self.sock = socket.create_connection(
            (self.host, self.port), self.timeout, self.source_address
        )
        _check_peer(self.sock)
        if self._tunnel_host:
            self._tunnel()
        server = self._tunnel_host or self.host
        self.sock = self._context.wrap_socket(self.sock, server_hostname=server)


class _HTTPHandler(urllib.request.HTTPHandler):
    def http_open(self, req):
        return self.do_open(_HTTPConnection, req)


class _HTTPSHandler(urllib.request.HTTPSHandler):
    def https_open(self, req):
        return self.do_open(_HTTPSConnection, req, context=self._context)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A redirect is a failure (as Statuspage counts it), never followed: it could lead
    anywhere, the portal's own network included."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


_opener = urllib.request.build_opener(
    urllib.request.ProxyHandler({}), _HTTPHandler, _HTTPSHandler, _NoRedirect
)


def post(url: str, body: bytes, headers: dict[str, str], *, timeout: float = TIMEOUT) -> bytes:
    """POST and return at most 4 KiB of the answer; a 2xx is success, anything else raises
    (410 Gone: Gone, which drops the subscriber at once)."""
    request = urllib.request.Request(url, data=body, method="POST")
    for name, value in {"Content-Type": "application/json", "User-Agent": USER_AGENT}.items():
        request.add_header(name, value)
    for name, value in headers.items():
        request.add_header(name, value)
    host = f"{urlsplit(url).scheme}://{urlsplit(url).netloc}"
    try:
        with _opener.open(request, timeout=timeout) as response:
            if not 200 <= response.status < 300:
                raise RuntimeError(f"HTTP {response.status} from {host}")
            return response.read(4096)
    except urllib.error.HTTPError as error:
        if 300 <= error.code < 400:
            raise RuntimeError(
                f"HTTP {error.code} (a redirect, not followed) from {host}"
            ) from None
        if error.code == 410:
            raise Gone(f"HTTP 410 from {host}") from None
        # Any other answer is retried with backoff: a receiver being redeployed answers 404
        # for a minute. Retries spent, the subscriber is dropped.
        raise RuntimeError(f"HTTP {error.code} from {host}") from None
