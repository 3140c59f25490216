"""Company IP ranges: addresses in the fixed-width hex form ``company_ranges`` stores (IPv4
mapped into IPv6), and the most specific imported range that contains an address."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address

import sqlalchemy as sa

from openfeeder.store import identify as store

IPAddress = IPv4Address | IPv6Address
IPNetwork = IPv4Network | IPv6Network

_MAPPED = 0xFFFF << 32  # ::ffff:0:0/96, where IPv4 addresses live in the IPv6 space
_MAPPED_NETWORK = IPv6Network("::ffff:0:0/96")


def parse_ip(text: str) -> IPAddress | None:
    """An address from text; an IPv4-mapped IPv6 address becomes the IPv4 address it maps."""
    try:
        address = ip_address(text.strip())
    except ValueError:
        return None
    if isinstance(address, IPv6Address):
        if address.scope_id is not None:
            return None  # a link-local zone (fe80::1%eth0) says nothing about a company
        if address.ipv4_mapped is not None:
            return address.ipv4_mapped
    return address


def plain_network(network: IPNetwork) -> IPNetwork:
    """``::ffff:203.0.113.0/120`` is the IPv4 network ``203.0.113.0/24``."""
    if isinstance(network, IPv6Network) and network.subnet_of(_MAPPED_NETWORK):
        first = network.network_address.ipv4_mapped
        assert first is not None  # inside ::ffff:0:0/96
        return IPv4Network((first, network.prefixlen - 96))
    return network


def _key(address: IPAddress) -> int:
    return _MAPPED | int(address) if isinstance(address, IPv4Address) else int(address)


def hex_key(address: IPAddress) -> str:
    """32 hex digits: string order is address order, on every backend."""
    return f"{_key(address):032x}"


def network_bounds(network: IPNetwork) -> tuple[str, str]:
    return hex_key(network.network_address), hex_key(network.broadcast_address)


def candidate_starts(address: IPAddress) -> list[str]:
    """The first address of every network that can contain ``address``, one per prefix
    length. A containing range must start at one of them, so a lookup is an indexed ``IN``
    whatever the number of ranges, and a miss costs no more than a hit."""
    bits = address.max_prefixlen
    value = int(address)
    starts: set[int] = set()
    for prefix in range(bits + 1):
        host_bits = bits - prefix
        starts.add((value >> host_bits) << host_bits)
    offset = _MAPPED if isinstance(address, IPv4Address) else 0
    return sorted(f"{offset | start:032x}" for start in starts)


@dataclass(frozen=True)
class RangeMatch:
    company_id: str
    company_name: str
    network: str

    def reason(self, ip: str) -> str:
        return f"{ip} is in {self.network} ({self.company_name})"


def most_specific(conn: sa.Connection, addresses: Mapping[str, IPAddress]) -> dict[str, RangeMatch]:
    """For each address, the narrowest imported range containing it (the latest start, then
    the earliest end; ties by company id so the answer is stable)."""
    wanted = {ip: candidate_starts(address) for ip, address in addresses.items()}
    rows = store.ranges_starting_at(conn, {start for starts in wanted.values() for start in starts})
    by_start: dict[str, list[store.RangeRow]] = {}
    for row in rows:
        by_start.setdefault(row.first_ip, []).append(row)
    found: dict[str, RangeMatch] = {}
    for ip, starts in wanted.items():
        key = hex_key(addresses[ip])
        best = _narrowest(r for s in starts for r in by_start.get(s, ()) if r.last_ip >= key)
        if best is not None:
            found[ip] = RangeMatch(best.company_id, best.company_name, best.network)
    return found


def _narrowest(rows: Iterable[store.RangeRow]) -> store.RangeRow | None:
    ordered = sorted(rows, key=lambda r: (r.last_ip, r.company_id))
    ordered.sort(key=lambda r: r.first_ip, reverse=True)
    return ordered[0] if ordered else None
