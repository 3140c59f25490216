"""``identify.databases`` and ``identify.reloading`` against a real HTTP server on 127.0.0.1
serving MMDB files written here: each provider's download succeeds and the new data is what
lookups see; every failure (HTTP error, timeout, a body cut off, a corrupt or truncated file,
a wrong checksum, a database of the wrong type) leaves the installed files as they were and
says why in one line; running identifiers and pipelines switch to a replaced file while they
work, with no error in between."""

from __future__ import annotations

import base64
import gzip
import hashlib
import logging
import os
import threading
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from openfeeder.config import Settings
from openfeeder.identify import databases, make_identifier, reloading
from openfeeder.identify.databases import UpdateError
from openfeeder.identify.ranges import parse_ip
from openfeeder.ingest.append import Ingestor
from openfeeder.pipeline import make_pipeline
from openfeeder.services import geoip
from openfeeder.store import schema as t
from openfeeder.store.db import Database
from tests.support.downloads import (
    PROBE,
    FileServer,
    asn_database,
    city_database,
    file_server,
    gzipped,
    tar_gzipped,
)
from tests.support.factories import Builder
from tests.support.identify import add_company, identify
from tests.support.pipeline import Browser

TODAY = date(2026, 12, 2)
ASN_NOW = "/dbip-asn-lite-2026-12.mmdb.gz"
CITY_NOW = "/dbip-city-lite-2026-12.mmdb.gz"
CITY_BEFORE = "/dbip-city-lite-2026-11.mmdb.gz"
TOKEN = "ipinfo-secret-token-123"
LICENCE = "maxmind-secret-licence-key"


@pytest.fixture
def files() -> Iterator[FileServer]:
    with file_server() as server:
        yield server


def geo_settings(tmp_path: Path, files: FileServer, **changes: object) -> Settings:
    base: dict[str, object] = {
        "database_url": f"sqlite:///{tmp_path / 'unused.db'}",
        "data_dir": tmp_path / "data",
        "geoip_base_url": files.url,
        "geoip_timeout": 1.0,
        "geoip_update_interval": 0.0,
    }
    return Settings(**(base | changes))  # type: ignore[arg-type]


def probe(settings: Settings) -> tuple[str | None, str | None]:
    """What the installed files say about PROBE: its AS organisation and its city."""
    address = parse_ip(PROBE)
    assert address is not None
    asn = reloading.open_asn(settings)
    city = reloading.open_city(settings)
    try:
        record = asn.lookup(address)
        return (record.organization if record else None, city.locate(address).city)
    finally:
        asn.close()
        city.close()


def serve_dbip(files: FileServer, tmp_path: Path, version: str) -> None:
    """DB-IP's two files for this month: PROBE in "<version> Broadband", "<version>ville"."""
    asn = asn_database(tmp_path / f"asn-{version}.mmdb", f"{version} Broadband")
    city = city_database(tmp_path / f"city-{version}.mmdb", f"{version}ville")
    files.serve(ASN_NOW, gzipped(asn))
    files.serve(CITY_NOW, gzipped(city))


def installed(settings: Settings) -> dict[str, bytes]:
    directory = databases.geoip_dir(settings)
    return {p.name: p.read_bytes() for p in directory.iterdir() if p.name != ".update.lock"}


@pytest.fixture
def old_install(tmp_path: Path, files: FileServer) -> Settings:
    """DB-IP files of version "Old" installed by a first update."""
    settings = geo_settings(tmp_path, files)
    serve_dbip(files, tmp_path, "Old")
    databases.update(settings, today=TODAY)
    assert probe(settings) == ("Old Broadband", "Oldville")
    return settings


# ── success ──


