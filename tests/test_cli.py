"""The ``openfeeder`` command through click's runner on a real store: output in both forms,
one-line errors with exit code 1 (usage errors: 2), and docs/cli.md covering every command."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click
import pytest
import sqlalchemy as sa
from click.testing import CliRunner, Result

from openfeeder import logs
from openfeeder.cli import main
from openfeeder.config import Settings
from openfeeder.domain.clock import SYSTEM_CLOCK
from openfeeder.domain.errors import Unauthorized
from openfeeder.ratelimit import MemoryCounter, RateLimiter
from openfeeder.services import access, signin
from openfeeder.store import schema as t
from openfeeder.store.db import Database
from tests.support.downloads import (
    FileServer,
    asn_database,
    city_database,
    file_server,
    gzipped,
)
from tests.support.factories import Builder
from tests.support.servers import ServeProcess

DOCS = Path(__file__).parents[1] / "docs" / "cli.md"


@pytest.fixture(autouse=True)
def _data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Commands that write files (the demo's MMDB files, exports) write them under tmp_path."""
    monkeypatch.setenv("OPENFEEDER_DATA_DIR", str(tmp_path / "data"))


@pytest.fixture(autouse=True)
def log_formats(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """What ``serve`` and ``worker`` configured logging with; not configured for real here,
    in pytest's own process (tests/ops/test_logs.py runs the real thing in subprocesses)."""
    formats: list[str] = []
    monkeypatch.setattr(logs, "configure", formats.append)
    return formats


def run(url: str, *args: str, input: str | None = None, **env: str) -> Result:
    return CliRunner().invoke(
        main, list(args), input=input, env={"OPENFEEDER_DATABASE_URL": url, **env}
    )


def ok(url: str, *args: str) -> str:
    result = run(url, *args)
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    return result.stdout


def ok_json(url: str, *args: str) -> Any:
    return json.loads(ok(url, *args, "--json"))


def fails(url: str, *args: str, code: int = 1, **env: str) -> str:
    """Run a command that must fail cleanly; returns its one stderr line."""
    result = run(url, *args, **env)
    assert result.exit_code == code, result.output
    # SystemExit is click's clean exit; any other exception would have been a traceback.
    assert isinstance(result.exception, SystemExit)
    assert result.stdout == ""
    if code == 1:
        lines = result.stderr.splitlines()
        assert len(lines) == 1, result.stderr
        assert lines[0].startswith("Error: ")
        return lines[0]
    return result.stderr


@pytest.fixture
def fresh_url(tmp_path: Path) -> str:
    """A SQLite file with no schema yet."""
    return f"sqlite:///{tmp_path / 'fresh.db'}"


# --- migrate, serve, worker ---------------------------------------------------------------


def test_migrate_creates_the_schema_and_is_idempotent(fresh_url: str) -> None:
    assert ok(fresh_url, "migrate").startswith("Database is up to date: sqlite:///")
    ok(fresh_url, "migrate")
    db = Database(fresh_url)
    try:
        assert set(t.metadata.tables) <= set(sa.inspect(db.engine).get_table_names())
    finally:
        db.dispose()


def test_migrate_on_an_existing_store(database_url: str) -> None:
    ok(database_url, "migrate")


def test_migrate_hides_the_password(monkeypatch: pytest.MonkeyPatch) -> None:
    migrated: list[str] = []
    monkeypatch.setattr(Database, "migrate", lambda self: migrated.append(self.url))
    url = "postgresql://openfeeder:s3cret@db.internal/openfeeder"
    out = ok(url, "migrate")
    assert migrated == [url]
    assert "s3cret" not in out
    assert "openfeeder:***@db.internal" in out


def test_serve_migrates_then_runs_uvicorn(
    fresh_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, log_formats: list[str]
) -> None:
    import uvicorn

    import openfeeder.app

    calls: list[tuple[Any, str, int, dict[str, Any]]] = []
    apps: list[Settings] = []
    real_create_app = openfeeder.app.create_app

    def create_app(settings: Settings) -> Any:
        apps.append(settings)
        return real_create_app(settings)

    def run_server(app: Any, host: str, port: int, **options: Any) -> None:
        calls.append((app, host, port, options))
        services = app.state.services  # never started: close what building it opened
        if services.pipeline is not None:
            services.pipeline.close()
        services.queue.close()
        services.close_identifier()
        services.db.dispose()

    monkeypatch.setenv("OPENFEEDER_DATA_DIR", str(tmp_path / "data"))

    monkeypatch.setattr(openfeeder.app, "create_app", create_app)
    monkeypatch.setattr(uvicorn, "run", run_server)

    ok(fresh_url, "serve")
    assert [(host, port) for _app, host, port, _ in calls] == [("127.0.0.1", 8000)]
    assert calls[0][0].state.services.settings is apps[0]
    # Only our trusted-proxy walk decides a client's address (tests/app/test_surfaces.py shows it).
    # Logging is logs.configure's, in place before uvicorn starts (its loggers propagate).
    assert calls[0][3] == {"proxy_headers": False, "access_log": False, "log_config": None}
    assert log_formats[0] == "text"
    assert apps[0].database_url == fresh_url

    result = run(fresh_url, "serve", "--host", "10.1.2.3", "--port", "9001", OPENFEEDER_PORT="1")
    assert result.exit_code == 0, result.output
    assert calls[-1][1:3] == ("10.1.2.3", 9001)
    assert (apps[-1].host, apps[-1].port) == ("10.1.2.3", 9001)  # links see the real address
    db = Database(fresh_url)
    try:
        assert "users" in sa.inspect(db.engine).get_table_names()
    finally:
        db.dispose()


def test_serve_rejects_a_port_out_of_range(fresh_url: str) -> None:
    assert "70000" in fails(fresh_url, "serve", "--port", "70000", code=2)


def test_worker_runs_the_queue_with_the_settings(
    fresh_url: str, monkeypatch: pytest.MonkeyPatch, log_formats: list[str]
) -> None:
    import openfeeder.worker

    seen: list[Settings] = []
    monkeypatch.setattr(openfeeder.worker, "run_worker", seen.append)
    ok(fresh_url, "worker")
    assert [s.database_url for s in seen] == [fresh_url]
    assert log_formats == ["text"]


# --- demo ---------------------------------------------------------------------------------


def test_demo_json_then_again_without_duplicating(fresh_url: str) -> None:
    first = ok_json(fresh_url, "demo")
    assert set(first) == {"token", "user", "password", "dashboard", "accounts"}
    assert first["user"] == "demo@example.com"
    assert first["dashboard"] == "http://127.0.0.1:8000/app"
    assert first["accounts"] == [
        {"id": "1", "name": "Sample account", "subscription": "lite"},
        {"id": "2", "name": "Sample website", "subscription": "premium"},
        {"id": "3", "name": "Another account", "subscription": "premium"},
    ]
    second = ok_json(fresh_url, "demo")
    assert second["accounts"] == first["accounts"]
    assert second["token"] != first["token"]
    db = Database(fresh_url)
    try:
        with db.read() as conn:
            assert conn.execute(sa.select(sa.func.count()).select_from(t.accounts)).scalar() == 3
            assert conn.execute(sa.select(sa.func.count()).select_from(t.users)).scalar() == 1
        assert access.authenticate(db, second["token"]).email == "demo@example.com"
        # Each run issues a new dashboard password and only the newest one signs in.
        assert second["password"] != first["password"]
        for password, works in ((first["password"], False), (second["password"], True)):
            assert _signs_in(db, "demo@example.com", password) is works
    finally:
        db.dispose()

    human = ok(fresh_url, "demo")
    assert "Demo already loaded" in human
    assert "Dashboard: http://127.0.0.1:8000/app\n" in human
    assert "  Email:    demo@example.com\n" in human
    assert re.search(r"  Password: \S{12,}\n", human)
    assert "API:    http://127.0.0.1:8000" in human
    assert re.search(r"Token:  \S{40,}", human)
    assert re.search(r"2\s+Sample website\s+premium", human)
    assert re.search(r"3\s+Another account\s+premium, trial", human)


def test_demo_human_output_uses_host_and_port(fresh_url: str) -> None:
    result = run(fresh_url, "demo", OPENFEEDER_HOST="10.1.2.3", OPENFEEDER_PORT="8080")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("Demo loaded.\n")
    assert "Dashboard: http://10.1.2.3:8080/app\n" in result.stdout
    assert "API:    http://10.1.2.3:8080\n" in result.stdout


def _signs_in(db: Database, email: str, password: str) -> bool:
    try:
        signin.sign_in(
            db,
            RateLimiter(MemoryCounter()),
            SYSTEM_CLOCK,
            email,
            password,
            ip=None,
            user_agent=None,
        )
    except Unauthorized:
        return False
    return True


def test_users_create_with_a_password_then_set_password(database_url: str) -> None:
    made = run(
        database_url,
        "users",
        "create",
        "--email",
        "Pia@Example.com",
        "--password",
        input="correct horse battery\ncorrect horse battery\n",
    )
    assert made.exit_code == 0, made.output
    assert "correct horse" not in made.stdout  # the prompt does not echo it
    db = Database(database_url)
    try:
        assert _signs_in(db, "pia@example.com", "correct horse battery")
        changed = run(
            database_url,
            "users",
            "set-password",
            "--email",
            "pia@example.com",
            input="another long secret\nanother long secret\n",
        )
        assert changed.exit_code == 0, changed.output
        assert "sessions have ended" in changed.stdout
        assert not _signs_in(db, "pia@example.com", "correct horse battery")
        assert _signs_in(db, "pia@example.com", "another long secret")
    finally:
        db.dispose()


def test_a_short_password_or_an_unknown_user_is_one_line_and_exit_1(database_url: str) -> None:
    short = run(
        database_url,
        "users",
        "create",
        "--email",
        "x@example.com",
        "--password",
        input="short\nshort\n",
    )
    assert short.exit_code == 1
    assert short.stderr.strip().splitlines()[-1] == (
        "Error: A password needs at least 10 characters."
    )
    unknown = run(
        database_url,
        "users",
        "set-password",
        "--email",
        "nobody@example.com",
        input="long enough secret\nlong enough secret\n",
    )
    assert unknown.exit_code == 1
    assert "There is no user" in unknown.stderr


# --- users, accounts, members, tokens -----------------------------------------------------


def test_users_create(database_url: str) -> None:
    out = ok(database_url, "users", "create", "--email", "Anna@Example.com", "--name", "Anna L")
    assert re.fullmatch(r"Created user \d+: Anna L <anna@example.com>\n", out)
    made = ok_json(database_url, "users", "create", "--email", "ben@example.com")
    assert made == {"id": made["id"], "email": "ben@example.com", "name": "ben"}
    assert isinstance(made["id"], int)


def test_users_create_bad_input(database_url: str) -> None:
    ok(database_url, "users", "create", "--email", "anna@example.com")
    assert fails(database_url, "users", "create", "--email", "ANNA@example.com") == (
        "Error: A user with email anna@example.com already exists."
    )
    assert fails(database_url, "users", "create", "--email", "not-an-email") == (
        "Error: 'not-an-email' is not an email address."
    )
    assert "--email" in fails(database_url, "users", "create", code=2)


def test_accounts_create(database_url: str) -> None:
    out = ok(database_url, "accounts", "create", "--name", "Sample website")
    assert re.fullmatch(
        r"Created account \d+: Sample website \(premium, UTC\); script hash \w{16}\n", out
    )
    made = ok_json(
        database_url,
        "accounts",
        "create",
        "--name",
        "Sample account",
        "--subscription",
        "lite",
        "--timezone",
        "Europe/Helsinki",
        "--trial",
    )
    assert made == {
        "id": made["id"],
        "name": "Sample account",
        "subscription": "lite",
        "on_trial": True,
        "timezone": "Europe/Helsinki",
        "script_hash": made["script_hash"],
    }
    assert made["id"].isdigit()
    assert len(made["script_hash"]) == 16


def test_accounts_create_bad_input(database_url: str) -> None:
    assert fails(
        database_url, "accounts", "create", "--name", "A", "--timezone", "Mars/Base"
    ).startswith("Error: 'Mars/Base' is not an IANA time zone")
    assert fails(database_url, "accounts", "create", "--name", " ") == (
        "Error: The account name must not be empty."
    )
    usage = fails(
        database_url, "accounts", "create", "--name", "A", "--subscription", "gold", code=2
    )
    assert "'gold' is not one of 'lite', 'premium'" in usage


def test_members_add(database_url: str) -> None:
    ok(database_url, "users", "create", "--email", "anna@example.com")
    account = ok_json(database_url, "accounts", "create", "--name", "Sample")
    out = ok(
        database_url, "members", "add", "--user", "anna@example.com", "--account", account["id"]
    )
    assert out == f"anna@example.com can now see account {account['id']}: Sample\n"
    other = ok_json(database_url, "accounts", "create", "--name", "Other")
    added = ok_json(
        database_url, "members", "add", "--user", "ANNA@example.com", "--account", other["id"]
    )
    assert added == {"user": "anna@example.com", "account": other}


def test_members_add_bad_input(database_url: str) -> None:
    ok(database_url, "users", "create", "--email", "anna@example.com")
    account = ok_json(database_url, "accounts", "create", "--name", "Sample")["id"]
    ok(database_url, "members", "add", "--user", "anna@example.com", "--account", account)
    assert fails(
        database_url, "members", "add", "--user", "anna@example.com", "--account", account
    ) == (f"Error: anna@example.com is already a member of account {account}.")
    assert fails(
        database_url, "members", "add", "--user", "ben@example.com", "--account", account
    ) == ("Error: No user has the email ben@example.com.")
    assert fails(
        database_url, "members", "add", "--user", "anna@example.com", "--account", "99999"
    ) == ("Error: Account 99999 does not exist.")
    assert "'x' is not a valid integer" in fails(
        database_url, "members", "add", "--user", "anna@example.com", "--account", "x", code=2
    )


def test_tokens_create_list_disable(database_url: str) -> None:
    ok(database_url, "users", "create", "--email", "anna@example.com")
    made = ok_json(database_url, "tokens", "create", "--user", "anna@example.com")
    assert set(made) == {"id", "token", "user"}
    human = ok(database_url, "tokens", "create", "--user", "anna@example.com")
    header, second = human.splitlines()
    assert header.startswith("Token ")
    assert "(shown only now)" in header

    db = Database(database_url)
    try:
        assert access.authenticate(db, made["token"]).email == "anna@example.com"
    finally:
        db.dispose()

    listed = ok_json(database_url, "tokens", "list", "--user", "anna@example.com")
    assert [(row["hint"], row["disabled"]) for row in listed] == [
        (made["token"][-4:], False),
        (second[-4:], False),
    ]
    assert listed[0]["id"] == made["id"]
    assert set(listed[0]) == {"id", "hint", "disabled", "created_at"}
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", listed[0]["created_at"])
    table = ok(database_url, "tokens", "list", "--user", "anna@example.com")
    assert made["token"] not in table
    assert second not in table
    assert f"…{second[-4:]}" in table

    assert (
        ok(database_url, "tokens", "disable", str(made["id"]))
        == f"Token {made['id']} is disabled.\n"
    )
    assert ok_json(database_url, "tokens", "disable", str(made["id"])) == {
        "id": made["id"],
        "disabled": True,
    }
    listed = ok_json(database_url, "tokens", "list", "--user", "anna@example.com")
    assert [row["disabled"] for row in listed] == [True, False]
    assert re.search(
        rf"{made['id']}\s+…\S+\s+disabled",
        ok(database_url, "tokens", "list", "--user", "anna@example.com"),
    )


def test_tokens_bad_input(database_url: str) -> None:
    assert fails(database_url, "tokens", "create", "--user", "nobody@example.com") == (
        "Error: No user has the email nobody@example.com."
    )
    assert fails(database_url, "tokens", "list", "--user", "nobody@example.com") == (
        "Error: No user has the email nobody@example.com."
    )
    assert fails(database_url, "tokens", "disable", "4242") == "Error: Token 4242 does not exist."
    assert "'abc' is not a valid integer" in fails(database_url, "tokens", "disable", "abc", code=2)
    ok(database_url, "users", "create", "--email", "anna@example.com")
    assert ok(database_url, "tokens", "list", "--user", "anna@example.com") == (
        "anna@example.com has no tokens.\n"
    )
    assert ok_json(database_url, "tokens", "list", "--user", "anna@example.com") == []


# --- errors from the environment ----------------------------------------------------------


def test_unmigrated_store_says_to_migrate(fresh_url: str) -> None:
    line = fails(fresh_url, "users", "create", "--email", "anna@example.com")
    assert line == ("Error: database error: no such table: users (run `openfeeder migrate` first)")


def test_bad_database_url(tmp_path: Path) -> None:
    assert fails("nonsense", "migrate").startswith("Error: database error: ")
    assert fails("nosuchdb://x/y", "migrate").startswith("Error: database error: ")
    missing_dir = f"sqlite:///{tmp_path / 'missing' / 'x.db'}"
    assert "unable to open database file" in fails(missing_dir, "migrate")


@pytest.mark.postgres
def test_unreachable_postgres() -> None:
    line = fails("postgresql://nobody@127.0.0.1:9/none", "users", "create", "--email", "a@b.c")
    assert line.startswith("Error: database error: ")


def test_store_from_a_newer_version(fresh_url: str) -> None:
    ok(fresh_url, "migrate")
    db = Database(fresh_url)
    try:
        with db.write() as conn:
            conn.exec_driver_sql("UPDATE alembic_version SET version_num = '9999'")
    finally:
        db.dispose()
    # Refused before alembic runs (tests/ops/test_upgrades.py covers serve and worker too).
    assert fails(fresh_url, "migrate").startswith(
        "Error: the database is at schema revision 9999, which openfeeder "
    )


def test_invalid_settings(fresh_url: str) -> None:
    line = fails(fresh_url, "migrate", OPENFEEDER_PORT="eighty")
    assert line.startswith("Error: invalid settings: OPENFEEDER_PORT: ")


def test_the_installed_command_prints_no_traceback(fresh_url: str) -> None:
    command = Path(sys.executable).with_name("openfeeder")
    done = subprocess.run(
        [command, "users", "create", "--email", "anna@example.com"],
        capture_output=True,
        text=True,
        env={"OPENFEEDER_DATABASE_URL": fresh_url, "PATH": str(command.parent)},
        check=False,
        timeout=60,
    )
    assert done.returncode == 1
    assert done.stdout == ""
    assert done.stderr == (
        "Error: database error: no such table: users (run `openfeeder migrate` first)\n"
    )


# --- docs ---------------------------------------------------------------------------------


def commands(group: click.Group, prefix: str = "openfeeder") -> dict[str, click.Command]:
    out: dict[str, click.Command] = {}
    for name, command in group.commands.items():
        path = f"{prefix} {name}"
        if isinstance(command, click.Group):
            out |= commands(command, path)
        else:
            out[path] = command
    return out


def test_every_command_and_option_is_documented() -> None:
    """Each command has a "## `openfeeder …`" section naming each of its options."""
    text = DOCS.read_text()
    headings = re.findall(r"^## `(openfeeder[^`]*)`$", text, re.MULTILINE)
    bodies = re.split(r"^## `openfeeder[^`]*`$", text, flags=re.MULTILINE)[1:]
    sections = dict(zip(headings, bodies, strict=True))
    assert set(sections) == set(commands(main))
    for path, command in commands(main).items():
        for param in command.params:
            names = param.opts if isinstance(param, click.Option) else [param.human_readable_name]
            assert any(name in sections[path] for name in names), f"{path}: {names} undocumented"


@pytest.mark.parametrize(
    ("setting", "value", "says"),
    [
        ("OPENFEEDER_DNS_SERVERS", "10.0.0.1:99999", "OPENFEEDER_DNS_SERVERS"),
        ("OPENFEEDER_DNS_SERVERS", "bad server!", "OPENFEEDER_DNS_SERVERS"),
        ("OPENFEEDER_ENRICHMENT_URL", "https://enrich.example/lookup", "{ip}"),
        ("OPENFEEDER_ENRICHMENT_URL", "ftp://enrich.example/{ip}", "http"),
        ("OPENFEEDER_ENRICHMENT_URL", "https://e.example/{ip}?t={token}", "token"),
        ("OPENFEEDER_TRUSTED_PROXIES", "10.0.0.0/33", "OPENFEEDER_TRUSTED_PROXIES"),
        ("OPENFEEDER_ASN_MMDB", "/nonexistent/asn.mmdb", "/nonexistent/asn.mmdb"),
        ("OPENFEEDER_CITY_MMDB", "/nonexistent/city.mmdb", "/nonexistent/city.mmdb"),
    ],
)
@pytest.mark.parametrize("command", ["serve", "worker"])
def test_a_bad_setting_stops_serve_and_worker_at_start_with_one_line(
    fresh_url: str, tmp_path: Path, command: str, setting: str, value: str, says: str
) -> None:
    line = fails(
        fresh_url,
        command,
        **{setting: value, "OPENFEEDER_DATA_DIR": str(tmp_path / "data"), "OPENFEEDER_PORT": "1"},
    )
    assert says in line


def test_a_file_that_is_no_mmdb_stops_serve_at_start(fresh_url: str, tmp_path: Path) -> None:
    broken = tmp_path / "asn.mmdb"
    broken.write_bytes(b"not a MaxMind database")
    line = fails(
        fresh_url, "serve", OPENFEEDER_ASN_MMDB=str(broken), OPENFEEDER_DATA_DIR=str(tmp_path)
    )
    assert str(broken) in line


def test_quarantined_hits_are_listed_and_released(fresh_url: str) -> None:
    db = Database(fresh_url)
    try:
        db.migrate()
        account = Builder(db).account()
        with db.write() as conn:
            ids = [
                conn.execute(
                    sa.insert(t.hits)
                    .values(
                        account_id=account.id,
                        client_event_id=f"{n:016x}",
                        received_at=datetime(2026, 1, 1, tzinfo=UTC),
                        ip="198.51.100.7",
                        visitor_key="LF1.1.0123456789abcdef.1",
                        shard=0,
                        payload={},
                        processed_at=datetime(2026, 1, 1, 0, 1, tzinfo=UTC),
                        drop_reason=drop,
                        error="IntegrityError: NOT NULL constraint failed" if drop else None,
                    )
                    .returning(t.hits.c.id)
                ).scalar_one()
                for n, drop in enumerate(["error", None, "error"])
            ]
    finally:
        db.dispose()
    listed = ok_json(fresh_url, "hits", "quarantined")
    assert [row["id"] for row in listed] == [ids[2], ids[0]]
    assert listed[0]["error"] == "IntegrityError: NOT NULL constraint failed"
    assert "IntegrityError" in ok(fresh_url, "hits", "quarantined", "--account", str(account.id))
    assert "--all" in fails(fresh_url, "hits", "retry", code=2)
    assert ok(fresh_url, "hits", "retry", str(ids[0])).startswith("1 hit(s) released")
    assert [row["id"] for row in ok_json(fresh_url, "hits", "quarantined")] == [ids[2]]
    assert ok(fresh_url, "hits", "retry", "--all").startswith("1 hit(s) released")
    assert "No quarantined hits." in ok(fresh_url, "hits", "quarantined")


# --- geoip ----------------------------------------------------------------------------------


@pytest.fixture
def files() -> Iterator[FileServer]:
    with file_server() as server:
        yield server


def this_month(kind: str) -> str:
    """DB-IP's file name for this month, as the command asks for it."""
    return f"/dbip-{kind}-lite-{datetime.now(UTC):%Y-%m}.mmdb.gz"


def serve_dbip(files: FileServer, tmp_path: Path, version: str) -> None:
    asn = asn_database(tmp_path / f"asn-{version}.mmdb", f"{version} Broadband")
    city = city_database(tmp_path / f"city-{version}.mmdb", f"{version}ville")
    files.serve(this_month("asn"), gzipped(asn))
    files.serve(this_month("city"), gzipped(city))


def geoip_env(files: FileServer, tmp_path: Path) -> dict[str, str]:
    return {
        "OPENFEEDER_GEOIP_BASE_URL": files.url,
        "OPENFEEDER_GEOIP_TIMEOUT": "1",
        "OPENFEEDER_DATA_DIR": str(tmp_path / "data"),
    }


def installed_files(tmp_path: Path) -> dict[str, bytes]:
    directory = tmp_path / "data" / "geoip"
    return {p.name: p.read_bytes() for p in directory.glob("*.mmdb")}


def test_geoip_update_installs_the_databases_and_prints_the_attribution(
    fresh_url: str, files: FileServer, tmp_path: Path
) -> None:
    serve_dbip(files, tmp_path, "New")
    result = run(fresh_url, "geoip", "update", **geoip_env(files, tmp_path))
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].startswith("DB-IP ASN Lite installed: ")
    assert "dbip-asn-lite.mmdb (DBIP-ASN-Lite (compat=GeoLite2-ASN), built " in lines[0]
    assert lines[1].startswith("DB-IP City Lite installed: ")
    assert lines[2] == "IP Geolocation by DB-IP"
    assert result.stderr == ""  # no progress bar where stderr is no terminal
    assert sorted(installed_files(tmp_path)) == ["dbip-asn-lite.mmdb", "dbip-city-lite.mmdb"]

    status = run(fresh_url, "geoip", "status", "--json", **geoip_env(files, tmp_path))
    rows = json.loads(status.stdout)
    assert [(r["kind"], r["installed"], r["database_type"][:8]) for r in rows] == [
        ("asn", True, "DBIP-ASN"),
        ("city", True, "DBIP-Cit"),
    ]


