"""Where a teacher may be reached: refusing base URLs that would turn the studio against its own network.

A teacher's base URL is typed by an administrator and every worker calls it. Without a check it could
point the workers at the cloud metadata service (169.254.169.254), at services listening on loopback
(the database, Redis, the studio itself) or at a local file. Local model servers (Ollama, vLLM) on
loopback are allowed only when listed in settings.TEACHER_LOCAL_HOSTS. Hosts on a private network
(a GPU box in the same LAN) are allowed: that is where on-premises models live.

A check made when the teacher is saved is not enough: a host name can resolve elsewhere by the time
a worker connects (DNS rebinding, a short TTL). So the teachers' HTTP clients connect through
`checked_transport`, which resolves the host once per connection, checks every address it got, and
connects to a checked one; TLS still names the original host (SNI and certificate) and the Host
header is the URL's, since only the socket's destination is chosen here.
"""

from __future__ import annotations

import ipaddress
import re
import socket
import unicodedata
from collections.abc import Iterable

import httpcore2
import httpx2
from django.conf import settings

# The cloud providers' instance-metadata addresses outside the link-local range.
METADATA_ADDRESSES = {ipaddress.ip_address("fd00:ec2::254"), ipaddress.ip_address("100.100.100.200")}

# A host name label as DNS (and the TLS certificate check) accepts it, after IDNA encoding. The
# underscore is allowed: container and compose service names use it.
_LABEL = re.compile(r"^(?!-)[a-z0-9_-]{1,63}(?<!-)$")


class UnsafeEndpoint(ValueError):
    """The URL must not be called; the message says why and what to do."""


class Unresolvable(UnsafeEndpoint):
    """The host name resolves to nothing now: refused when saved; on a connection, a transient failure."""


def _character_name(char: str) -> str:
    names = {"\t": "a tab", "\n": "a line break", "\r": "a carriage return", " ": "a space"}
    return names.get(char, f"the invisible character U+{ord(char):04X}")


def parse_base_url(url: str) -> httpx2.URL:
    """The URL as the SDKs' HTTP client (httpx2) parses it, refused with a reason if it cannot be used.

    The SDKs call httpx2.URL(base_url) when the client is built; anything it refuses would fail a run's
    launch, and some things it accepts (a space or a percent-encoded line break in the host, port
    99999) would fail every call. Both are refused here, when the teacher is saved.
    """
    for position, char in enumerate(url):
        if char.isspace() or unicodedata.category(char) in {"Cc", "Cf", "Zl", "Zp"}:
            raise UnsafeEndpoint(
                f"The teacher URL contains {_character_name(char)} at position {position + 1}: remove it."
            )
    try:
        parsed = httpx2.URL(url)
    except httpx2.InvalidURL as error:
        raise UnsafeEndpoint(f"The teacher URL cannot be read: {error}") from None
    if parsed.scheme not in ("http", "https"):
        raise UnsafeEndpoint(
            f"Use an http:// or https:// URL for the teacher, not '{parsed.scheme or url.partition(':')[0]}:'."
        )
    if parsed.userinfo:
        raise UnsafeEndpoint(
            "Put no user name or password in the teacher URL: the key comes from the variable the teacher "
            "names."
        )
    host = parsed.raw_host.decode("ascii", "replace").lower()
    if not host:
        raise UnsafeEndpoint("The teacher URL has no host name, e.g. http://gpu-host:8000/v1.")
    if not _is_address(host):
        labels = host.rstrip(".").split(".")
        if len(host) > 253 or not all(_LABEL.match(label) for label in labels):
            raise UnsafeEndpoint(
                f"'{parsed.host}' is not a valid host name: use letters, digits, hyphens and dots "
                "(e.g. gpu-host.example.org)."
            )
        for label in labels:
            if label.startswith("xn--"):
                try:
                    label.encode("ascii").decode("idna")
                except UnicodeError:
                    raise UnsafeEndpoint(
                        f"'{label}' in the teacher URL is not a valid international (IDNA) name."
                    ) from None
    if parsed.port is not None and not 1 <= parsed.port <= 65535:
        raise UnsafeEndpoint(f"The teacher URL's port {parsed.port} is not between 1 and 65535.")
    return parsed


def _is_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def listed_locally(host: str, port: int, allow_list: Iterable[str]) -> bool:
    """Whether TEACHER_LOCAL_HOSTS lists `host` (a name or an address) at `port`."""
    for entry in allow_list:
        entry = entry.strip().lower()
        if entry.startswith("["):  # [IPv6]:port, or [IPv6] for every port
            allowed_host, _, rest = entry[1:].partition("]")
            allowed_port = rest.removeprefix(":")
        elif entry.count(":") == 1:  # name:port or IPv4:port
            allowed_host, _, allowed_port = entry.partition(":")
        else:  # a name, an IPv4 address or a bare IPv6 address: every port
            allowed_host, allowed_port = entry, ""
        if allowed_host == host and allowed_port in ("", "*", str(port)):
            return True
    return False


