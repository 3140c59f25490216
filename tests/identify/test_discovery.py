"""Company discovery in the resolver chain, on both stores: which networks and host names
make a company, the setting that turns it off, the website enrichment's bounds and rules,
and imports meeting discovered companies."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from openfeeder.config import Settings
from openfeeder.domain.models import Company
from openfeeder.identify.companies import import_companies
from openfeeder.identify.discovery import NetworkDomains, apply_facts, readable_name
from openfeeder.identify.mmdb import AsnEntry, write_asn_mmdb
from openfeeder.store import identify as store
from openfeeder.store.db import Database
from tests.support.identify import (
    Page,
    Websites,
    Zone,
    add_company,
    dns_server,
    identifier_for,
    identify,
    website_server,
)

PAGE = (
    '<html><head><script type="application/ld+json">{"@type": "Organization", '
    '"name": "%s", "logo": "https://cdn.example.net/%s.png"}</script></head></html>'
)


@pytest.fixture
def world(tmp_path: Path) -> Iterator[tuple[Zone, Websites, dict[str, Any]]]:
    """A DNS server, a website server and an IPinfo Lite ASN database; yields the settings
    changes that point an identifier at them, with discovery on."""
    asn = write_asn_mmdb(
        tmp_path / "asn.mmdb",
        [
            AsnEntry("45.1.0.0/24", 64601, "GOV-NET", "valtio.fi", "government"),
            AsnEntry("45.2.0.0/24", 64602, "Acme Widgets Oy", "acme.fi"),  # no type: default
            AsnEntry("45.3.0.0/24", 64603, "Helsinki University", None),  # keyword education
            AsnEntry("45.4.0.0/24", 64604, "SOMEONE", "someone.fi", "unknown"),
            AsnEntry("45.5.0.0/24", 64605, "BIZ-NET", "biz.fi", "business"),
            AsnEntry("45.6.0.0/24", 64606, "NODOMAIN", None, "business"),
        ],
        flavour="ipinfo",
    )
    zone, sites = Zone(), Websites()
    with dns_server(zone) as server, website_server(sites) as port:
        yield (
            zone,
            sites,
            {
                "asn_mmdb": asn,
                "reverse_dns": True,
                "dns_servers": [server],
                "discover_companies": True,
                "website_url": f"http://{{domain}}:{port}/",
                "website_allow_loopback": True,
            },
        )


def _companies(db: Database, ids: list[str]) -> dict[str, store.Sourced]:
    with db.read() as conn:
        return store.sourced_companies(conn, ids)


def test_only_organisation_kinds_with_evidence_make_companies(
    settings: Settings, db: Database, world: tuple[Zone, Websites, dict[str, Any]]
) -> None:
    _zone, sites, changes = world
    ips = ["45.1.0.1", "45.2.0.1", "45.3.0.1", "45.4.0.1", "45.6.0.1"]
    with identifier_for(settings, **changes | {"website_enrichment": False}) as identifier:
        found = identify(db, identifier, ips)
    assert found["45.1.0.1"].match_reason == (
        "45.1.0.1 is in AS64601 (GOV-NET), a government network (the ASN database types it "
        "government); company discovered from the network"
    )
    # The default, a keyword and "unknown" are no evidence of an organisation.
    for ip in ("45.2.0.1", "45.3.0.1", "45.4.0.1"):
        assert found[ip].company_id is None, ip
    nodomain = found["45.6.0.1"]
    assert nodomain.company_id is not None
    company = _companies(db, [nodomain.company_id])[nodomain.company_id]
    assert (company.company.name, company.company.domain) == ("NODOMAIN", None)
    assert company.sources == {"name": "network", "discovered": "network"}
    assert sites.asked == []  # website enrichment off


def test_discovery_off_makes_no_company(
    settings: Settings, db: Database, world: tuple[Zone, Websites, dict[str, Any]]
) -> None:
    zone, sites, changes = world
    zone.add("45.9.0.1", "www.static-company.fi")
    with identifier_for(settings, **changes | {"discover_companies": False}) as identifier:
        found = identify(db, identifier, ["45.1.0.1", "45.9.0.1"])
    assert [f.company_id for f in found.values()] == [None, None]
    assert sites.asked == []


def test_host_names_of_pools_and_network_operators_make_no_company(
    settings: Settings, db: Database, world: tuple[Zone, Websites, dict[str, Any]]
) -> None:
    zone, _sites, changes = world
    names = {
        "45.9.0.1": "45-9-0-1.dyn.kaisanet.fi",
        "45.9.0.2": "adsl-2.someisp.fi",
        "45.9.0.3": "ae1.core.telia.net",
        "45.9.0.4": "ec2-45-9-0-4.compute-1.amazonaws.com",
        "45.9.0.5": "gw.nordic-telecom.fi",  # the keyword rules know telecom operators
        "45.9.0.6": "vpn.acme-consulting.fi",
    }
    for ip, name in names.items():
        zone.add(ip, name)
    with identifier_for(settings, **changes | {"website_enrichment": False}) as identifier:
        found = identify(db, identifier, list(names))
    assert {ip for ip, f in found.items() if f.company_id} == {"45.9.0.6"}
    company = _companies(db, [found["45.9.0.6"].company_id or ""])
    assert [c.company.name for c in company.values()] == ["Acme Consulting"]


def test_a_website_that_errors_leaves_the_company_as_it_is_and_is_asked_again_later(
    settings: Settings, db: Database, world: tuple[Zone, Websites, dict[str, Any]]
) -> None:
    zone, sites, changes = world
    zone.add("45.9.0.1", "mail.broken-site.fi")
    zone.host("broken-site.fi", "127.0.0.1")
    sites.pages[("broken-site.fi", "/")] = Page(b"oops", status=500)
    with identifier_for(settings, **changes) as identifier:
        first = identify(db, identifier, ["45.9.0.1"])
        again = identify(db, identifier, ["45.9.0.1"])  # the failure is cached
    assert first["45.9.0.1"].company_id == again["45.9.0.1"].company_id
    company = _companies(db, [first["45.9.0.1"].company_id or ""])
    assert [c.company.name for c in company.values()] == ["Broken Site"]
    assert sites.asked == [("broken-site.fi", "/")]
    with db.read() as conn:
        cached = store.website_cache_get(conn, {"broken-site.fi"}, datetime.now(UTC))
    expected = changes["website_url"].replace("{domain}", "broken-site.fi") + " answered HTTP 500"
    assert cached["broken-site.fi"] == {"status": "refused", "detail": expected}


def test_websites_read_per_batch_are_bounded(
    settings: Settings, db: Database, world: tuple[Zone, Websites, dict[str, Any]]
) -> None:
    zone, sites, changes = world
    for n in range(1, 4):
        zone.add(f"45.9.0.{n}", f"www.company{n}.fi")
        zone.host(f"company{n}.fi", "127.0.0.1")
        sites.add(f"company{n}.fi", PAGE % (f"Company {n} Oy", n))
    ips = ["45.9.0.1", "45.9.0.2", "45.9.0.3"]
    with identifier_for(settings, **changes | {"websites_per_batch": 2}) as identifier:
        identify(db, identifier, ips)
        assert len(sites.asked) == 2
        found = identify(db, identifier, ips)  # the next batch reads the third
    assert sorted(sites.asked) == [(f"company{n}.fi", "/") for n in range(1, 4)]
    names = _companies(db, [f.company_id or "" for f in found.values()])
    assert sorted(c.company.name for c in names.values()) == [
        "Company 1 Oy",
        "Company 2 Oy",
        "Company 3 Oy",
    ]


def test_an_import_meets_a_network_discovered_company_by_its_as_number(
    settings: Settings, db: Database, world: tuple[Zone, Websites, dict[str, Any]], tmp_path: Path
) -> None:
    _zone, _sites, changes = world
    with identifier_for(settings, **changes | {"website_enrichment": False}) as identifier:
        before = identify(db, identifier, ["45.6.0.1"])["45.6.0.1"].company_id
        rows = tmp_path / "companies.jsonl"
        row = {"name": "No Domain Oy", "domain": "nodomain.fi", "asns": [64606]}
        rows.write_text(json.dumps(row) + "\n", encoding="utf-8")
        result = import_companies(db, rows)
        after = identify(db, identifier, ["45.6.0.1"])["45.6.0.1"]
    assert (result.created, result.updated) == (0, 1)
    assert after.company_id == before
    assert after.match_reason == (
        "45.6.0.1 is in AS64606 (NODOMAIN), an organisation's network (the ASN database types "
        "it business); company discovered from the network"
    )
    company = _companies(db, [before or ""])[before or ""]
    assert (company.company.name, company.sources["name"]) == ("No Domain Oy", "import")


def test_a_discovered_domain_that_is_already_a_company_is_matched_not_made_again(
    settings: Settings, db: Database, world: tuple[Zone, Websites, dict[str, Any]]
) -> None:
    _zone, _sites, changes = world
    known = add_company(db, "Biz Group", domain="biz.fi")
    with identifier_for(settings, **changes | {"website_enrichment": False}) as identifier:
        found = identify(db, identifier, ["45.5.0.1"])["45.5.0.1"]
    assert found.company_id == known.id
    assert "discovered" not in (found.match_reason or "")


def test_the_website_never_overwrites_imported_fields() -> None:
    row = store.Sourced(
        Company(id="c", name="Acme Oy", domain="acme.fi", phone=None, logo_url="https://a/l.png"),
        {"name": "import", "logo_url": "website", "discovered": "reverse_dns"},
        {"country": "FI"},
    )
    facts = {
        "name": "ACME",
        "logo_url": "https://a/new.png",
        "phone": "+358 1",
        "country": "SE",
        "description": "Widgets.",
    }
    new = apply_facts(row, facts)
    assert new is not None
    assert (new.company.name, new.company.logo_url, new.company.phone) == (
        "Acme Oy",
        "https://a/new.png",
        "+358 1",
    )
    # The country was there before sources were recorded: kept; the description is new.
    assert new.profile == {"country": "FI", "description": "Widgets."}
    assert new.sources["phone"] == "website"
    assert new.sources["name"] == "import"
    assert apply_facts(new, facts) is None  # nothing changes twice


def test_network_operator_domains() -> None:
    domains = NetworkDomains.bundled()
    assert "comcast.net" in domains
    assert "amazonaws.com" in domains
    assert "acme.fi" not in domains
    assert domains.sign("kaisa-hosting.fi") is not None  # a keyword rule
    domains.extend(["www.new-isp.fi"])
    assert "new-isp.fi" in domains


@pytest.mark.parametrize(
    ("domain", "name"),
    [("acme.fi", "Acme"), ("nordic-widgets.co.uk", "Nordic Widgets"), ("a_b--c.com", "A B C")],
)
def test_a_readable_name_from_a_domain(domain: str, name: str) -> None:
    assert readable_name(domain) == name