@pytest.mark.parametrize(
    ("arrange", "says"),
    [
        (lambda f: f.fail(this_month("city"), 500), "DB-IP City Lite: HTTP 500 from http://"),
        (lambda f: setattr(f.routes[this_month("city")], "mode", "cut"), "download interrupted"),
        (lambda f: setattr(f.routes[this_month("asn")], "mode", "hang"), "timed out"),
        (lambda f: f.serve(this_month("city"), b"\x1f\x8b\x08garbage"), "corrupt or truncated"),
    ],
    ids=["http-error", "cut", "timeout", "corrupt"],
)
def test_a_failed_geoip_update_is_one_line_and_keeps_the_old_files(
    fresh_url: str, files: FileServer, tmp_path: Path, arrange: Any, says: str
) -> None:
    env = geoip_env(files, tmp_path)
    serve_dbip(files, tmp_path, "Old")
    ok_env = run(fresh_url, "geoip", "update", **env)
    assert ok_env.exit_code == 0, ok_env.output
    before = installed_files(tmp_path)
    serve_dbip(files, tmp_path, "New")
    arrange(files)

    line = fails(fresh_url, "geoip", "update", "--force", **env)

    assert says in line
    assert installed_files(tmp_path) == before


def test_geoip_update_from_a_file(fresh_url: str, files: FileServer, tmp_path: Path) -> None:
    local = tmp_path / "dbip-city-lite-2026-11.mmdb.gz"
    local.write_bytes(gzipped(city_database(tmp_path / "c.mmdb", "Localville")))
    env = geoip_env(files, tmp_path)

    printed = json.loads(ok_env(fresh_url, env, "geoip", "update", "--from-file", str(local)))

    assert [(p["kind"], p["database_type"]) for p in printed] == [
        ("city", "DBIP-City-Lite (compat=City)")
    ]
    assert files.requests == []  # nothing downloaded
    missing = tmp_path / "missing.mmdb"
    assert fails(fresh_url, "geoip", "update", "--from-file", str(missing), **env) == (
        f"Error: {missing} is not a file"
    )
    assert "c.mmdb is no geolite2 ASN or City database: database type 'DBIP-City" in fails(
        fresh_url,
        "geoip",
        "update",
        "--from-file",
        str(tmp_path / "c.mmdb"),
        "--json",
        **{**env, "OPENFEEDER_GEOIP_PROVIDER": "geolite2"},
    )


