"""Network types from public sources, on both backends: each upstream format imported from
files and downloaded from an HTTP server on 127.0.0.1, bad input refused with nothing
written, conflicts reported, the operator's overrides winning, the classification order, the
in-memory copy the identifier keeps fresh, and unknown networks making no company."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from openfeeder.config import Settings
from openfeeder.domain.clock import FixedClock
from openfeeder.identify import asn as asn_
from openfeeder.identify import make_identifier
from openfeeder.identify import networks as importer
from openfeeder.identify.asn import AsnClassifier, NetworkTypes
from openfeeder.identify.mmdb import AsnEntry, write_asn_mmdb
from openfeeder.identify.ranges import parse_ip
from openfeeder.store import networks as store
from openfeeder.store.db import Database
from tests.support.identify import (
    Upstream,
    add_company,
    identify,
    identify_settings,
    upstream_server,
)

AT = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)

TAG_FILES = {  # bgp.tools' tag-file format: AS number and name, no header
    "vpsh.csv": 'AS64500,"Fjord Servers, Inc."\nAS64501,Acme Oy\n',
    "dsl.csv": "AS64510,Nordic Broadband Oy\n",
    "mobile.csv": "AS64511,Example Cellular\n",
    "corp.csv": "asn,name\nAS64501,Acme Oy\nAS64520,Globex Corporation\n",
    "uni.csv": "AS64530,Helsingin yliopisto\n",
    "gov.csv": "AS64540,Ministry of Things\n",
}
ASNS_CSV = (
    "asn,name,class,cc\n"
    'AS64500,"Fjord Servers, Inc.",Content,NO\n'
    "AS64550,Quiet Name Ltd,Eyeball,FI\n"
)
PEERINGDB = {
    "data": [
        {"asn": 64560, "name": "Transit Oy", "info_type": "NSP", "website": ""},
        {
            "asn": 64520,
            "name": "Globex Corporation",
            "info_type": "Enterprise",
            "website": "https://www.globex.example/",
        },
        {"asn": 64561, "name": "Stream Co", "info_types": ["Content"], "website": "stream.example"},
        # Content gives way to another source's business type (bgp.tools' corp below).
        {"asn": 64562, "name": "Shop Oy", "info_type": "Content"},
        {"asn": 64563, "name": "Research Net", "info_types": ["Educational/Research"]},
        {"asn": 64564, "name": "Route Server", "info_type": "Route Server"},
    ]
}
HOSTING_LIST = "# datacenters\nAS64570 # Rent-a-Rack\n64571\n\n"


def write(directory: Path, files: dict[str, str]) -> list[Path]:
    paths = []
    for name, text in files.items():
        path = directory / name
        path.write_text(text)
        paths.append(path)
    return paths


def import_everything(db: Database, tmp_path: Path) -> None:
    importer.import_files(db, "bgptools-tags", write(tmp_path, TAG_FILES), clock=FixedClock(AT))
    importer.import_files(db, "bgptools-asns", write(tmp_path, {"asns.csv": ASNS_CSV}))
    importer.import_files(db, "peeringdb", write(tmp_path, {"net.json": json.dumps(PEERINGDB)}))
    importer.import_files(
        db, "list", write(tmp_path, {"datacenters.txt": HOSTING_LIST}), kind="hosting"
    )
    with db.write() as conn:  # PeeringDB Content against corp: the keep side wins
        store.replace_source(
            conn,
            "bgptools:corp",
            "test",
            [
                store.NetworkRow(64501, "bgptools:corp", "business", "corp", "Acme Oy"),
                store.NetworkRow(64520, "bgptools:corp", "business", "corp", "Globex"),
                store.NetworkRow(64562, "bgptools:corp", "business", "corp", "Shop Oy"),
            ],
            AT,
        )


def loaded(db: Database) -> AsnClassifier:
    types = NetworkTypes()
    with db.read() as conn:
        assert types.refresh(conn)
    return AsnClassifier.bundled(types)


def test_every_format_imports_and_classifies(db: Database, tmp_path: Path) -> None:
    import_everything(db, tmp_path)
    classifier = loaded(db)
    classify = classifier.classify
    expected = {
        64500: ("hosting", "bgp.tools tags AS64500 vpsh"),
        64510: ("isp", "bgp.tools tags AS64510 dsl"),
        64511: ("mobile", "bgp.tools tags AS64511 mobile"),
        64530: ("education", "bgp.tools tags AS64530 uni"),
        64540: ("government", "bgp.tools tags AS64540 gov"),
        64560: ("isp", "PeeringDB types AS64560 NSP"),
        64561: ("hosting", "PeeringDB types AS64561 Content"),
        64563: ("education", "PeeringDB types AS64563 Educational/Research"),
        64570: ("hosting", "AS64570 is on the hosting list datacenters"),
        64571: ("hosting", "AS64571 is on the hosting list datacenters"),
    }
    for number, (kind, why) in expected.items():
        found = classify(number, "Some Name")
        assert (found.kind, found.why, found.evidence) == (kind, why, True), number
    # Sources that disagree: the never-lead side wins, and the reason names the loser.
    acme = classify(64501, "Acme Oy")
    assert acme.kind == "hosting"
    assert acme.why == "bgp.tools tags AS64501 vpsh, over bgp.tools tags AS64501 corp"
    # … except PeeringDB's Content, which gives way to a business type.
    shop = classify(64562, "Shop Oy")
    assert (shop.kind, shop.why) == (
        "business",
        "bgp.tools tags AS64562 corp, over PeeringDB types AS64562 Content",
    )
    globex = classify(64520, "Globex Corporation")
    assert (globex.kind, globex.domain) == ("business", "globex.example")
    # The websites of never-lead networks, for reverse DNS's list of ISP and hosting domains.
    assert classifier.imported is not None
    assert classifier.imported.never_lead_domains == frozenset({"stream.example"})
    # asns.csv and a PeeringDB type openfeeder does not map name a network without typing it.
    for number in (64550, 64564):
        assert classify(number, "Quiet Name Ltd").kind == "unknown"
    with db.read() as conn:
        rows = {row.source: row for row in store.rows_for(conn, 64500)}
    assert rows["bgptools:asns"].detail == "Content"
    assert rows["bgptools:vpsh"].name == "Fjord Servers, Inc."


def test_an_import_reports_counts_and_conflicts(db: Database, tmp_path: Path) -> None:
    first = importer.import_files(
        db, "bgptools-tags", write(tmp_path, {"vpsh.csv": TAG_FILES["vpsh.csv"]})
    )
    assert (first.sources, first.kinds, first.conflicts) == (
        {"bgptools:vpsh": 2},
        {"hosting": 2},
        0,
    )
    second = importer.import_files(
        db, "bgptools-tags", write(tmp_path, {"corp.csv": TAG_FILES["corp.csv"]})
    )
    assert second.sources == {"bgptools:corp": 2}
    assert second.conflicts == 1
    assert second.conflict_examples == [
        "AS64501: hosting (bgp.tools tags AS64501 vpsh, over bgp.tools tags AS64501 corp)"
    ]
    # Importing a source again replaces its rows: AS64501 left vpsh, the conflict is gone.
    third = importer.import_files(
        db, "bgptools-tags", write(tmp_path, {"vpsh.csv": "AS64500,Fjord\n"})
    )
    assert (third.rows, third.conflicts) == (1, 0)
    assert loaded(db).classify(64501, "Acme Oy").kind == "business"


@pytest.mark.parametrize(
    ("source", "name", "text", "says"),
    [
        ("bgptools-tags", "vpsh.csv", "AS64500,Fine\nnot-an-as,Oops\n", "line 2: 'not-an-as'"),
        ("bgptools-tags", "perso.csv", "AS64500,Fine\n", "'perso' is not a bgp.tools tag"),
        ("bgptools-asns", "asns.csv", "number;name\n1;x\n", "not a bgp.tools asns.csv"),
        ("bgptools-asns", "asns.csv", "asn,name,class,cc\nASX,x,Unknown,FI\n", "line 2"),
        ("peeringdb", "net.json", "{not json", "not JSON"),
        ("peeringdb", "net.json", '{"results": []}', 'no "data" list'),
        ("peeringdb", "net.json", '{"data": [{"asn": "x"}]}', "network object 0"),
        ("list", "hosts.txt", "AS64500\nAS64501 # fine\nhello\n", "line 3: 'hello'"),
        ("list", "hosts.txt", "\xff\xfe", "not UTF-8"),
    ],
)
def test_a_bad_file_is_refused_and_nothing_is_written(
    db: Database, tmp_path: Path, source: str, name: str, text: str, says: str
) -> None:
    good = write(tmp_path, {"good.txt": "AS64999\n"})
    importer.import_files(db, "list", good, kind="hosting")
    path = tmp_path / name
    path.write_bytes(text.encode("latin-1") if "\xff" in text else text.encode())
    # A good file given along with the bad one is not imported either.
    other = write(tmp_path, {"dsl.csv": "AS64510,Fine\n"} if source == "bgptools-tags" else {})
    with pytest.raises(importer.NetworkImportError, match=says):
        importer.import_files(db, source, [*other, path], kind="hosting")  # type: ignore[arg-type]
    with db.read() as conn:
        assert [(row.asn, row.source) for row in store.all_rows(conn)] == [(64999, "list:good")]


def test_a_list_needs_a_kind_and_a_missing_file_is_named(db: Database, tmp_path: Path) -> None:
    with pytest.raises(importer.NetworkImportError, match="--kind"):
        importer.import_files(db, "list", write(tmp_path, {"a.txt": "AS1\n"}))
    with pytest.raises(importer.NetworkImportError, match=r"cannot read .*nope\.txt"):
        importer.import_files(db, "list", [tmp_path / "nope.txt"], kind="hosting")


def test_the_operator_override_wins_over_every_source(db: Database, tmp_path: Path) -> None:
    import_everything(db, tmp_path)
    importer.set_override(db, 64501, "business")  # vpsh and corp disagree; the operator knows
    importer.set_override(db, 7922, "business")  # over the bundled list too
    classify = loaded(db).classify
    assert classify(64501, "Acme Oy")[:3] == (
        "business",
        "the operator set AS64501 to business",
        True,
    )
    assert classify(7922, "Comcast").kind == "business"
    assert importer.unset_override(db, 64501)
    assert not importer.unset_override(db, 64501)
    assert loaded(db).classify(64501, "Acme Oy").kind == "hosting"
    with pytest.raises(importer.NetworkImportError, match="not a network kind"):
        importer.set_override(db, 64501, "unknown")


def test_the_classification_order(db: Database, tmp_path: Path) -> None:
    """override → imported types → bundled list → the database's type → keywords → unknown."""
    classify = AsnClassifier.bundled().classify
    assert classify(7922, "Fjord Cloud Hosting", "business")[:3] == (
        "isp",
        "AS7922 is listed as isp",
        True,
    )
    assert classify(64999, "Fjord Cloud Hosting", "business")[:3] == (
        "business",
        "the ASN database types it business",
        True,
    )
    assert classify(64999, "Fjord Cloud Hosting")[:3] == (
        "hosting",
        "its name contains 'Cloud'",  # the first telling word
        False,
    )
    assert classify(64999, "Quiet Name Ltd")[:3] == ("unknown", "no sign of its type", False)
    # Imported data outranks the bundled list; the override outranks imported data.
    importer.import_files(db, "bgptools-tags", write(tmp_path, {"corp.csv": "AS7922,Comcast\n"}))
    assert loaded(db).classify(7922, "Comcast").why == "bgp.tools tags AS7922 corp"
    importer.set_override(db, 7922, "isp")
    assert loaded(db).classify(7922, "Comcast").why == "the operator set AS7922 to isp"


