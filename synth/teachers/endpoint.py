"""Where a teacher may be reached: refusing base URLs that would turn the studio against its own network.

A teacher's base URL is typed by an administrator and every worker calls it. Without a check it could
point the workers at the cloud metadata service (169.254.169.254), at services listening on loopback
(the database, Redis, the studio itself) or at a local file. Local model servers (Ollama, vLLM) on
loopback are allowed only when listed in settings.TEACHER_LOCAL_HOSTS. Hosts on a private network
(a GPU box in the same LAN) are allowed: that is where on-premises models live.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable
from urllib.parse import urlsplit

from django.conf import settings

# The cloud providers' instance-metadata addresses outside the link-local range.
METADATA_ADDRESSES = {ipaddress.ip_address("fd00:ec2::254"), ipaddress.ip_address("100.100.100.200")}


class UnsafeEndpoint(ValueError):
    """The URL must not be called; the message says why and what to do."""


def _allowed_locally(host: str, port: int, allow_list: Iterable[str]) -> bool:
    for entry in allow_list:
        allowed_host, _, allowed_port = entry.strip().lower().rpartition(":")
        if not allowed_host:  # an entry without a port allows every port of that host
            allowed_host, allowed_port = entry.strip().lower(), ""
        if allowed_host.strip("[]") == host and allowed_port in ("", "*", str(port)):
            return True
    return False


def check_endpoint(url: str, *, local_hosts: Iterable[str] | None = None) -> None:
    """Raise UnsafeEndpoint unless `url` is an http(s) URL whose host is safe to call."""
    allow_list = list(settings.TEACHER_LOCAL_HOSTS if local_hosts is None else local_hosts)
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise UnsafeEndpoint(f"Use an http:// or https:// URL for the teacher, not '{parts.scheme}:'.")
    host = (parts.hostname or "").lower()
    if not host:
        raise UnsafeEndpoint("The teacher URL has no host name.")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise UnsafeEndpoint("The teacher URL has an invalid port.") from None
    if _allowed_locally(host, port, allow_list):
        return
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)}
    except socket.gaierror:
        return  # nothing to reach, nothing to refuse: the call fails on its own with a connection error
    for text in addresses:
        address = ipaddress.ip_address(text.split("%", 1)[0])
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


# Teacher clients never follow redirects (checking only the first address would let a server bounce
# the workers anywhere); a redirect is reported as a failed call with this hint.
REDIRECT_HINTS = {
    status: "redirects are not followed: give the final URL as the teacher's base URL"
    for status in (301, 302, 303, 307, 308)
}
