"""Where Beacon may send HTTP requests, and how (issue #9).

A destination must be on the allow-list (``settings.BEACON_WEBHOOK_ALLOWED_HOSTS``): host names
(``hooks.example.org``, or ``*.example.org`` for its sub-domains), IP addresses or networks (``10.2.0.0/16``).
Every address the host resolves to must be a public one, unless that address is itself inside a listed IP
address or network: allowing a host name never allows it to point at a private, loopback, link-local,
multicast or reserved address (DNS rebinding, cloud metadata at 169.254.169.254). Plain ``http://`` is
accepted only for addresses listed by IP or network (a laboratory or an internal network).

The check runs when a destination is registered and again before every request, and the request then goes
to the very address that was checked (``_create_connection`` is pinned to it), with the host name still used
for the Host header and for TLS certificate verification. Redirects are never followed: http.client does
not follow them, and callers treat a 3xx answer as a failure.
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings
from django.utils.translation import gettext as _

from integrations.choices import HTTP_TIMEOUT, MAX_RESPONSE_BYTES

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class DestinationRefused(Exception):
    """The address may not be contacted. The message names the rule, never anything about a person."""


@dataclass(frozen=True)
class Destination:
    scheme: str
    host: str
    port: int
    path: str  # path and query string
    address: str  # the checked IP address to connect to


@dataclass(frozen=True)
class Response:
    status: int
    headers: http.client.HTTPMessage
    body: bytes


def _allow_list() -> tuple[list[str], list[ipaddress.IPv4Network | ipaddress.IPv6Network]]:
    names, networks = [], []
    for entry in getattr(settings, "BEACON_WEBHOOK_ALLOWED_HOSTS", []) or []:
        entry = entry.strip().lower()
        if not entry:
            continue
        try:
            networks.append(ipaddress.ip_network(entry, strict=False))
        except ValueError:
            names.append(entry.rstrip("."))
    return names, networks


def _name_listed(host: str, names: list[str]) -> bool:
    host = host.lower().rstrip(".")
    for name in names:
        if name.startswith("*.") and host.endswith(name[1:]) and host != name[2:]:
            return True
        if host == name:
            return True
    return False


def _public(ip: IPAddress) -> bool:
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def _resolve(host: str, port: int) -> list[IPAddress]:
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        raise DestinationRefused(_("The host name could not be resolved."))
    addresses: list[IPAddress] = []
    for info in infos:
        ip = ipaddress.ip_address(info[4][0].split("%")[0])
        if ip not in addresses:
            addresses.append(ip)
    if not addresses:
        raise DestinationRefused(_("The host name could not be resolved."))
    return addresses


def check_destination(url: str) -> Destination:
    """Raise DestinationRefused unless ``url`` may be contacted now; return where to connect."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise DestinationRefused(_("The address is not a valid URL."))
    scheme = parts.scheme.lower()
    if scheme not in {"http", "https"} or not parts.hostname:
        raise DestinationRefused(_("The address must start with https:// and name a host."))
    if parts.username or parts.password:
        raise DestinationRefused(_("The address must not contain a user name or password."))
    host = parts.hostname
    port = port or (443 if scheme == "https" else 80)
    names, networks = _allow_list()
    addresses = _resolve(host, port)

    def listed(ip: IPAddress) -> bool:
        return any(ip.version == net.version and ip in net for net in networks)

    if not (_name_listed(host, names) or all(listed(ip) for ip in addresses)):
        raise DestinationRefused(
            _("This host is not on the allow-list of destinations (BEACON_WEBHOOK_ALLOWED_HOSTS).")
        )
    for ip in addresses:
        if not _public(ip) and not listed(ip):
            raise DestinationRefused(
                _(
                    "This host resolves to a private, loopback, link-local or reserved address, which is refused "
                    "unless that address is allow-listed explicitly."
                )
            )
    if scheme == "http" and not all(listed(ip) for ip in addresses):
        raise DestinationRefused(_("Use https:// (plain http is allowed only for addresses allow-listed by IP)."))
    path = parts.path or "/"
    if parts.query:
        path = f"{path}?{parts.query}"
    return Destination(scheme=scheme, host=host, port=port, path=path, address=str(addresses[0]))


def request(
    url: str,
    *,
    method: str = "GET",
    body: bytes | None = None,
    headers: dict | None = None,
    timeout: float = HTTP_TIMEOUT,
) -> Response:
    """One HTTP request to ``url`` after ``check_destination``, connected to the address checked. Never follows
    a redirect. Raises DestinationRefused, OSError or http.client.HTTPException."""
    dest = check_destination(url)
    if dest.scheme == "https":
        conn: http.client.HTTPConnection = http.client.HTTPSConnection(
            dest.host, dest.port, timeout=timeout, context=ssl.create_default_context()
        )
    else:
        conn = http.client.HTTPConnection(dest.host, dest.port, timeout=timeout)

    def pinned(address, timeout=timeout, source_address=None):
        # Connect to the address that passed the check, not to whatever the name resolves to by now.
        return socket.create_connection((dest.address, address[1]), timeout, source_address)

    conn._create_connection = pinned  # type: ignore[attr-defined]
    try:
        conn.request(method, dest.path, body=body, headers=headers or {})
        response = conn.getresponse()
        data = response.read(MAX_RESPONSE_BYTES)
        return Response(status=response.status, headers=response.headers, body=data)
    finally:
        conn.close()


def describe_error(exc: BaseException) -> str:
    """A short, data-free description of a failed request, for the delivery log."""
    if isinstance(exc, DestinationRefused):
        return str(exc)[:300]
    if isinstance(exc, TimeoutError | socket.timeout):
        return _("No answer in time.")
    if isinstance(exc, ConnectionRefusedError):
        return _("Connection refused.")
    if isinstance(exc, ssl.SSLError):
        return _("TLS error: %(name)s") % {"name": type(exc).__name__}
    return _("Connection failed: %(name)s") % {"name": type(exc).__name__}
