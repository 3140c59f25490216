"""The ASN resolver with real MMDB files written by the test (GeoLite2, DB-IP and IPinfo Lite
layouts): ISP, mobile and hosting networks are dropped and never become leads, even when a
company claims them; education and business networks map to a company by an AS number of
the company import, the network's domain or the organisation's name."""

from __future__ import annotations

from pathlib import Path

import pytest

from openfeeder.config import Settings
from openfeeder.domain.errors import OpenfeederError
from openfeeder.identify import make_identifier
from openfeeder.identify.asn import AsnClassifier, organization_key, parse_asn
from openfeeder.identify.mmdb import AsnEntry, Flavour, write_asn_mmdb
from openfeeder.store.db import Database
from tests.support.identify import Zone, add_company, dns_server, identifier_for, identify

NETWORKS = [
    AsnEntry("73.0.0.0/8", 7922, "Comcast Cable Communications, LLC"),  # listed isp
    AsnEntry("172.56.0.0/16", 21928, "T-Mobile USA, Inc."),  # listed mobile
    AsnEntry("2600:1f00::/24", 16509, "Amazon.com, Inc."),  # listed hosting
    AsnEntry("52.0.0.0/11", 16509, "Amazon.com, Inc."),
    AsnEntry("85.76.0.0/16", 64600, "Nordic Broadband Oy"),  # isp by name
    AsnEntry("85.77.0.0/16", 64601, "Example Wireless Ltd"),  # mobile by name
    AsnEntry("85.78.0.0/16", 64602, "Fjord Cloud Hosting AS"),  # hosting by name
    AsnEntry("85.79.0.0/16", 64500, "ACME-AS", domain="acme.fi"),
    AsnEntry("85.80.0.0/16", 64501, "Globex Corporation"),
    AsnEntry("85.81.0.0/16", 64502, "Initech Networks", domain="initech.fi"),
    AsnEntry("85.82.0.0/16", 64503, "Aalto-korkeakoulusäätiö / Aalto University"),
    AsnEntry("85.83.0.0/16", 64504, "Unlisted Business Ab"),
]


@pytest.fixture
def asn_mmdb(tmp_path: Path) -> Path:
    return write_asn_mmdb(tmp_path / "asn.mmdb", NETWORKS)


NEVER_LEADS = [  # (IP, drop reason, part of the reason in words)
    ("73.12.34.56", "isp", "AS7922 (Comcast Cable Communications, LLC), an ISP network"),
    ("172.56.1.1", "mobile", "AS21928 is listed as mobile"),
    ("2600:1f00::1", "hosting", "AS16509 is listed as hosting"),
    ("52.1.2.3", "hosting", "AS16509 is listed as hosting"),
    ("85.76.1.1", "isp", "its name contains 'Broadband'"),
    ("85.77.1.1", "mobile", "its name contains 'Wireless'"),
    ("85.78.1.1", "hosting", "a hosting network (its name contains 'Cloud')"),
]


def test_isp_mobile_and_hosting_networks_never_become_leads(
    db: Database, settings: Settings, asn_mmdb: Path
) -> None:
    # Companies that claim these networks every way they could, and PTR names of theirs.
    add_company(db, "Comcast", domain="comcast.com", keys=("asn:7922", "org:comcast cable"))
    add_company(db, "Amazon", domain="amazon.com", keys=("asn:16509", "org:amazon com"))
    add_company(db, "Nordic Broadband", domain="nordic.fi", keys=("asn:64600",))
    zone = Zone()
    for ip, _reason, _why in NEVER_LEADS:
        zone.add(ip, "office.comcast.com")
    with (
        dns_server(zone) as server,
        identifier_for(
            settings, asn_mmdb=asn_mmdb, reverse_dns=True, dns_servers=[server]
        ) as identifier,
    ):
        found = identify(db, identifier, [ip for ip, _reason, _why in NEVER_LEADS])
    for ip, reason, why in NEVER_LEADS:
        outcome = found[ip]
        assert (outcome.company_id, outcome.match_source, outcome.drop_reason) == (
            None,
            None,
            reason,
        ), ip
        assert outcome.match_reason is not None
        assert outcome.match_reason.startswith(f"{ip} is in AS")
        assert why in outcome.match_reason
    assert not zone.asked  # dropped before reverse DNS


def test_business_networks_map_to_companies(
    db: Database, settings: Settings, tmp_path: Path
) -> None:
    """By the company import's AS number, by the network's domain (IPinfo layout), by name."""
    acme = add_company(db, "Acme Oy", domain="acme.fi", keys=("asn:64500",))
    globex = add_company(db, "Globex Corp", domain="globex.com", keys=("org:globex",))
    initech = add_company(db, "Initech Oy", domain="initech.fi")
    aalto = add_company(db, "Aalto University", keys=("asn:64503",))
    path = write_asn_mmdb(tmp_path / "ipinfo.mmdb", NETWORKS, flavour="ipinfo")
    with identifier_for(settings, asn_mmdb=path) as identifier:
        found = identify(db, identifier, ["85.79.0.1", "85.80.0.1", "85.81.0.1", "85.82.0.1"])
    assert found["85.79.0.1"].company_id == acme.id
    assert found["85.79.0.1"].match_source == "asn"
    assert (
        found["85.79.0.1"].match_reason
        == "85.79.0.1 is in AS64500 (ACME-AS), an AS number of Acme Oy"
    )
    assert found["85.80.0.1"].company_id == globex.id
    assert found["85.80.0.1"].match_reason == (
        "85.80.0.1 is in AS64501 (Globex Corporation), whose name is Globex Corp's"
    )
    assert found["85.81.0.1"].company_id == initech.id
    assert found["85.81.0.1"].match_reason == (
        "85.81.0.1 is in AS64502 (Initech Networks), whose domain initech.fi is Initech Oy's"
    )
    assert found["85.82.0.1"].company_id == aalto.id  # an education network