@pytest.mark.parametrize(
    ("organization", "kind"),
    [
        ("International Telecommunication Union", "government"),
        ("Societe Internationale de Telecommunications Aeronautiques", "business"),  # SITA
        ("Intracom Telecom Solutions S.A.", "business"),
        ("Ministry of Transport and Communications", "government"),
        ("Deutsche Telekom AG", "isp"),  # the telecom words still catch operators
        ("Nordic Telecom Oy", "isp"),
    ],
)
def test_telecom_words_no_longer_block_organisations(organization: str, kind: str) -> None:
    found = AsnClassifier.bundled().classify(None, organization)
    assert (found.kind, found.evidence) == (kind, False)


def test_the_identifier_reloads_the_types_at_most_every_minute(
    db: Database, settings: Settings, tmp_path: Path
) -> None:
    path = write_asn_mmdb(
        tmp_path / "asn.mmdb", [AsnEntry("85.90.0.0/16", 64580, "Quiet Name Ltd")]
    )
    clock = FixedClock(AT)
    identifier = make_identifier(identify_settings(settings, asn_mmdb=path), clock=clock)
    try:
        before = identify(db, identifier, ["85.90.0.1"])["85.90.0.1"]
        assert (before.drop_reason, before.company_id) == (None, None)
        importer.import_files(
            db,
            "list",
            write(tmp_path, {"dc.txt": "AS64580\n"}),
            kind="hosting",
            clock=FixedClock(AT + timedelta(seconds=1)),
        )
        clock.set(AT + timedelta(seconds=30))  # checked half a minute ago: not yet
        assert identify(db, identifier, ["85.90.0.1"])["85.90.0.1"].drop_reason is None
        clock.set(AT + timedelta(seconds=61))
        after = identify(db, identifier, ["85.90.0.1"])["85.90.0.1"]
        assert after.drop_reason == "hosting"
        assert after.match_reason == (
            "85.90.0.1 is in AS64580 (Quiet Name Ltd), a hosting network "
            "(AS64580 is on the hosting list dc)"
        )
    finally:
        identifier.close()