def ok_env(url: str, env: dict[str, str], *args: str) -> str:
    result = run(url, *args, "--json", **env)
    assert result.exit_code == 0, result.output
    return result.stdout


def test_geoip_update_needs_the_providers_key(fresh_url: str, tmp_path: Path) -> None:
    line = fails(
        fresh_url,
        "geoip",
        "update",
        OPENFEEDER_GEOIP_PROVIDER="geolite2",
        OPENFEEDER_DATA_DIR=str(tmp_path / "data"),
    )
    assert line == (
        "Error: the geolite2 provider needs OPENFEEDER_MAXMIND_ACCOUNT_ID and "
        "OPENFEEDER_MAXMIND_LICENSE_KEY"
    )


@pytest.mark.parametrize("command", ["serve", "worker"])
def test_serve_and_worker_download_the_databases_on_their_schedule(
    fresh_url: str, files: FileServer, tmp_path: Path, command: str
) -> None:
    ok(fresh_url, "migrate")
    serve_dbip(files, tmp_path, "New")
    env = geoip_env(files, tmp_path) | {
        "OPENFEEDER_DATABASE_URL": fresh_url,
        "OPENFEEDER_GEOIP_UPDATE_INTERVAL": "24",
        "OPENFEEDER_REVERSE_DNS": "false",
    }
    process = ServeProcess(env, tmp_path / f"{command}.log", command).start()
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and len(installed_files(tmp_path)) < 2:
            time.sleep(0.1)
    finally:
        process.stop()
    assert sorted(installed_files(tmp_path)) == ["dbip-asn-lite.mmdb", "dbip-city-lite.mmdb"]
    assert files.paths() == [this_month("asn"), this_month("city")]


