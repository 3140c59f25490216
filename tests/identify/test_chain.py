"""The whole chain built by ``make_identifier`` from settings, every resolver real (MMDB files
written here, a DNS server and a provider on 127.0.0.1): the first confident answer wins,
later resolvers are not even asked, and one identifier serves many threads and callers
that run their own event loops."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from openfeeder.config import Settings
from openfeeder.identify import Identification, Identifier, make_identifier
from openfeeder.identify.enrichment import company_id_for
from openfeeder.identify.mmdb import AsnEntry, CityEntry, write_asn_mmdb, write_city_mmdb
from openfeeder.store.db import Database
from tests.support.identify import (
    Provider,
    Zone,
    add_company,
    dns_server,
    identify,
    identify_settings,
    provider_server,
)


@dataclass
class Chain:
    identifier: Identifier
    zone: Zone
    provider: Provider


@pytest.fixture
def chain(db: Database, settings: Settings, tmp_path: Path) -> Iterator[Chain]:
    asn = write_asn_mmdb(
        tmp_path / "asn.mmdb",
        [
            AsnEntry("73.0.0.0/8", 7922, "Comcast Cable Communications, LLC"),
            AsnEntry("85.79.0.0/16", 64500, "ACME-AS"),
            AsnEntry("85.83.0.0/16", 64504, "Unlisted Business Ab"),
        ],
    )
    city = write_city_mmdb(
        tmp_path / "city.mmdb", [CityEntry("0.0.0.0/0", "FI", "Finland", "Uusimaa", None, "Espoo")]
    )
    zone, provider = Zone(), Provider()
    with dns_server(zone) as server, provider_server(provider) as base:
        identifier = make_identifier(
            identify_settings(
                settings,
                asn_mmdb=asn,
                city_mmdb=city,
                reverse_dns=True,
                dns_servers=[server],
                enrichment_url=f"{base}/{{ip}}",
            )
        )
        try:
            yield Chain(identifier, zone, provider)
        finally:
            identifier.close()


def test_the_first_confident_answer_wins(db: Database, chain: Chain) -> None:
    ranged = add_company(
        db, "Ranged Oy", domain="ranged.fi", ranges=("85.79.1.0/24", "73.1.0.0/16")
    )
    acme = add_company(db, "Acme Oy", domain="acme.fi", keys=("asn:64500",))
    ptr = add_company(db, "Ptr Oy", domain="ptr.fi")
    everywhere = "85.79.1.1"  # Ranged's range, Acme's AS, Ptr's name, a provider answer
    isp_ranged = "73.1.2.3"  # an ISP network, but an imported company range
    isp = "73.9.9.9"  # an ISP network with a company's name in DNS
    asn_only = "85.79.2.2"
    by_name = "85.83.0.5"  # an unclaimed business network, a company's PTR name
    by_provider = "81.50.0.1"
    nothing = "81.50.0.2"
    for ip in (everywhere, isp, asn_only, by_name, by_provider):
        chain.zone.add(ip, "gw.ptr.fi" if ip != by_provider else "host.unknown.example.com")
        chain.provider.answer(ip, {"domain": "hooli.com", "name": "Hooli"})
    ips = [everywhere, isp_ranged, isp, asn_only, by_name, by_provider, nothing]
    found = identify(db, chain.identifier, ips)

    def outcome(ip: str) -> tuple[str | None, str | None, str | None]:
        return found[ip].company_id, found[ip].match_source, found[ip].drop_reason

    assert outcome(everywhere) == (ranged.id, "company_range", None)
    assert outcome(isp_ranged) == (ranged.id, "company_range", None)
    assert outcome(isp) == (None, None, "isp")
    assert outcome(asn_only) == (acme.id, "asn", None)
    assert outcome(by_name) == (ptr.id, "reverse_dns", None)
    assert outcome(by_provider) == (company_id_for("hooli.com"), "enrichment", None)
    assert outcome(nothing) == (None, None, None)
    assert {f.location.city for f in found.values()} == {"Espoo"}
    # Only what earlier resolvers left open was asked further down the chain.
    assert set(chain.zone.asked) == {by_name, by_provider, nothing}
    assert sorted(r["path"][0] for r in chain.provider.requests) == [
        f"/{by_provider}",
        f"/{nothing}",
    ]


def test_one_identifier_serves_threads_and_event_loops(db: Database, chain: Chain) -> None:
    acme = add_company(db, "Acme Oy", domain="acme.fi")
    ips = [f"81.60.{i // 200}.{i % 200 + 1}" for i in range(400)]
    for number, ip in enumerate(ips):
        chain.zone.add(ip, f"desk{number}.acme.fi")

    def batch(part: list[str]) -> dict[str, Identification]:
        return dict(identify(db, chain.identifier, part))

    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(batch, [ips[i::4] for i in range(4)]))
    assert set(chain.zone.asked) == set(ips)
    # A resolver re-sends a query that times out, so on a loaded machine the server may
    # count an address twice; what matters is that the cache answers the next caller.
    asked_by_threads = dict(chain.zone.asked)

    async def from_a_coroutine() -> dict[str, Identification]:
        return batch(ips[:10])  # the pipeline may call from inside its own event loop

    results.append(asyncio.run(from_a_coroutine()))
    merged = {ip: f for part in results for ip, f in part.items()}
    assert {f.company_id for f in merged.values()} == {acme.id}
    assert len(merged) == 400
    assert dict(chain.zone.asked) == asked_by_threads  # the coroutine's batch came from the cache


def test_an_identifier_with_nothing_configured_uses_the_ranges(
    db: Database, settings: Settings
) -> None:
    acme = add_company(db, "Acme Oy", ranges=("81.17.0.0/24",))
    identifier = make_identifier(identify_settings(settings))
    try:
        found = identify(db, identifier, ["81.17.0.1", "81.18.0.1"])
    finally:
        identifier.close()
        identifier.close()  # closing twice is harmless
    assert found["81.17.0.1"].company_id == acme.id
    assert found["81.18.0.1"].company_id is None