def test_dbip_update_installs_both_files_and_lookups_see_them(
    tmp_path: Path, files: FileServer
) -> None:
    settings = geo_settings(tmp_path, files)
    serve_dbip(files, tmp_path, "New")
    progress: list[tuple[str, int, int | None]] = []

    done = databases.update(settings, today=TODAY, progress=lambda *a: progress.append(a))

    assert [(i.label, i.kind, i.path.name) for i in done] == [
        ("DB-IP ASN Lite", "asn", "dbip-asn-lite.mmdb"),
        ("DB-IP City Lite", "city", "dbip-city-lite.mmdb"),
    ]
    assert {i.database_type for i in done} == {
        "DBIP-ASN-Lite (compat=GeoLite2-ASN)",
        "DBIP-City-Lite (compat=City)",
    }
    assert probe(settings) == ("New Broadband", "Newville")
    assert sorted(installed(settings)) == ["dbip-asn-lite.mmdb", "dbip-city-lite.mmdb"]
    assert files.paths() == [ASN_NOW, CITY_NOW]
    agents = {r["headers"]["User-Agent"] for r in files.requests}
    assert len(agents) == 1
    assert agents.pop().startswith("openfeeder/")
    assert progress[-1][1] == progress[-1][2]  # the bar reaches the end of the last file


def test_dbip_takes_last_month_when_this_month_is_not_out(
    tmp_path: Path, files: FileServer
) -> None:
    settings = geo_settings(tmp_path, files)
    serve_dbip(files, tmp_path, "New")
    files.routes[CITY_BEFORE] = files.routes.pop(CITY_NOW)

    databases.update(settings, today=TODAY)

    assert probe(settings) == ("New Broadband", "Newville")
    assert files.paths() == [ASN_NOW, CITY_NOW, CITY_BEFORE]


def test_january_falls_back_to_december(tmp_path: Path, files: FileServer) -> None:
    settings = geo_settings(tmp_path, files)
    urls = databases.sources(settings, date(2027, 1, 3))[1].urls
    assert [u.removeprefix(files.url) for u in urls] == [
        "/dbip-city-lite-2027-01.mmdb.gz",
        "/dbip-city-lite-2026-12.mmdb.gz",
    ]


def test_geolite2_downloads_tar_gz_with_basic_auth_and_checks_the_sha256(
    tmp_path: Path, files: FileServer
) -> None:
    settings = geo_settings(
        tmp_path,
        files,
        geoip_provider="geolite2",
        maxmind_account_id="123456",
        maxmind_license_key=LICENCE,
    )
    auth = "Basic " + base64.b64encode(f"123456:{LICENCE}".encode()).decode()
    for kind, edition, write in (
        ("asn", "GeoLite2-ASN", asn_database),
        ("city", "GeoLite2-City", city_database),
    ):
        database = write(tmp_path / f"{edition}.mmdb", f"Max {kind}", "geolite2")
        archive = tar_gzipped(database, f"{edition}_20261201")
        # The permalink answers with a redirect to the file's storage, as MaxMind's does.
        files.serve(
            f"/{edition}/download",
            b"",
            mode="redirect",
            location=f"{files.url}/storage/{edition}.tar.gz",
            auth=auth,
        )
        files.serve(f"/storage/{edition}.tar.gz", archive)
        digest = hashlib.sha256(archive).hexdigest()
        files.serve(
            f"/{edition}/download?suffix=tar.gz.sha256",
            f"{digest}  {edition}_20261201.tar.gz\n".encode(),
            auth=auth,
        )

    done = databases.update(settings)

    assert [(i.kind, i.path.name, i.database_type) for i in done] == [
        ("asn", "GeoLite2-ASN.mmdb", "GeoLite2-ASN"),
        ("city", "GeoLite2-City.mmdb", "GeoLite2-City"),
    ]
    assert probe(settings) == ("Max asn", "Max city")
    permalinks = [r for r in files.requests if r["path"].endswith("/download")]
    assert {r["query"] for r in permalinks} == {"suffix=tar.gz", "suffix=tar.gz.sha256"}
    assert all(r["headers"].get("Authorization") == auth for r in permalinks)