# --- networks --------------------------------------------------------------------------------


def test_networks_import_set_show_unset(database_url: str, tmp_path: Path) -> None:
    (tmp_path / "vpsh.csv").write_text('AS64500,"Fjord Servers"\nAS64501,Acme Oy\n')
    (tmp_path / "corp.csv").write_text("AS64501,Acme Oy\n")
    out = ok(database_url, "networks", "import", "--source", "bgptools-tags",
             str(tmp_path / "vpsh.csv"), str(tmp_path / "corp.csv"))  # fmt: skip
    assert "bgptools:vpsh: 2 AS numbers" in out
    assert "1 AS numbers on which sources disagree." in out
    (tmp_path / "dc.txt").write_text("# hosting\nAS64502\n")
    imported = ok_json(database_url, "networks", "import", "--source", "list", "--kind",
                       "hosting", str(tmp_path / "dc.txt"))  # fmt: skip
    assert (imported["sources"], imported["rows"]) == ({"list:dc": 1}, 1)

    shown = ok(database_url, "networks", "show", "AS64501")
    assert "bgptools:corp" in shown
    assert "bgptools:vpsh" in shown
    assert "Decision: hosting (bgp.tools tags AS64501 vpsh, over bgp.tools tags" in shown
    assert ok(database_url, "networks", "set", "as64501", "business") == (
        "AS64501 is business (operator override).\n"
    )
    view = ok_json(database_url, "networks", "show", "64501")
    assert (view["kind"], view["why"], view["evidence"]) == (
        "business",
        "the operator set AS64501 to business",
        True,
    )
    assert {row["source"] for row in view["sources"]} == {
        "bgptools:corp",
        "bgptools:vpsh",
        "override",
    }
    ok(database_url, "networks", "unset", "AS64501")
    assert fails(database_url, "networks", "unset", "AS64501") == (
        "Error: AS64501 has no operator override"
    )
    nothing = ok_json(database_url, "networks", "show", "AS64999")
    assert (nothing["sources"], nothing["kind"]) == ([], "unknown")


