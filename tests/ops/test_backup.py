"""Backups of the SQLite store: ``openfeeder backup`` run (as the CLI, in its own process)
while a real ``openfeeder serve`` takes tracker hits from several threads; restored into a
fresh data directory, the copy holds every hit acknowledged before the backup started,
passes SQLite's integrity check and needs no migration. Restores that must not happen (a
corrupt file, a newer schema, no file, a store in use) are refused with one line; PostgreSQL
is refused with a pointer to pg_dump, and the pg_dump/pg_restore commands the docs give
round-trip a PostgreSQL store."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from openfeeder.domain.models import Account
from openfeeder.identify.companies import import_companies
from openfeeder.store import revision, schema
from openfeeder.store.db import Database
from tests.support.factories import Builder
from tests.support.load import COMPANY_RANGE, Load, stored_ids
from tests.support.servers import (
    POSTGRES_URL,
    ServeProcess,
    drop_postgres_database,
    fresh_postgres_database,
)

OPENFEEDER = Path(sys.executable).with_name("openfeeder")
ACKS_BEFORE_BACKUP = 300  # enough that every load thread is busy when the backup starts


def run_cli(url: str, data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``openfeeder ARGS`` as an operator runs it: its own process, settings from the env."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENFEEDER_")} | {
        "OPENFEEDER_DATABASE_URL": url,
        "OPENFEEDER_DATA_DIR": str(data_dir),
        "OPENFEEDER_GEOIP_UPDATE_INTERVAL": "0",
    }
    return subprocess.run(
        [str(OPENFEEDER), *args], env=env, capture_output=True, text=True, timeout=300, check=False
    )


def one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    """The refusal's message, after checking it is one ``Error:`` line and exit code 1."""
    assert result.returncode == 1, (result.returncode, result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("Error: ")
    assert "Traceback" not in result.stderr
    return lines[0]


def integrity(path: Path) -> list[str]:
    conn = sqlite3.connect(path)
    try:
        return [row[0] for row in conn.execute("PRAGMA integrity_check")]
    finally:
        conn.close()


def schema_sql(path: Path) -> list[tuple[str, str]]:
    """Every table's and index's definition and the Alembic revision: what a migration
    would change."""
    conn = sqlite3.connect(path)
    try:
        found = conn.execute("SELECT name, sql FROM sqlite_master ORDER BY name").fetchall()
        found += conn.execute("SELECT 'revision', version_num FROM alembic_version").fetchall()
        return [(str(name), str(sql)) for name, sql in found]
    finally:
        conn.close()


@pytest.fixture
def store(tmp_path: Path) -> tuple[str, Database]:
    live = tmp_path / "live"
    live.mkdir()
    url = f"sqlite:///{live / 'openfeeder.db'}"
    db = Database(url)
    db.migrate()
    return url, db


def _account(db: Database, tmp_path: Path) -> Account:
    """An account, and a company whose network the load's visitors come from."""
    account = Builder(db).account()
    companies = tmp_path / "companies.jsonl"
    companies.write_text(json.dumps({"id": "acme", "name": "Acme", "ranges": [COMPANY_RANGE]}))
    import_companies(db, companies)
    return account


def test_a_backup_under_tracker_load_restores_every_hit_acknowledged_before_it(
    store: tuple[str, Database], tmp_path: Path
) -> None:
    url, db = store
    account = _account(db, tmp_path)
    db.dispose()  # this process keeps no connection: `restore` must see serve's alone
    data_dir = tmp_path / "data"
    settings = {
        "OPENFEEDER_DATABASE_URL": url,
        "OPENFEEDER_DATA_DIR": str(data_dir),
        "OPENFEEDER_TRUSTED_PROXIES": "127.0.0.1/32",
        "OPENFEEDER_REVERSE_DNS": "false",
        "OPENFEEDER_TRACKER_FLOOD_PER_MINUTE": "10000000",
        "OPENFEEDER_PIPELINE_BATCH_SIZE": "50",  # the pipeline writes too, in many commits
    }
    backup = tmp_path / "backups" / "openfeeder-backup.db"
    backup.parent.mkdir()
    server = ServeProcess(settings, tmp_path / "serve.log").start()
    try:
        load = Load(server.url, account.script_hash).start()
        load.wait_for(ACKS_BEFORE_BACKUP)
        with load._lock:
            acknowledged = list(load.acked)  # every hit acknowledged before the backup starts
        made = run_cli(url, data_dir, "backup", str(backup))
        assert made.returncode == 0, made.stderr
        load.wait_for(len(load.acked) + 50)  # and the load carried on: serve was writing
        acks_during = len(load.acked) - len(acknowledged)

        # While serve has the store open, a restore onto it is refused and changes nothing.
        refused = one_line_error(run_cli(url, data_dir, "restore", str(backup)))
        assert "stop serve and worker first" in refused
        assert not list((tmp_path / "live").glob("*.before-restore-*"))
        # An existing backup is not overwritten without --force.
        assert "--force" in one_line_error(run_cli(url, data_dir, "backup", str(backup)))
    finally:
        server.stop()
        load.join()
    assert not load.failures, load.failures[:5]
    assert acks_during > 0
    head = revision.head()
    assert f"schema revision {head}" in made.stdout
    assert "newest hit 20" in made.stdout
    assert not list(backup.parent.glob(".*partial*")), "the partial copy was left behind"

    # Restored into a fresh data directory.
    fresh = tmp_path / "fresh"
    fresh.mkdir()
    restored_url = f"sqlite:///{fresh / 'openfeeder.db'}"
    restored = run_cli(restored_url, fresh / "data", "restore", str(backup), "--json")
    assert restored.returncode == 0, restored.stderr
    report = json.loads(restored.stdout)
    assert report["schema_revision"] == head
    assert report["set_aside"] is None  # there was no store to keep
    restored_file = fresh / "openfeeder.db"
    assert integrity(restored_file) == ["ok"]

    copy = Database(restored_url)
    try:
        present = stored_ids(copy, account)
        missing = set(acknowledged) - set(present)
        assert not missing, f"{len(missing)} of {len(acknowledged)} acknowledged hits missing"
        assert set(present.values()) == {1}
        assert report["hits"] == len(present)
        assert revision.state(copy.engine).at_head
    finally:
        copy.dispose()

    before = schema_sql(restored_file)
    migrated = run_cli(restored_url, fresh / "data", "migrate")
    assert migrated.returncode == 0, migrated.stderr
    assert schema_sql(restored_file) == before  # nothing to migrate: a no-op

    # Restoring again over a store keeps the replaced one aside, with its data.
    again = run_cli(restored_url, fresh / "data", "restore", str(backup))
    assert again.returncode == 0, again.stderr
    aside = list(fresh.glob("openfeeder.db.before-restore-*"))
    assert [p for p in aside if not p.name.endswith("-wal")], again.stdout
    assert "kept at" in again.stdout


def test_restore_refuses_a_corrupt_file_a_newer_schema_and_a_missing_file(
    store: tuple[str, Database], tmp_path: Path
) -> None:
    url, db = store
    _account(db, tmp_path)
    db.dispose()
    data_dir = tmp_path / "data"
    good = tmp_path / "good.db"
    assert run_cli(url, data_dir, "backup", str(good)).returncode == 0
    live = tmp_path / "live" / "openfeeder.db"
    untouched = live.read_bytes()

    garbage = tmp_path / "garbage.db"
    garbage.write_bytes(b"this is no SQLite database" * 100)
    corrupt = tmp_path / "corrupt.db"
    pages = bytearray(good.read_bytes())
    assert len(pages) > 8 * 4096
    pages[3 * 4096 : 6 * 4096] = secrets.token_bytes(3 * 4096)  # b-tree pages overwritten
    corrupt.write_bytes(bytes(pages))
    newer = tmp_path / "newer.db"
    newer.write_bytes(good.read_bytes())
    with sqlite3.connect(newer) as conn:
        conn.execute("UPDATE alembic_version SET version_num = '9999'")
    conn.close()
    foreign = tmp_path / "foreign.db"
    with sqlite3.connect(foreign) as conn:
        conn.execute("CREATE TABLE notes (body TEXT)")
    conn.close()

    cases = {
        garbage: "fails SQLite's integrity check: file is not a database",
        corrupt: "fails SQLite's integrity check",
        newer: "schema revision 9999, which openfeeder",
        tmp_path / "nowhere.db": "no backup file at",
        foreign: "is not an openfeeder store",
    }
    for path, says in cases.items():
        line = one_line_error(run_cli(url, data_dir, "restore", str(path)))
        assert str(path) in line
        assert says in line, line
    assert live.read_bytes() == untouched
    assert not list(live.parent.glob("*.before-restore-*"))


def test_backup_and_restore_refuse_postgresql_pointing_to_pg_dump(tmp_path: Path) -> None:
    # Refused from the URL alone, before any connection: no PostgreSQL server is needed.
    for command in ("backup", "restore"):
        line = one_line_error(run_cli(POSTGRES_URL, tmp_path, command, str(tmp_path / "x.db")))
        assert "pg_dump" in line
        assert "docs/operations.md#backups" in line


def _rows(url: str) -> dict[str, list[str]]:
    """Every row of every table, as text, in a stable order."""
    db = Database(url)
    try:
        with db.read() as conn:
            return {
                table.name: sorted(repr(tuple(row)) for row in conn.execute(sa.select(table)))
                for table in schema.metadata.sorted_tables
            }
    finally:
        db.dispose()


@pytest.mark.postgres
@pytest.mark.skipif(
    shutil.which("pg_dump") is None or shutil.which("pg_restore") is None,
    reason="pg_dump/pg_restore are not installed (Debian: apt-get install postgresql-client)",
)
def test_the_documented_pg_dump_and_pg_restore_round_trip_a_store(tmp_path: Path) -> None:
    source = fresh_postgres_database(f"openfeeder_dump_{os.getpid()}")
    target = fresh_postgres_database(f"openfeeder_restored_{os.getpid()}")
    try:
        db = Database(source)
        db.migrate()
        builder = Builder(db)
        account = builder.account()
        builder.visits(account, builder.companies(3), per_company=4)
        db.dispose()
        dump = tmp_path / "openfeeder.dump"
        # The commands of docs/operations.md#backups, as written there, with the URLs in
        # libpq's spelling (no "+psycopg").
        libpq = {
            url: sa.make_url(url).set(drivername="postgresql").render_as_string(False)
            for url in (source, target)
        }
        subprocess.run(["pg_dump", "-Fc", "-d", libpq[source], "-f", str(dump)], check=True)
        restore = ["pg_restore", "--no-owner", "--exit-on-error", "-d", libpq[target], str(dump)]
        subprocess.run(restore, check=True)
        assert _rows(target) == _rows(source)
        assert sum(len(rows) for rows in _rows(target).values()) > 12
        restored = Database(target)
        try:
            assert revision.state(restored.engine).at_head  # the revision came along too
        finally:
            restored.dispose()
        migrated = run_cli(target, tmp_path / "data", "migrate")
        assert migrated.returncode == 0, migrated.stderr
        assert _rows(target) == _rows(source)
    finally:
        drop_postgres_database(source)
        drop_postgres_database(target)
