"""Which address a tracker hit came from: the TCP peer, or — only when the peer is one of
``OPENFEEDER_TRUSTED_PROXIES`` — the right-most address in ``X-Forwarded-For`` that is not a
trusted proxy itself (a client can put anything on the left of that header)."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def parse_address(text: str) -> IPAddress | None:
    """An address as proxies write it (``1.2.3.4``, ``1.2.3.4:5678``, ``[::1]:80``, ``::1``),
    IPv4-mapped IPv6 folded to IPv4; None when it is not an address."""
    text = text.strip().strip('"')
    if text.startswith("["):
        text = text[1:].split("]", 1)[0]
    elif text.count(":") == 1:
        text = text.split(":", 1)[0]  # IPv4 with a port
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped:
            return address.ipv4_mapped
        if address.scope_id:  # fe80::1%eth0: the zone means nothing beyond the proxy
            return ipaddress.IPv6Address(text.split("%", 1)[0])
    return address


class ClientAddress:
    """Resolves the client address of a request from its peer and forwarding headers."""

    def __init__(self, trusted_proxies: Iterable[str]) -> None:
        self.trusted: tuple[IPNetwork, ...] = tuple(
            ipaddress.ip_network(cidr.strip(), strict=False) for cidr in trusted_proxies
        )

    def is_trusted(self, address: IPAddress) -> bool:
        return any(address in network for network in self.trusted)

    def resolve(self, peer: str | None, forwarded_for: Sequence[str] = ()) -> str:
        """The client's address as text; ``forwarded_for`` holds every X-Forwarded-For value."""
        peer_address = parse_address(peer) if peer else None
        if peer_address is None:
            return peer or "unknown"  # e.g. a Unix socket; nothing to look behind
        if not self.is_trusted(peer_address):
            return str(peer_address)
        hops = [hop for value in forwarded_for for hop in value.split(",") if hop.strip()]
        client = peer_address
        # Walk from the nearest hop outwards: each trusted hop vouches for the one before it.
        for hop in reversed(hops):
            address = parse_address(hop)
            if address is None:
                break  # garbage: believe nothing further out than the last good hop
            client = address
            if not self.is_trusted(address):
                break
        return str(client)