def test_networks_bad_input(database_url: str, tmp_path: Path) -> None:
    (tmp_path / "bad.txt").write_text("AS1\nnonsense\n")
    assert "line 2: 'nonsense' is not an AS number" in fails(
        database_url, "networks", "import", "--source", "list", "--kind", "hosting",
        str(tmp_path / "bad.txt"),
    )  # fmt: skip
    assert "--kind" in fails(
        database_url, "networks", "import", "--source", "list", str(tmp_path / "bad.txt"), code=2
    )
    assert "cannot read" in fails(
        database_url, "networks", "import", "--source", "peeringdb", str(tmp_path / "no.json")
    )
    assert "not an AS number" in fails(database_url, "networks", "show", "ASX", code=2)
    assert "not an AS number" in fails(database_url, "networks", "set", "x", "isp", code=2)
    assert "'unknown' is not one of" in fails(
        database_url, "networks", "set", "AS1", "unknown", code=2
    )
    nothing = ok_json(database_url, "networks", "show", "AS1")
    assert nothing["sources"] == []


def test_networks_update_with_nothing_configured(database_url: str) -> None:
    line = fails(
        database_url,
        "networks",
        "update",
        OPENFEEDER_NETWORKS_BGPTOOLS_ASNS_URL="",
        OPENFEEDER_NETWORKS_BGPTOOLS_TAGS_URL="",
        OPENFEEDER_NETWORKS_PEERINGDB_URL="",
        OPENFEEDER_NETWORKS_HOSTING_LISTS="[]",
    )
    assert line == "Error: no network-type source is configured (OPENFEEDER_NETWORKS_*)"


