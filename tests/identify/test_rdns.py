"""The reverse-DNS resolver against a real DNS server on 127.0.0.1 (dnslib): PTR names map to
companies by their registrable domain (public suffix list snapshot, nothing fetched),
address-pool names are rejected, answers are cached in ip_cache, lookups run concurrently
and a slow server costs no more than the timeout."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from ipaddress import ip_address

import pytest
import sqlalchemy as sa

from openfeeder.config import Settings
from openfeeder.domain.clock import FixedClock
from openfeeder.domain.errors import OpenfeederError
from openfeeder.identify import Identifier
from openfeeder.identify.rdns import (
    PublicSuffixes,
    ReverseDns,
    dynamic_pool_sign,
    parse_server,
)
from openfeeder.store import schema as t
from openfeeder.store.db import Database
from tests.support.identify import Zone, add_company, dns_server, identifier_for, identify


def test_a_ptr_name_identifies_the_company_by_its_domain(db: Database, settings: Settings) -> None:
    initech = add_company(db, "Initech Oy", domain="initech.fi")
    initech_eu = add_company(db, "Initech Europe", domain="eu.initech.fi")
    bbc = add_company(db, "BBC", domain="bbc.co.uk")
    zone = Zone()
    zone.add("81.20.1.5", "gw1.initech.fi")
    zone.add("81.20.1.6", "mail.eu.initech.fi")
    zone.add("81.20.1.7", "proxy-a.lon.bbc.co.uk")
    zone.add("2a0c:9a40::25", "vpn.initech.fi")
    zone.add("81.20.1.8", "host.unknown-company.com")
    with (
        dns_server(zone) as server,
        identifier_for(settings, reverse_dns=True, dns_servers=[server]) as identifier,
    ):
        ips = ["81.20.1.5", "81.20.1.6", "81.20.1.7", "2a0c:9a40::25", "81.20.1.8", "81.20.1.9"]
        found = identify(db, identifier, ips)
    assert found["81.20.1.5"].company_id == initech.id
    assert found["81.20.1.5"].match_source == "reverse_dns"
    assert found["81.20.1.5"].match_reason == (
        "81.20.1.5 reverse-resolves to gw1.initech.fi; initech.fi is Initech Oy's domain"
    )
    assert found["81.20.1.6"].company_id == initech_eu.id  # the most specific domain
    assert found["81.20.1.7"].company_id == bbc.id  # co.uk is a public suffix
    assert found["2a0c:9a40::25"].company_id == initech.id
    assert found["81.20.1.8"].company_id is None  # a name, but no such company
    assert found["81.20.1.9"].company_id is None  # NXDOMAIN
    assert found["81.20.1.9"].drop_reason is None


POOL_NAMES = [  # (address, its PTR name, the sign that gives the pool away)
    ("81.20.1.5", "dsl-81-20-1-5.initech.fi", "'dsl'"),
    ("81.20.1.5", "adsl81201005.initech.fi", "'adsl'"),
    ("81.20.1.5", "81-20-1-5.initech.fi", "spells the address"),
    ("81.20.1.5", "5.1.20.81.initech.fi", "spells the address"),
    ("81.20.1.5", "c-81-20-1-5.hsd1.ma.initech.fi", "'hsd'"),
    ("81.20.1.5", "host-5.1.20.static.initech.fi", "'static'"),
    ("81.20.1.5", "static-ip-81-20-1-5.initech.fi", "'static-ip'"),
    ("81.20.1.108", "dhcp-10.initech.fi", "'dhcp'"),
    ("81.20.1.109", "pool-81-20-1.initech.fi", "'pool'"),
    ("81.20.1.110", "cpe-81-20.res.initech.fi", "'cpe'"),
    ("81.20.1.111", "ppp-45.initech.fi", "'ppp'"),
    ("81.20.1.112", "dyn-45.initech.fi", "'dyn'"),
    ("81.20.1.113", "customer.initech.fi", "'customer'"),
    ("81.20.1.114", "broadband-17.initech.fi", "'broadband'"),
    ("81.20.1.115", "cable-17.initech.fi", "'cable'"),
    ("81.20.1.10", "5114010a.initech.fi", "spells the address"),
]


@pytest.mark.parametrize(("ip", "name", "sign"), POOL_NAMES)
def test_address_pool_names_are_recognised(ip: str, name: str, sign: str) -> None:
    parts = PublicSuffixes().split(name)
    assert parts is not None
    reason = dynamic_pool_sign(parts[0], ip_address(ip))
    assert reason is not None
    assert sign in reason


@pytest.mark.parametrize(
    "name",
    [
        "gw1.initech.fi",
        "mail.eu.initech.fi",
        "vpn-hel.initech.fi",
        "fw-01.hq.initech.fi",
        "poolcorp-gw.initech.fi",
        "office.initech.fi",
        "resolver1.initech.fi",
    ],
)
def test_company_host_names_are_not_pools(name: str) -> None:
    parts = PublicSuffixes().split(name)
    assert parts is not None
    assert dynamic_pool_sign(parts[0], ip_address("81.20.1.5")) is None


def test_ipv6_pool_names_are_recognised() -> None:
    address = ip_address("2a0c:9a40:1:2::3f")
    assert dynamic_pool_sign("2a0c-9a40-1-2--3f.ip6", address) is not None
    assert dynamic_pool_sign("vpn", address) is None


def test_pool_names_never_identify_a_company(db: Database, settings: Settings) -> None:
    add_company(db, "Initech Oy", domain="initech.fi")
    zone = Zone()
    by_ip: dict[str, list[str]] = {}
    for ip, name, _sign in POOL_NAMES:
        by_ip.setdefault(ip, []).append(name)
    for ip, names in by_ip.items():
        zone.add(ip, *names)
    ips = list(by_ip)
    with (
        dns_server(zone) as server,
        identifier_for(settings, reverse_dns=True, dns_servers=[server]) as identifier,
    ):
        found = identify(db, identifier, ips)
    assert {ip: found[ip].company_id for ip in ips} == dict.fromkeys(ips)


def test_public_suffixes_come_from_the_bundled_snapshot_only() -> None:
    suffixes = PublicSuffixes()
    extract = suffixes._extract
    assert tuple(extract.suffix_list_urls) == ()  # never fetched
    assert extract._cache.enabled is False  # never written to a cache directory
    assert suffixes.split("a.b.example.co.uk") == ("a.b", "example.co.uk")
    assert suffixes.split("localhost.localdomain") is None


def test_answers_are_cached_until_they_expire(db: Database, settings: Settings) -> None:
    acme = add_company(db, "Acme Oy", domain="acme.fi")
    zone = Zone()
    zone.add("81.20.2.1", "gw.acme.fi")
    clock = FixedClock(datetime(2026, 3, 1, 12, 0, tzinfo=UTC))
    with dns_server(zone) as server:

        def run() -> str | None:
            identifier = Identifier(rdns=ReverseDns([server], 1.0), clock=clock)
            try:
                return identify(db, identifier, ["81.20.2.1"])["81.20.2.1"].company_id
            finally:
                identifier.close()

        assert run() == acme.id
        assert run() == acme.id  # a new identifier (another process) reads the cache
        assert zone.asked["81.20.2.1"] == 1
        with db.read() as conn:
            row = conn.execute(sa.select(t.ip_cache)).one()
        assert (row.resolver, row.ip, row.answer) == (
            "reverse_dns",
            "81.20.2.1",
            {"status": "ok", "names": ["gw.acme.fi"]},
        )
        assert row.expires_at == clock.now() + timedelta(seconds=3600)  # the record's TTL
        clock.advance(timedelta(hours=2))
        assert run() == acme.id
        assert zone.asked["81.20.2.1"] == 2


def test_a_slow_server_costs_at_most_the_timeout(db: Database, settings: Settings) -> None:
    acme = add_company(db, "Acme Oy", domain="acme.fi")
    zone = Zone()
    zone.delay("81.20.3.1", 3.0, "gw.acme.fi")
    zone.add("81.20.3.2", "gw2.acme.fi")
    zone.fail("81.20.3.3")
    with (
        dns_server(zone) as server,
        identifier_for(
            settings, reverse_dns=True, dns_servers=[server], dns_timeout=0.3
        ) as identifier,
    ):
        started = time.monotonic()
        found = identify(db, identifier, ["81.20.3.1", "81.20.3.2", "81.20.3.3"])
        elapsed = time.monotonic() - started
    assert elapsed < 1.5, elapsed
    assert found["81.20.3.1"].company_id is None  # too slow
    assert found["81.20.3.2"].company_id == acme.id  # not held up by the slow one
    assert found["81.20.3.3"].company_id is None  # SERVFAIL
    with db.read() as conn:
        rows = {r.ip: r for r in conn.execute(sa.select(t.ip_cache))}
    assert rows["81.20.3.1"].answer == {"status": "timeout"}
    # A failure is asked again soon; an answer is kept for its TTL.
    assert rows["81.20.3.1"].expires_at - rows["81.20.3.2"].expires_at < timedelta(hours=-0.5)
    assert rows["81.20.3.3"].answer["status"] == "error"


def test_lookups_run_concurrently(db: Database, settings: Settings) -> None:
    acme = add_company(db, "Acme Oy", domain="acme.fi")
    zone = Zone()
    ips = [f"81.20.4.{i}" for i in range(1, 101)]
    for ip in ips:
        zone.delay(ip, 0.2, f"host{ip.rsplit('.', 1)[1]}.acme.fi")
    with (
        dns_server(zone) as server,
        identifier_for(
            settings, reverse_dns=True, dns_servers=[server], dns_timeout=2.0
        ) as identifier,
    ):
        started = time.monotonic()
        found = identify(db, identifier, ips)
        elapsed = time.monotonic() - started
    assert {found[ip].company_id for ip in ips} == {acme.id}
    assert elapsed < 100 * 0.2 / 4, elapsed  # one at a time would take 20 s


def test_private_and_documentation_addresses_are_never_asked(
    db: Database, settings: Settings
) -> None:
    zone = Zone()
    with (
        dns_server(zone) as server,
        identifier_for(settings, reverse_dns=True, dns_servers=[server]) as identifier,
    ):
        found = identify(db, identifier, ["10.1.2.3", "192.168.1.1", "203.0.113.9", "fd00::1"])
    assert all(f.company_id is None for f in found.values())
    assert not zone.asked


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("127.0.0.1", ("127.0.0.1", 53)),
        ("127.0.0.1:5353", ("127.0.0.1", 5353)),
        ("[::1]:5353", ("::1", 5353)),
        ("::1", ("::1", 53)),
        ("localhost:53", ("127.0.0.1", 53)),
    ],
)
def test_name_servers_are_host_or_host_port(text: str, expected: tuple[str, int]) -> None:
    assert parse_server(text) == expected


@pytest.mark.parametrize("text", ["127.0.0.1:0", "127.0.0.1:x", "[::1]:99999", ":53"])
def test_a_bad_name_server_is_a_clear_error(text: str) -> None:
    with pytest.raises(OpenfeederError, match="OPENFEEDER_DNS_SERVERS"):
        parse_server(text)