def test_ipinfo_lite_is_one_file_for_both_kinds_and_the_token_stays_secret(
    tmp_path: Path, files: FileServer
) -> None:
    settings = geo_settings(tmp_path, files, geoip_provider="ipinfo", ipinfo_token=TOKEN)
    # IPinfo Lite carries the country beside the AS in one record, which the writers of
    # ``identify.mmdb`` (one kind per file) do not make: this one is written here.
    lite = _ipinfo_lite(tmp_path / "lite.mmdb")
    files.serve("/ipinfo_lite.mmdb", lite.read_bytes())

    done = databases.update(settings)

    assert [(i.kind, i.path.name) for i in done] == [
        ("asn", "ipinfo_lite.mmdb"),
        ("city", "ipinfo_lite.mmdb"),
    ]
    assert probe(settings) == ("Info Broadband", None)  # IPinfo Lite has countries, no cities
    assert files.requests[0]["query"] == f"token={TOKEN}"

    files.fail("/ipinfo_lite.mmdb", 403)
    with pytest.raises(UpdateError) as failure:
        databases.update(settings, force=True)
    assert str(failure.value).startswith("IPinfo Lite: HTTP 403 from http://127.0.0.1:")
    assert TOKEN not in str(failure.value)


def _ipinfo_lite(path: Path) -> Path:
    """An IPinfo Lite database: one record per network with AS and country fields."""
    from mmdb_writer import MMDBWriter
    from netaddr import IPSet

    writer = MMDBWriter(ip_version=6, ipv4_compatible=True, database_type="ipinfo lite.mmdb")
    for network, number, name, country in (
        ("8.8.8.0/24", 15169, "Google LLC", "US"),
        ("1.1.1.0/24", 13335, "Cloudflare, Inc.", "AU"),
        ("198.51.100.0/24", 64500, "Info Broadband", "FI"),
    ):
        record = {"asn": f"AS{number}", "as_name": name, "country_code": country}
        writer.insert_network(IPSet([network]), record)
    writer.to_db_file(str(path))
    return path


def test_missing_keys_are_one_line_each(tmp_path: Path, files: FileServer) -> None:
    with pytest.raises(UpdateError, match="needs OPENFEEDER_IPINFO_TOKEN"):
        databases.update(geo_settings(tmp_path, files, geoip_provider="ipinfo"))
    with pytest.raises(UpdateError, match="needs OPENFEEDER_MAXMIND_ACCOUNT_ID and"):
        databases.update(
            geo_settings(tmp_path, files, geoip_provider="geolite2", maxmind_account_id="1")
        )
    assert files.requests == []


def test_an_unchanged_file_is_not_downloaded_again(
    old_install: Settings, files: FileServer
) -> None:
    before = installed(old_install)
    # The provider's files are older than the installed ones: it answers 304.
    for path in (ASN_NOW, CITY_NOW):
        files.routes[path].last_modified = datetime.now(UTC) - timedelta(days=3)
    asn_file = databases.database_path(old_install, "asn")
    os.utime(asn_file, (time.time() - 86_400, time.time() - 86_400))
    files.requests.clear()

    done = databases.update(old_install, today=TODAY)

    assert [i.unchanged for i in done] == [True, True]
    assert all("If-Modified-Since" in r["headers"] for r in files.requests)
    assert installed(old_install) == before
    assert time.time() - asn_file.stat().st_mtime < 60  # checked now: due a full interval later
    forced = databases.update(old_install, today=TODAY, force=True)
    assert [i.unchanged for i in forced] == [False, False]


# ── failures: the old files stay, one line says why ──