def test_the_cli_offers_every_network_kind() -> None:
    from openfeeder.cli import _NETWORK_KINDS
    from openfeeder.identify.asn import TYPED_KINDS

    assert _NETWORK_KINDS == TYPED_KINDS


def test_networks_update_downloads_and_imports(database_url: str) -> None:
    from openfeeder.identify.networks import BGPTOOLS_TAGS
    from tests.support.identify import Upstream, upstream_server

    upstream = Upstream({f"/tags/{tag}.csv": (200, b"", 0.0) for tag in BGPTOOLS_TAGS})
    upstream.files["/tags/vpsh.csv"] = (200, b"AS64500,Fjord\n", 0.0)
    upstream.files["/asns.csv"] = (200, b"asn,name,class,cc\nAS64560,Transit Oy,Carrier,FI\n", 0.0)
    upstream.files["/datacenters.txt"] = (200, b"AS64570\nAS64571\n", 0.0)
    with upstream_server(upstream) as base:
        env = {
            "OPENFEEDER_NETWORKS_BGPTOOLS_ASNS_URL": f"{base}/asns.csv",
            "OPENFEEDER_NETWORKS_BGPTOOLS_TAGS_URL": f"{base}/tags/{{tag}}.csv",
            "OPENFEEDER_NETWORKS_PEERINGDB_URL": "",
            "OPENFEEDER_NETWORKS_HOSTING_LISTS": f"datacenters={base}/datacenters.txt",
            "OPENFEEDER_NETWORKS_USER_AGENT": "acme-openfeeder (ops@acme.example)",
        }
        result = run(database_url, "networks", "update", "--json", **env)
        assert result.exit_code == 0, result.output
        assert json.loads(result.stdout)["sources"]["list:datacenters"] == 2
        upstream.files["/asns.csv"] = (500, b"oops", 0.0)
        line = fails(database_url, "networks", "update", **env)
    assert line == f"Error: {base}/asns.csv: HTTP 500"
    assert set(upstream.agents) == {"acme-openfeeder (ops@acme.example)"}
    assert "peeringdb" not in ok(database_url, "networks", "show", "AS64560")


