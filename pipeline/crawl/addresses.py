"""The address guard: which IP addresses the HTTP layer may connect to.

URLs come from untrusted social posts, so a link (or any hop of its redirect chain) could point the
crawler at the machine it runs on or at the private network around it. The guard is applied where the
socket is opened (:mod:`pipeline.crawl.http` installs it in urllib3's connection class): a host name is
resolved once, every address is checked, and only a checked address is connected to. Nothing can slip
between the check and the connect, and every redirect hop, retry and token refresh passes the same check.

Refused, unless an allowed network contains the address: loopback, private, link-local, multicast,
reserved, unspecified and every other not globally routable range, in IPv4 and IPv6, including IPv4
addresses embedded in IPv6 (IPv4-mapped ``::ffff:a.b.c.d``, NAT64 ``64:ff9b::/96``, 6to4 and Teredo).
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Iterable, Mapping, Sequence

from urllib3.util.connection import allowed_gai_family

from pipeline.crawl.settings import Network

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], list[str]]

_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")


class BlockedAddress(Exception):
    """A connection was refused before it was made: the host resolves only to refused addresses.

    Deliberately not an ``OSError``: requests and urllib3 must not wrap it into a retryable
    connection error.
    """

    def __init__(self, host: str, refused: Sequence[tuple[str, str]]) -> None:
        described = ", ".join(f"{address} ({reason})" for address, reason in refused) or "no address"
        super().__init__(f"blocked address: {host} resolves to {described}")
        self.host = host
        self.refused = tuple(refused)


def system_resolver(host: str, port: int) -> list[str]:
    """The operating system's resolver, with urllib3's choice of address families."""
    infos = socket.getaddrinfo(host, port, allowed_gai_family(), socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


class StaticResolver:
    """Fixed host names to addresses (tests, benchmarks); any other name fails like an unknown host."""

    def __init__(self, names: Mapping[str, str]) -> None:
        self.names = {name.lower(): address for name, address in names.items()}

    def __call__(self, host: str, port: int) -> list[str]:
        try:
            ipaddress.ip_address(host)
        except ValueError:
            pass
        else:
            return [host]
        address = self.names.get(host.lower().rstrip("."))
        if address is None:
            raise socket.gaierror(socket.EAI_NONAME, f"{host} is not in the static resolver")
        return [address]


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    return None


def refusal_reason(address: IPAddress) -> str | None:
    """Why ``address`` is refused, or ``None`` for a globally routable unicast address."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(address)
        if embedded is not None:
            inner = refusal_reason(embedded)
            return f"embeds {embedded}: {inner}" if inner else None
    checks = (
        ("unspecified", address.is_unspecified),
        ("loopback", address.is_loopback),
        ("link-local", address.is_link_local),
        ("multicast", address.is_multicast),
        ("reserved", address.is_reserved),
        ("private", address.is_private),
        ("not globally routable", not address.is_global),
    )
    return next((reason for reason, applies in checks if applies), None)


class AddressGuard:
    """Resolves host names and keeps only the addresses a connection may be made to."""

    def __init__(self, allowed: Iterable[Network] = (), resolver: Resolver = system_resolver) -> None:
        self.allowed = tuple(allowed)
        self.resolver = resolver

    def _is_allowed(self, address: IPAddress) -> bool:
        candidates: list[IPAddress] = [address]
        if isinstance(address, ipaddress.IPv6Address) and (embedded := _embedded_ipv4(address)):
            candidates.append(embedded)
        return any(candidate in network for candidate in candidates for network in self.allowed)

    def check(self, address_text: str) -> str | None:
        """Why a connection to this address is refused, or ``None`` when it may be made."""
        address = ipaddress.ip_address(address_text.split("%", 1)[0])
        if self._is_allowed(address):
            return None
        return refusal_reason(address)

    def resolve(self, host: str, port: int) -> list[str]:
        """The addresses of ``host`` that may be connected to, in resolver order.

        Raises :class:`BlockedAddress` when none remain; resolver errors (``socket.gaierror``) pass through.
        """
        bare = host.strip("[]")
        permitted: list[str] = []
        refused: list[tuple[str, str]] = []
        for address in self.resolver(bare, port):
            reason = self.check(address)
            if reason is None:
                permitted.append(address)
            else:
                refused.append((address, reason))
        if not permitted:
            raise BlockedAddress(bare, refused)
        return permitted