def test_network_types_do_not_reload_an_unchanged_store(db: Database, tmp_path: Path) -> None:
    clock = FixedClock(AT)
    types = NetworkTypes(clock=clock, interval=timedelta(0))
    with db.read() as conn:
        assert not types.refresh(conn)  # nothing imported: nothing to load
    importer.import_files(db, "list", write(tmp_path, {"dc.txt": "AS1\nAS2\n"}), kind="hosting")
    with db.read() as conn:
        assert types.refresh(conn)
        assert not types.refresh(conn)
    assert len(types) == 2
    assert types.get(1) is not None
    assert types.get(3) is None


def test_an_unknown_network_makes_no_company_but_positive_evidence_does(
    db: Database, settings: Settings, tmp_path: Path
) -> None:
    path = write_asn_mmdb(
        tmp_path / "asn.mmdb",
        [
            AsnEntry("85.91.0.0/16", 64590, "Quiet Name Ltd"),
            AsnEntry("85.92.0.0/16", 64591, "Globex Corporation"),
        ],
    )
    importer.import_files(db, "bgptools-tags", write(tmp_path, {"corp.csv": "AS64591,Globex\n"}))
    types = NetworkTypes()
    with db.read() as conn:
        types.refresh(conn)
    database = asn_.AsnDatabase(path, AsnClassifier.bundled(types))
    try:
        quiet = database.lookup(parse_ip("85.91.0.1"))
        globex = database.lookup(parse_ip("85.92.0.1"))
    finally:
        database.close()
    assert quiet is not None
    assert globex is not None
    assert (quiet.kind, quiet.evidence) == ("unknown", False)
    assert (globex.kind, globex.evidence, globex.why) == (
        "business",
        True,
        "bgp.tools tags AS64591 corp",
    )
    # With no company import nothing maps the unknown network to a company.
    with identifier_and(settings, path) as identifier:
        found = identify(db, identifier, ["85.91.0.1"])["85.91.0.1"]
    assert (found.company_id, found.drop_reason) == (None, None)
    # The company import naming the AS does.
    named = add_company(db, "Quiet", keys=("asn:64590",))
    with identifier_and(settings, path) as identifier:
        assert identify(db, identifier, ["85.91.0.1"])["85.91.0.1"].company_id == named.id