def test_rules_add_list_and_remove(database_url: str, builder: Builder) -> None:
    from openfeeder.cli import _RULE_KINDS
    from openfeeder.services.traffic import KINDS

    assert _RULE_KINDS == KINDS
    account = builder.account(builder.user())
    a = str(account.id)
    assert ok(database_url, "rules", "add", "--account", a, "--kind", "country", "fi") == (
        f"Added country FI to account {a}.\n"
    )
    ok(database_url, "rules", "add", "--account", a, "--kind", "ip_range", "203.0.113.9/24")
    listed = ok_json(database_url, "rules", "list", "--account", a)
    assert [(r["kind"], r["value"]) for r in listed] == [
        ("country", "FI"),
        ("ip_range", "203.0.113.0/24"),
    ]
    line = fails(database_url, "rules", "add", "--account", a, "--kind", "country", "Finland")
    assert "two-letter ISO code" in line
    ok(database_url, "rules", "remove", "--account", a, str(listed[0]["id"]))
    assert "no traffic rule" in fails(database_url, "rules", "remove", "--account", a, "999")
    assert len(ok_json(database_url, "rules", "list", "--account", a)) == 1


def test_invitations_roles_removal_and_account_update(database_url: str) -> None:
    ok(database_url, "users", "create", "--email", "anna@example.com")
    ok(database_url, "users", "create", "--email", "ben@example.com")
    account = ok_json(database_url, "accounts", "create", "--name", "Sample")["id"]
    ok(database_url, "members", "add", "--user", "anna@example.com", "--account", account)
    invited = ok_json(
        database_url, "invitations", "create", "--account", account, "--email", "Cleo@Example.com"
    )
    assert invited["email"] == "cleo@example.com"
    assert invited["role"] == "member"
    assert re.fullmatch(r"http://127\.0\.0\.1:8000/app/invite/[\w-]{43}", invited["link"])
    out = ok(database_url, "invitations", "create", "--account", account, "--email", "d@e.fi")
    assert out.splitlines()[1].startswith("http://127.0.0.1:8000/app/invite/")
    assert fails(
        database_url, "invitations", "create", "--account", account, "--email", "anna@example.com"
    ) == ("Error: anna@example.com is already a member of this account.")
    assert "'owner' is not one of" in fails(
        database_url, "invitations", "create", "--account", account, "--email", "x@e.fi",
        "--role", "owner", code=2,
    )  # fmt: skip

    ok(database_url, "members", "add", "--user", "ben@example.com", "--account", account)
    assert fails(
        database_url, "members", "set-role", "--user", "ben@example.com", "--account", "99999",
        "--role", "member",
    ) == ("Error: Account 99999 does not exist.")  # fmt: skip
    out = ok(
        database_url, "members", "set-role", "--user", "ben@example.com", "--account", account,
        "--role", "member",
    )  # fmt: skip
    assert out == f"ben@example.com is now member of account {account}: Sample\n"
    # anna is the last admin now: she can be neither demoted nor removed.
    last = "Error: An account needs at least one admin: make someone else admin first."
    assert fails(
        database_url, "members", "set-role", "--user", "anna@example.com", "--account", account,
        "--role", "member",
    ) == last  # fmt: skip
    assert (
        fails(database_url, "members", "remove", "--user", "anna@example.com", "--account", account)
        == last
    )
    out = ok(database_url, "members", "remove", "--user", "ben@example.com", "--account", account)
    assert out == f"ben@example.com can no longer see account {account}: Sample\n"
    assert fails(
        database_url, "members", "remove", "--user", "ben@example.com", "--account", account
    ) == ("Error: There is no such member of this account.")

    updated = ok_json(database_url, "accounts", "update", account, "--timezone", "Europe/Helsinki")
    assert (updated["name"], updated["timezone"]) == ("Sample", "Europe/Helsinki")
    out = ok(database_url, "accounts", "update", account, "--name", "Renamed")
    assert out == f"Account {account}: Renamed (Europe/Helsinki)\n"
    assert "is not an IANA time zone" in fails(
        database_url, "accounts", "update", account, "--timezone", "Mars/Olympus"
    )