@pytest.mark.parametrize("flavour", ["geolite2", "dbip", "ipinfo"])
def test_every_database_layout_is_read(
    db: Database, settings: Settings, tmp_path: Path, flavour: Flavour
) -> None:
    path = write_asn_mmdb(tmp_path / f"{flavour}.mmdb", NETWORKS, flavour=flavour)
    acme = add_company(db, "Acme Oy", domain="acme.fi", keys=("asn:64500",))
    with identifier_for(settings, asn_mmdb=path) as identifier:
        found = identify(db, identifier, ["85.79.3.3", "73.1.1.1", "85.83.0.1", "9.9.9.9"])
    assert found["85.79.3.3"].company_id == acme.id
    assert found["73.1.1.1"].drop_reason == "isp"
    # A business network nobody claims, and an address the database does not know: nothing.
    for ip in ("85.83.0.1", "9.9.9.9"):
        assert (found[ip].company_id, found[ip].drop_reason) == (None, None)


def test_the_databases_own_type_counts(db: Database, settings: Settings, tmp_path: Path) -> None:
    path = write_asn_mmdb(
        tmp_path / "typed.mmdb",
        [
            AsnEntry("91.1.0.0/16", 64700, "Quiet Name Ltd", type="hosting"),
            AsnEntry("91.2.0.0/16", 64701, "Vertex Telecom Systems", type="business"),
            AsnEntry("91.3.0.0/16", 7922, "Comcast", type="business"),  # our list wins
        ],
        flavour="ipinfo",
    )
    vertex = add_company(db, "Vertex Telecom Systems", keys=("asn:64701",))
    with identifier_for(settings, asn_mmdb=path) as identifier:
        found = identify(db, identifier, ["91.1.0.1", "91.2.0.1", "91.3.0.1"])
    assert found["91.1.0.1"].drop_reason == "hosting"
    assert "the ASN database types it hosting" in (found["91.1.0.1"].match_reason or "")
    assert found["91.2.0.1"].company_id == vertex.id  # "Telecom" in the name, but business
    assert found["91.3.0.1"].drop_reason == "isp"


@pytest.mark.parametrize(
    ("organization", "kind"),
    [
        ("University Telecom Services", "education"),  # education is tried first
        ("Helsingin yliopisto", "education"),
        ("Vodafone Mobile Services", "mobile"),
        ("Hetzner Online GmbH", "hosting"),
        ("DigitalOcean, LLC", "hosting"),
        ("Deutsche Telekom AG", "isp"),
        ("Charter Communications Inc", "isp"),
        ("Nokia Oyj", "unknown"),  # no sign either way: not a never-lead class
        ("Poolcorp Holdings", "unknown"),  # no keyword inside a longer word
        ("Finnish Transport and Communications Agency", "government"),
        (None, "unknown"),
    ],
)
def test_organisation_names_classify(organization: str | None, kind: str) -> None:
    assert AsnClassifier.bundled().classify(None, organization)[0] == kind


def test_the_bundled_list_classifies_well_known_networks() -> None:
    classify = AsnClassifier.bundled().classify
    assert classify(16509, "whatever")[0] == "hosting"
    assert classify(7922, "whatever")[0] == "isp"
    assert classify(21928, "whatever")[0] == "mobile"
    assert classify(1741, "whatever")[0] == "education"


def test_names_and_numbers_compare_loosely() -> None:
    assert organization_key("Acme Oy") == organization_key("ACME-OY") == "acme"
    assert organization_key("Globex Corporation") == organization_key("Globex Corp.") == "globex"
    assert organization_key("Müller & Söhne GmbH") == "muller and sohne"
    assert organization_key("Oy") is None
    assert [parse_asn(v) for v in (64500, "64500", "AS64500", "as64500", " AS1 ")] == [
        64500,
        64500,
        64500,
        64500,
        1,
    ]
    assert [parse_asn(v) for v in (0, -1, "ASX", True, 2**32, None)] == [None] * 6


def test_a_missing_database_is_a_clear_error(settings: Settings, tmp_path: Path) -> None:
    with pytest.raises(OpenfeederError, match="cannot open the ASN database"):
        make_identifier(settings.model_copy(update={"asn_mmdb": tmp_path / "nope.mmdb"}))
    (tmp_path / "bad.mmdb").write_bytes(b"not an mmdb file")
    with pytest.raises(OpenfeederError, match="cannot open the ASN database"):
        make_identifier(settings.model_copy(update={"asn_mmdb": tmp_path / "bad.mmdb"}))
