"""The company-range resolver on both stores: an address in an imported range identifies the
company, the narrowest containing range wins, IPv6 and IPv4-mapped addresses work, and the
hex form the ranges are stored in orders addresses the way the networks contain them."""

from __future__ import annotations

from ipaddress import IPv4Address, IPv6Address, ip_network

from hypothesis import given
from hypothesis import strategies as st

from openfeeder.config import Settings
from openfeeder.identify.ranges import (
    candidate_starts,
    hex_key,
    network_bounds,
    parse_ip,
    plain_network,
)
from openfeeder.store.db import Database
from tests.support.identify import add_company, identifier_for, identify


def test_an_address_in_a_company_range_identifies_the_company(
    db: Database, settings: Settings
) -> None:
    acme = add_company(db, "Acme Oy", ranges=("81.17.0.0/24", "2a0c:5a80::/48"))
    with identifier_for(settings) as identifier:
        found = identify(db, identifier, ["81.17.0.7", "2a0c:5a80:0:1::9", "81.17.1.1"])
    hit = found["81.17.0.7"]
    assert (hit.company_id, hit.match_source, hit.drop_reason) == (acme.id, "company_range", None)
    assert hit.match_reason == "81.17.0.7 is in 81.17.0.0/24 (Acme Oy)"
    assert found["2a0c:5a80:0:1::9"].company_id == acme.id
    assert found["2a0c:5a80:0:1::9"].match_reason == (
        "2a0c:5a80:0:1::9 is in 2a0c:5a80::/48 (Acme Oy)"
    )
    miss = found["81.17.1.1"]
    assert (miss.company_id, miss.match_source, miss.match_reason) == (None, None, None)


def test_the_most_specific_range_wins(db: Database, settings: Settings) -> None:
    group = add_company(db, "Group Holding", ranges=("91.150.0.0/16",))
    unit = add_company(db, "Unit Oy", ranges=("91.150.8.0/22",))
    desk = add_company(db, "Desk Ab", ranges=("91.150.9.16/28",))
    with identifier_for(settings) as identifier:
        found = identify(db, identifier, ["91.150.200.1", "91.150.10.1", "91.150.9.20"])
    assert found["91.150.200.1"].company_id == group.id
    assert found["91.150.10.1"].company_id == unit.id
    assert found["91.150.9.20"].company_id == desk.id
    assert found["91.150.9.20"].match_reason == "91.150.9.20 is in 91.150.9.16/28 (Desk Ab)"


def test_an_ipv4_mapped_address_and_odd_input(db: Database, settings: Settings) -> None:
    acme = add_company(db, "Acme Oy", ranges=("81.17.0.0/24",))
    given_ips = ["::ffff:81.17.0.9", " 81.17.0.9 ", "not an ip", "", "fe80::1%eth0"]
    with identifier_for(settings) as identifier:
        found = identify(db, identifier, given_ips)
    assert set(found) == set(given_ips)  # keyed by the text given
    assert found["::ffff:81.17.0.9"].company_id == acme.id
    assert found[" 81.17.0.9 "].company_id == acme.id
    for bad in ("not an ip", "", "fe80::1%eth0"):
        assert found[bad].company_id is None
        assert found[bad].drop_reason is None


def test_parse_ip_and_mapped_networks() -> None:
    assert parse_ip("::ffff:192.0.2.1") == IPv4Address("192.0.2.1")
    assert parse_ip("2001:db8::1") == IPv6Address("2001:db8::1")
    assert parse_ip("192.0.2.300") is None
    assert plain_network(ip_network("::ffff:203.0.113.0/120")) == ip_network("203.0.113.0/24")
    assert plain_network(ip_network("2001:db8::/32")) == ip_network("2001:db8::/32")
    first, last = network_bounds(ip_network("203.0.113.0/24"))
    assert (first, last) == (
        "00000000000000000000ffffcb007100",
        "00000000000000000000ffffcb0071ff",
    )


v4_networks = st.builds(
    lambda a, p: ip_network((a, p), strict=False), st.integers(0, 2**32 - 1), st.integers(0, 32)
)
v6_networks = st.builds(
    lambda a, p: ip_network((IPv6Address(a), p), strict=False),
    st.integers(0, 2**128 - 1),
    st.integers(0, 128),
)


@given(st.one_of(v4_networks, v6_networks), st.integers(0, 2**128 - 1))
def test_hex_keys_order_addresses_like_networks_contain_them(network, raw) -> None:  # type: ignore[no-untyped-def]
    address = IPv4Address(raw % 2**32) if network.version == 4 else IPv6Address(raw)
    first, last = network_bounds(network)
    inside = address in network
    assert (first <= hex_key(address) <= last) == inside
    if inside:  # a containing network starts at one of the address's candidate starts
        assert first in candidate_starts(address)


@given(v4_networks, st.integers(0, 2**128 - 1))
def test_no_ipv4_network_contains_an_ipv6_address_by_hex_key(network, raw) -> None:  # type: ignore[no-untyped-def]
    first, last = network_bounds(network)
    assert not first <= hex_key(IPv6Address(raw % 2**64)) <= last