def resolve(host: str, port: int) -> list[str]:
    """Every address `host` resolves to now (the system resolver), in the resolver's order."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(info[4][0] for info in infos))


def checked_addresses(host: str, port: int, *, local_hosts: Iterable[str] | None = None) -> list[str]:
    """Resolve `host` once and return its addresses if every one of them may be called.

    A host the administrator listed in TEACHER_LOCAL_HOSTS (by name, or by address) may be anywhere on
    this machine; otherwise loopback, link-local, metadata and non-server addresses are refused, and so
    is a name that does not resolve (nothing checked, nothing called).
    """
    allow_list = list(settings.TEACHER_LOCAL_HOSTS if local_hosts is None else local_hosts)
    host = host.lower().strip("[]")
    try:
        addresses = resolve(host, port)
    except (socket.gaierror, UnicodeError) as error:
        raise Unresolvable(
            f"'{host}' does not resolve to an address here ({getattr(error, 'strerror', None) or error}): "
            "check the host name, and that this machine's DNS knows it."
        ) from None
    if not addresses:
        raise Unresolvable(f"'{host}' resolves to no address: check the host name.")
    if listed_locally(host, port, allow_list):
        return addresses
    for text in addresses:
        address = ipaddress.ip_address(text.split("%", 1)[0])
        if listed_locally(str(address), port, allow_list):
            continue
        if address.is_link_local or address in METADATA_ADDRESSES:
            raise UnsafeEndpoint(
                f"'{host}' resolves to {address}, a link-local or cloud metadata address; teachers cannot "
                "be called there."
            )
        if address.is_loopback or address.is_unspecified:
            raise UnsafeEndpoint(
                f"'{host}:{port}' is on this machine ({address}). To use a local model server there, add "
                f"'{host}:{port}' to TEACHER_LOCAL_HOSTS."
            )
        if address.is_multicast or address.is_reserved:
            raise UnsafeEndpoint(f"'{host}' resolves to {address}, which is not a server address.")
    return addresses


def check_endpoint(url: str, *, local_hosts: Iterable[str] | None = None) -> None:
    """Raise UnsafeEndpoint unless `url` is an http(s) URL the SDKs can use, whose host is safe to call."""
    parsed = parse_base_url(url)
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    checked_addresses(parsed.raw_host.decode("ascii"), port, local_hosts=local_hosts)


class CheckedNetworkBackend(httpcore2.NetworkBackend):
    """Opens each connection to an address checked for that very connection (see the module's text)."""

    def __init__(self) -> None:
        self._sockets = httpcore2.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore2.SOCKET_OPTION] | None = None,
    ) -> httpcore2.NetworkStream:
        try:
            addresses = checked_addresses(host, port)  # UnsafeEndpoint: the call fails, nothing is sent
        except Unresolvable as error:  # DNS down for a moment: a connection error, retried as such
            raise httpcore2.ConnectError(str(error)) from None
        failure: Exception | None = None
        for address in addresses:
            try:
                return self._sockets.connect_tcp(address, port, timeout, local_address, socket_options)
            except (httpcore2.ConnectError, httpcore2.ConnectTimeout) as error:
                failure = error
        assert failure is not None
        raise failure

    def connect_unix_socket(self, path, timeout=None, socket_options=None) -> httpcore2.NetworkStream:
        raise UnsafeEndpoint("Teachers are called over TCP only.")

    def sleep(self, seconds: float) -> None:
        self._sockets.sleep(seconds)


class CheckedTransport(httpx2.HTTPTransport):
    """httpx2's transport, connecting through CheckedNetworkBackend. No proxy: a proxy would resolve
    the host itself, out of reach of the check (so HTTP(S)_PROXY does not apply to teacher calls)."""

    def __init__(self) -> None:  # HTTPTransport's own __init__ would build a pool that is not used
        limits = httpx2.Limits(max_connections=100, max_keepalive_connections=20, keepalive_expiry=5.0)
        self._pool = httpcore2.ConnectionPool(
            ssl_context=httpx2.create_ssl_context(),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=CheckedNetworkBackend(),
        )


def checked_transport() -> httpx2.HTTPTransport:
    return CheckedTransport()


def unsafe_cause(error: BaseException) -> UnsafeEndpoint | None:
    """The UnsafeEndpoint a failed request was refused with, if it was (the SDKs may wrap it)."""
    seen: set[int] = set()
    while error is not None and id(error) not in seen:
        if isinstance(error, UnsafeEndpoint):
            return error
        seen.add(id(error))
        error = error.__cause__ or (None if error.__suppress_context__ else error.__context__)
    return None


# Teacher clients never follow redirects (checking only the first address would let a server bounce
# the workers anywhere); a redirect is reported as a failed call with this hint.
REDIRECT_HINTS = {
    status: "redirects are not followed: give the final URL as the teacher's base URL"
    for status in (301, 302, 303, 307, 308)
}