@contextlib.contextmanager
def identifier_and(settings: Settings, path: Path) -> Iterator[Any]:
    identifier = make_identifier(identify_settings(settings, asn_mmdb=path))
    try:
        yield identifier
    finally:
        identifier.close()


# --- downloads -------------------------------------------------------------------------------


def download_settings(settings: Settings, base: str) -> Settings:
    return settings.model_copy(
        update={
            "networks_bgptools_asns_url": f"{base}/asns.csv",
            "networks_bgptools_tags_url": f"{base}/tags/{{tag}}.csv",
            "networks_peeringdb_url": f"{base}/api/net",
            "networks_hosting_lists": [f"datacenters={base}/datacenters.txt"],
            "networks_user_agent": "openfeeder-test (ops@example.com)",
            "networks_timeout": 1.0,
        }
    )


def all_files() -> dict[str, tuple[int, bytes, float]]:
    files = {f"/tags/{tag}.csv": (200, b"", 0.0) for tag in importer.BGPTOOLS_TAGS}
    files |= {f"/tags/{name}": (200, text.encode(), 0.0) for name, text in TAG_FILES.items()}
    files["/asns.csv"] = (200, ASNS_CSV.encode(), 0.0)
    files["/api/net"] = (200, json.dumps(PEERINGDB).encode(), 0.0)
    files["/datacenters.txt"] = (200, HOSTING_LIST.encode(), 0.0)
    return files