def _truncated_gzip(path: Path) -> bytes:
    data = gzipped(path)
    return data[: len(data) // 2]


def _corrupt_mmdb(path: Path) -> bytes:
    return gzip.compress(b"\x00" * 4096 + path.read_bytes()[:1000])


FAILURES = {
    "http 404": (lambda f, tmp: (f.fail(CITY_NOW, 404), f.fail(CITY_BEFORE, 404)), "HTTP 404"),
    "http 500": (lambda f, tmp: f.fail(CITY_NOW, 500), "DB-IP City Lite: HTTP 500 from"),
    "timeout": (lambda f, tmp: setattr(f.routes[CITY_NOW], "mode", "hang"), "timed out"),
    "cut mid-body": (
        lambda f, tmp: setattr(f.routes[CITY_NOW], "mode", "cut"),
        "download interrupted",
    ),
    "truncated archive": (
        lambda f, tmp: f.serve(CITY_NOW, _truncated_gzip(city_database(tmp / "t.mmdb", "X"))),
        "corrupt or truncated archive",
    ),
    "not gzip inside": (
        lambda f, tmp: f.serve(CITY_NOW, b"\x1f\x8bnot really gzip"),
        "corrupt or truncated archive",
    ),
    "corrupt database": (
        lambda f, tmp: f.serve(CITY_NOW, _corrupt_mmdb(city_database(tmp / "c.mmdb", "X"))),
        "not a readable MMDB database",
    ),
    "wrong database type": (
        lambda f, tmp: f.serve(CITY_NOW, gzipped(asn_database(tmp / "w.mmdb", "X"))),
        "database type 'DBIP-ASN-Lite (compat=GeoLite2-ASN)' is not a dbip city database",
    ),
    "another provider's": (
        lambda f, tmp: f.serve(CITY_NOW, gzipped(city_database(tmp / "g.mmdb", "X", "geolite2"))),
        "database type 'GeoLite2-City' is not a dbip city database",
    ),
}


@pytest.mark.parametrize("failure", FAILURES, ids=list(FAILURES))
def test_a_failed_update_replaces_nothing(
    failure: str, old_install: Settings, files: FileServer, tmp_path: Path
) -> None:
    before = installed(old_install)
    serve_dbip(files, tmp_path, "New")  # the ASN file would be fine: it is not installed either
    arrange, message = FAILURES[failure]
    arrange(files, tmp_path)

    with pytest.raises(UpdateError) as error:
        databases.update(old_install, today=TODAY, force=True)

    assert message in str(error.value)
    assert "\n" not in str(error.value)
    assert installed(old_install) == before  # and no temporary file is left behind
    assert probe(old_install) == ("Old Broadband", "Oldville")


def test_a_wrong_checksum_replaces_nothing(tmp_path: Path, files: FileServer) -> None:
    settings = geo_settings(
        tmp_path,
        files,
        geoip_provider="geolite2",
        maxmind_account_id="1",
        maxmind_license_key=LICENCE,
    )
    for edition, write in (("GeoLite2-ASN", asn_database), ("GeoLite2-City", city_database)):
        archive = tar_gzipped(write(tmp_path / f"{edition}.mmdb", "Max", "geolite2"))
        files.serve(f"/{edition}/download", archive)
        wrong = hashlib.sha256(archive + b"x").hexdigest()
        files.serve(f"/{edition}/download?suffix=tar.gz.sha256", f"{wrong}  x.tar.gz".encode())

    with pytest.raises(UpdateError, match=r"^GeoLite2-ASN: checksum mismatch for http://"):
        databases.update(settings)
    assert installed(settings) == {}

    files.serve("/GeoLite2-ASN/download?suffix=tar.gz.sha256", b"<html>not a checksum</html>")
    with pytest.raises(UpdateError, match="no SHA-256 checksum in"):
        databases.update(settings)


def test_a_database_missing_well_known_addresses_or_built_in_the_future_is_refused(
    tmp_path: Path,
) -> None:
    from openfeeder.identify.mmdb import AsnEntry, write_asn_mmdb

    empty = write_asn_mmdb(tmp_path / "e.mmdb", [AsnEntry("198.51.100.0/24", 1, "X")], "dbip")
    with pytest.raises(UpdateError, match=r"8\.8\.8\.8 has no asn record in it"):
        databases.verify(empty, "dbip", "asn")
    full = asn_database(tmp_path / "f.mmdb", "X")
    assert databases.verify(full, "dbip", "asn").database_type.startswith("DBIP-ASN")
    with pytest.raises(UpdateError, match="implausible build date"):
        databases.verify(full, "dbip", "asn", now=datetime(2020, 1, 1, tzinfo=UTC))


def test_one_update_at_a_time(old_install: Settings) -> None:
    busy = pytest.raises(UpdateError, match="another IP database update is running")
    with databases.update_lock(old_install), busy:
        databases.update(old_install, today=TODAY)


# ── installing a local file ──


@pytest.mark.parametrize("packing", ["plain", "gz", "tar.gz"])
def test_from_file_installs_a_local_file(
    packing: str, old_install: Settings, tmp_path: Path
) -> None:
    database = city_database(tmp_path / "dbip-city-lite.mmdb", "Localville")
    local = tmp_path / f"upload.{packing}"
    packed = {"plain": database.read_bytes(), "gz": gzipped(database), "tar.gz": None}[packing]
    local.write_bytes(packed if packed is not None else tar_gzipped(database))

    done = databases.install_file(old_install, local)

    assert [(i.kind, i.path.name) for i in done] == [("city", "dbip-city-lite.mmdb")]
    assert probe(old_install) == ("Old Broadband", "Localville")


def test_from_file_refuses_what_is_no_database_of_the_provider(
    old_install: Settings, tmp_path: Path
) -> None:
    before = installed(old_install)
    other = city_database(tmp_path / "GeoLite2-City.mmdb", "X", "geolite2")
    with pytest.raises(UpdateError, match=r"GeoLite2-City\.mmdb is no dbip ASN or City database"):
        databases.install_file(old_install, other)
    junk = tmp_path / "junk.mmdb"
    junk.write_bytes(b"junk")
    with pytest.raises(UpdateError, match="not a readable MMDB database"):
        databases.install_file(old_install, junk)
    with pytest.raises(UpdateError, match="is not a file"):
        databases.install_file(old_install, tmp_path / "missing.mmdb")
    assert installed(old_install) == before


def test_explicit_paths_are_the_ones_updated(tmp_path: Path, files: FileServer) -> None:
    settings = geo_settings(
        tmp_path, files, asn_mmdb=tmp_path / "mine/asn.mmdb", city_mmdb=tmp_path / "mine/c.mmdb"
    )
    serve_dbip(files, tmp_path, "New")
    databases.update(settings, today=TODAY)
    assert sorted(p.name for p in (tmp_path / "mine").iterdir()) == ["asn.mmdb", "c.mmdb"]
    assert probe(settings) == ("New Broadband", "Newville")


def test_attribution_follows_the_provider(tmp_path: Path, files: FileServer) -> None:
    dbip = databases.attribution(geo_settings(tmp_path, files))
    assert (dbip.text, dbip.url) == ("IP Geolocation by DB-IP", "https://db-ip.com")
    assert dbip.html == '<a href="https://db-ip.com">IP Geolocation by DB-IP</a>'
    maxmind = databases.attribution(geo_settings(tmp_path, files, geoip_provider="geolite2"))
    assert maxmind.text == (
        "This product includes GeoLite2 data created by MaxMind, available from "
        "https://www.maxmind.com"
    )
    assert (
        "IPinfo"
        in databases.attribution(geo_settings(tmp_path, files, geoip_provider="ipinfo")).text
    )


# ── hot reload ──


@pytest.fixture
def quick_reload(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(reloading, "CHECK_SECONDS", 0.05)


def test_a_reader_in_use_keeps_working_and_closes_after_its_last_lookup(
    old_install: Settings, files: FileServer, tmp_path: Path, quick_reload: None
) -> None:
    address = parse_ip(PROBE)
    assert address is not None
    asn = reloading.open_asn(old_install)
    try:
        with asn.file.reader() as old:
            assert old is not None
            serve_dbip(files, tmp_path, "New")
            databases.update(old_install, today=TODAY)
            assert asn.file.check()
            assert asn.lookup(address).organization == "New Broadband"  # type: ignore[union-attr]
            # The old reader is still open for the lookup that holds it.
            assert old.lookup(address).organization == "Old Broadband"  # type: ignore[union-attr]
        assert old.lookup(address) is None  # closed once released
    finally:
        asn.close()
    assert asn.lookup(address) is None


def test_a_replacement_that_does_not_open_keeps_the_old_database(
    old_install: Settings, quick_reload: None, caplog: pytest.LogCaptureFixture
) -> None:
    address = parse_ip(PROBE)
    assert address is not None
    city = reloading.open_city(old_install)
    try:
        target = databases.database_path(old_install, "city")
        broken = target.with_name("broken")
        broken.write_bytes(b"not a database")
        os.replace(broken, target)
        with caplog.at_level(logging.WARNING, "openfeeder.identify.reloading"):
            assert not city.file.check()
            assert not city.file.check()  # the same broken file is reported once
        assert city.locate(address).city == "Oldville"
        assert len(caplog.records) == 1
        assert "keeping the City database in use" in caplog.records[0].getMessage()
    finally:
        city.close()


def test_a_database_that_appears_later_is_picked_up(
    tmp_path: Path, files: FileServer, quick_reload: None
) -> None:
    settings = geo_settings(tmp_path, files)
    asn = reloading.open_asn(settings)
    try:
        assert not asn.file.loaded
        serve_dbip(files, tmp_path, "New")
        databases.update(settings, today=TODAY)
        assert asn.file.check()
        record = asn.lookup(parse_ip(PROBE))  # type: ignore[arg-type]
        assert record is not None
        assert record.organization == "New Broadband"
    finally:
        asn.close()


def test_identifiers_in_use_see_the_new_databases_without_an_error(
    old_install: Settings, files: FileServer, tmp_path: Path, db: Database, quick_reload: None
) -> None:
    settings = old_install.model_copy(update={"database_url": str(db.engine.url)})
    identifier = make_identifier(settings.model_copy(update={"reverse_dns": False}))
    stop = threading.Event()
    errors: list[BaseException] = []
    seen: list[list[tuple[str | None, str | None]]] = [[] for _ in range(4)]

    def look(answers: list[tuple[str | None, str | None]]) -> None:
        try:
            while not stop.is_set():
                found = identify(db, identifier, [PROBE])[PROBE]
                answers.append((found.match_reason, found.location.city))
        except BaseException as error:  # every error fails the test below
            errors.append(error)

    threads = [threading.Thread(target=look, args=(answers,)) for answers in seen]
    for thread in threads:
        thread.start()
    try:
        time.sleep(0.2)
        serve_dbip(files, tmp_path, "New")
        databases.update(old_install, today=TODAY)
        deadline = time.monotonic() + 10
        # The two files are reopened independently: wait until every thread saw both.
        while time.monotonic() < deadline and not all(
            ("New Broadband" in str(reason), city) == (True, "Newville")
            for answers in seen
            for reason, city in answers[-1:]
        ):
            time.sleep(0.05)
    finally:
        stop.set()
        for thread in threads:
            thread.join(10)
        identifier.close()

    assert errors == []
    for answers in seen:
        reasons = {reason for reason, _ in answers}
        assert all(
            r is not None and ("Old Broadband" in r or "New Broadband" in r) for r in reasons
        )
        assert any("New Broadband" in str(r) for r in reasons)
        assert {city for _, city in answers} <= {"Oldville", "Newville"}
        assert "Newville" in {city for _, city in answers}


def test_a_running_pipeline_locates_new_visits_with_the_new_database(
    old_install: Settings,
    files: FileServer,
    tmp_path: Path,
    db: Database,
    builder: Builder,
    quick_reload: None,
) -> None:
    settings = old_install.model_copy(
        update={"database_url": str(db.engine.url), "reverse_dns": False}
    )
    add_company(db, "Acme Oy", ranges=("198.51.100.0/24",))
    account = builder.account()
    ingestor = Ingestor(settings, db)
    pipeline = make_pipeline(settings, db)
    pipeline.start_in_process()
    sent = 0
    try:
        for number in range(1, 41):
            if number == 21:
                _wait_processed(db, sent)  # the first twenty visits are made with the old file
                serve_dbip(files, tmp_path, "New")
                databases.update(old_install, today=TODAY)
                time.sleep(0.2)  # longer than the reload check: later visits see the new file
            browser = Browser(ingestor, account, number, ip=PROBE)
            ingestor.append_many([browser.hit("/", datetime.now(UTC))])
            sent += 1
            time.sleep(0.02)
        _wait_processed(db, sent)
    finally:
        pipeline.stop()
        pipeline.close()

    with db.read() as conn:
        rows = conn.execute(
            sa.select(t.visits.c.id, t.locations.c.city)
            .join(t.locations, t.locations.c.id == t.visits.c.location_id)
            .order_by(t.visits.c.started_at, t.visits.c.id)
        ).all()
        quarantined = conn.execute(
            sa.select(sa.func.count()).select_from(t.hits).where(t.hits.c.error.is_not(None))
        ).scalar_one()
    assert quarantined == 0
    cities = [city for _, city in rows]
    assert len(cities) == sent
    assert set(cities[:20]) == {"Oldville"}
    assert set(cities[20:]) == {"Newville"}


def _wait_processed(db: Database, hits: int) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with db.read() as conn:
            done = conn.execute(
                sa.select(sa.func.count())
                .select_from(t.hits)
                .where(t.hits.c.processed_at.is_not(None))
            ).scalar_one()
        if done >= hits:
            return
        time.sleep(0.05)
    raise AssertionError(f"the pipeline processed {done} of {hits} hits in 30 s")


# ── the schedule ──


def test_the_schedule_updates_when_due_and_logs_a_failure(
    tmp_path: Path, files: FileServer, caplog: pytest.LogCaptureFixture
) -> None:
    settings = geo_settings(tmp_path, files, geoip_update_interval=1.0)
    assert geoip.update_due(settings)  # nothing installed yet
    files.fail(ASN_NOW, 500)
    with caplog.at_level(logging.WARNING, "openfeeder.services.geoip"):
        assert geoip.run_due_update(settings) == []
    assert "IP database update failed; keeping the installed files" in caplog.text

    serve_dbip(files, tmp_path, "New")
    # The real month: the schedule asks for this month's files.
    for path, route in list(files.routes.items()):
        files.routes[path.replace("2026-12", f"{datetime.now(UTC):%Y-%m}")] = route
    assert len(geoip.run_due_update(settings)) == 2
    assert not geoip.update_due(settings)
    assert geoip.update_due(settings, now=time.time() + 3601)
    assert geoip.run_due_update(settings) == []  # not due: nothing asked
    assert probe(settings) == ("New Broadband", "Newville")


def test_the_schedule_is_off_without_an_interval_a_key_or_a_writable_directory(
    tmp_path: Path, files: FileServer
) -> None:
    assert geoip.make_update_loop(geo_settings(tmp_path, files)) is None
    on = geo_settings(tmp_path, files, geoip_update_interval=168.0)
    assert geoip.make_update_loop(on) is not None
    keyless = on.model_copy(update={"geoip_provider": "geolite2"})
    assert geoip.make_update_loop(keyless) is None
    read_only = tmp_path / "read-only"
    read_only.mkdir()
    read_only.chmod(0o555)
    try:
        if os.access(read_only, os.W_OK):
            pytest.skip("running as root: every directory is writable")
        locked = on.model_copy(update={"data_dir": read_only / "data"})
        assert geoip.make_update_loop(locked) is None
    finally:
        read_only.chmod(0o755)


def test_the_services_give_the_surfaces_the_attribution(tmp_path: Path, files: FileServer) -> None:
    settings = geo_settings(tmp_path, files, geoip_provider="geolite2")
    assert geoip.attribution(settings) == databases.ATTRIBUTIONS["geolite2"]
    assert geoip.attribution(settings).licence == "GeoLite2 End User License Agreement"


def test_a_target_that_cannot_be_written_is_one_line(tmp_path: Path, files: FileServer) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    settings = geo_settings(tmp_path, files, asn_mmdb=blocker / "asn.mmdb")
    serve_dbip(files, tmp_path, "New")
    with pytest.raises(UpdateError, match=r"^cannot write .*a-file: File exists$"):
        databases.update(settings, today=TODAY)
    assert blocker.read_text() == "not a directory"
    assert not databases.database_path(settings, "city").exists()  # nothing half-installed