def test_update_downloads_every_source_with_the_user_agent(
    db: Database, settings: Settings
) -> None:
    upstream = Upstream(all_files())
    with upstream_server(upstream) as base:
        result = importer.update(db, download_settings(settings, base))
    assert result.sources["peeringdb"] == 6
    assert result.sources["bgptools:vpsh"] == 2
    assert result.sources["list:datacenters"] == 2
    assert result.sources["bgptools:asns"] == 2
    assert set(upstream.agents) == {"openfeeder-test (ops@example.com)"}
    assert len(upstream.agents) == len(importer.BGPTOOLS_TAGS) + 3
    assert loaded(db).classify(64570, None).kind == "hosting"


@pytest.mark.parametrize(
    ("change", "says"),
    [
        ({"/api/net": (503, b"busy", 0.0)}, "HTTP 503"),
        ({"/api/net": (200, b"<html>", 0.0)}, "not JSON"),
        ({"/tags/dsl.csv": (200, b"<html>", 0.0)}, "is not an AS number"),
        ({"/asns.csv": (200, b"", 2.0)}, "timed out"),
        ({"/datacenters.txt": (200, b"AS64570\n", -1.0)}, "RemoteProtocolError"),
    ],
)
def test_a_failed_download_imports_nothing(
    db: Database, settings: Settings, change: dict[str, tuple[int, bytes, float]], says: str
) -> None:
    importer.set_override(db, 64500, "business")
    upstream = Upstream(all_files() | change)
    with upstream_server(upstream) as base, pytest.raises(importer.NetworkImportError, match=says):
        importer.update(db, download_settings(settings, base))
    with db.read() as conn:
        assert [row.source for row in store.all_rows(conn)] == ["override"]


def test_keyword_rules_are_lower_case_and_reasons_keep_the_names_case() -> None:
    with pytest.raises(ValueError, match="lower case"):
        AsnClassifier.from_toml("[keywords]\nisp = ['\\bTelecom']\n")
    found = AsnClassifier.from_toml("[keywords]\nisp = ['\\btelecom']\n").classify(
        None, "NORDIC TELECOM OY"
    )
    assert found[:3] == ("isp", "its name contains 'TELECOM'", False)
