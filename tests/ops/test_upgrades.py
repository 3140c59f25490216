"""Upgrades: a store made by the first migration (0001), with the rows openfeeder wrote then
(written against 0001's own columns, not today's schema), is brought to head by
``openfeeder migrate`` on SQLite and PostgreSQL, and the API then shows every account, lead,
visit, feed and export as they were. A store a newer openfeeder migrated is refused by
``serve``, ``worker``, ``migrate`` and ``demo`` with one line and exit code 1."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command
from click.testing import CliRunner
from starlette.testclient import TestClient

from openfeeder import __version__
from openfeeder.cli import main
from openfeeder.config import Settings
from openfeeder.domain.ids import hash_token, lead_id, location_id
from openfeeder.store import revision
from openfeeder.store.db import Database
from openfeeder.store.engine import alembic_config
from tests.support.clients import auth, build_app
from tests.support.servers import drop_postgres_database, fresh_postgres_database

TOKEN = "upgrade-token-made-under-revision-0001"
CREATED = datetime(2026, 11, 2, 8, 30, tzinfo=UTC)
ACME, GLOBEX = "0b7c1a6e-2f43-4a55-9a0e-6f1d2c3b4a50", "5d2e8f10-7a6b-4c3d-8e9f-0a1b2c3d4e5f"
HELSINKI = location_id("FI", "Uusimaa", "Helsinki")
BERLIN = location_id("DE", "Berlin", "Berlin")
ACME_LEAD, GLOBEX_LEAD = lead_id(ACME, HELSINKI), lead_id(GLOBEX, BERLIN)


def _route(*paths: str) -> list[dict[str, Any]]:
    """A visit route as 0001's recording wrote it (the seed's shape)."""
    return [
        {
            "hostname": "www.example.com",
            "page_path": path,
            "previous_page_path": previous,
            "time_on_page": 30,
            "page_title": f"Example {path}",
            "page_url": f"https://www.example.com{path}",
            "display_page_name": path,
        }
        for previous, path in zip(("(entrance)", *paths), paths, strict=False)
    ]


# Only 0001's columns, typed where a value needs converting (JSON, times, dates).
def _table(name: str, *columns: str | sa.Column[Any]) -> sa.TableClause:
    return sa.table(name, *(sa.column(c) if isinstance(c, str) else c for c in columns))


def _at(name: str) -> sa.Column[Any]:
    return sa.Column(name, sa.DateTime(timezone=True))


def _json(name: str) -> sa.Column[Any]:
    return sa.Column(name, sa.JSON())


def _day(name: str) -> sa.Column[Any]:
    return sa.Column(name, sa.Date())


FIRST: list[tuple[sa.TableClause, list[dict[str, Any]]]] = [
    (
        _table("users", "id", "email", "name", _at("created_at")),
        [{"id": 1, "email": "anna@example.com", "name": "Anna", "created_at": CREATED}],
    ),
    (
        _table("api_tokens", "id", "user_id", "token_hash", "hint", "disabled", _at("created_at")),
        [
            {
                "id": 1,
                "user_id": 1,
                "token_hash": hash_token(TOKEN),
                "hint": TOKEN[-4:],
                "disabled": False,
                "created_at": CREATED,
            }
        ],
    ),
    (
        _table(
            "accounts",
            "id",
            "name",
            "subscription",
            "on_trial",
            _json("subscription_addons"),
            "timezone",
            "script_hash",
            _at("created_at"),
        ),
        [
            {
                "id": 7,
                "name": "Example Oy",
                "subscription": "premium",
                "on_trial": False,
                "subscription_addons": [],
                "timezone": "Europe/Helsinki",
                "script_hash": "UpgradeScriptHash0001",
                "created_at": CREATED,
            },
            {
                "id": 8,
                "name": "Example Lite",
                "subscription": "lite",
                "on_trial": True,
                "subscription_addons": [],
                "timezone": "UTC",
                "script_hash": "UpgradeScriptHash0002",
                "created_at": CREATED,
            },
        ],
    ),
    (
        _table("memberships", "user_id", "account_id"),
        [{"user_id": 1, "account_id": 7}, {"user_id": 1, "account_id": 8}],
    ),
    (
        _table(
            "companies",
            "id",
            "name",
            "domain",
            "website_url",
            "industry",
            "industry_code",
            _json("industries"),
            "employee_count",
            _at("updated_at"),
        ),
        [
            {
                "id": ACME,
                "name": "Acme Oy",
                "domain": "acme.example",
                "website_url": "https://acme.example/",
                "industry": "Software",
                "industry_code": 62,
                "industries": [{"name": "Software"}],
                "employee_count": 120,
                "updated_at": CREATED,
            },
            {
                "id": GLOBEX,
                "name": "Globex GmbH",
                "domain": "globex.example",
                "website_url": None,
                "industry": None,
                "industry_code": None,
                "industries": [],
                "employee_count": None,
                "updated_at": CREATED,
            },
        ],
    ),
    (
        _table("locations", "id", "country", "country_code", "region", "city"),
        [
            {
                "id": HELSINKI,
                "country": "Finland",
                "country_code": "FI",
                "region": "Uusimaa",
                "city": "Helsinki",
            },
            {
                "id": BERLIN,
                "country": "Germany",
                "country_code": "DE",
                "region": "Berlin",
                "city": "Berlin",
            },
        ],
    ),
    (
        _table(
            "leads",
            "pk",
            "account_id",
            "id",
            "company_id",
            "location_id",
            "assignee",
            _json("tags"),
            _at("first_visit_at"),
            _at("last_visit_at"),
            _day("first_visit_date"),
            _day("last_visit_date"),
            "visits_total",
        ),
        [
            {
                "pk": 1,
                "account_id": 7,
                "id": ACME_LEAD,
                "company_id": ACME,
                "location_id": HELSINKI,
                "assignee": "anna@example.com",
                "tags": ["hot"],
                "first_visit_at": datetime(2026, 11, 10, 9, 0, tzinfo=UTC),
                "last_visit_at": datetime(2026, 11, 12, 14, 0, tzinfo=UTC),
                "first_visit_date": date(2026, 11, 10),
                "last_visit_date": date(2026, 11, 12),
                "visits_total": 2,
            },
            {
                "pk": 2,
                "account_id": 7,
                "id": GLOBEX_LEAD,
                "company_id": GLOBEX,
                "location_id": BERLIN,
                "assignee": None,
                "tags": [],
                "first_visit_at": datetime(2026, 11, 11, 10, 0, tzinfo=UTC),
                "last_visit_at": datetime(2026, 11, 11, 10, 0, tzinfo=UTC),
                "first_visit_date": date(2026, 11, 11),
                "last_visit_date": date(2026, 11, 11),
                "visits_total": 1,
            },
        ],
    ),
    (
        _table(
            "lead_day_stats",
            "lead_pk",
            _day("day"),
            "account_id",
            "visits",
            "pageviews",
            "seconds",
            "bounces",
        ),
        [
            {
                "lead_pk": 1,
                "day": date(2026, 11, 10),
                "account_id": 7,
                "visits": 1,
                "pageviews": 3,
                "seconds": 90,
                "bounces": 0,
            },
            {
                "lead_pk": 1,
                "day": date(2026, 11, 12),
                "account_id": 7,
                "visits": 1,
                "pageviews": 1,
                "seconds": 0,
                "bounces": 1,
            },
            {
                "lead_pk": 2,
                "day": date(2026, 11, 11),
                "account_id": 7,
                "visits": 1,
                "pageviews": 2,
                "seconds": 45,
                "bounces": 0,
            },
        ],
    ),
    (
        _table(
            "visits",
            "id",
            "account_id",
            "lead_pk",
            "location_id",
            _at("started_at"),
            _day("date"),
            "hour",
            "source",
            "medium",
            "campaign",
            "referring_url",
            "page_depth",
            "visit_length",
            _json("visit_route"),
            "lf_client_id",
            _json("ga_client_ids"),
            "country_code",
            "device_type",
            "match_source",
            "match_reason",
        ),
        [
            {
                "id": "11111111-1111-4111-8111-111111111111",
                "account_id": 7,
                "lead_pk": 1,
                "location_id": HELSINKI,
                "started_at": datetime(2026, 11, 10, 9, 0, tzinfo=UTC),
                "date": date(2026, 11, 10),
                "hour": 11,
                "source": "google",
                "medium": "organic",
                "campaign": None,
                "referring_url": "https://www.google.com/",
                "page_depth": 3,
                "visit_length": 90,
                "visit_route": _route("/", "/pricing", "/contact"),
                "lf_client_id": "LF1.1.abc.1",
                "ga_client_ids": [],
                "country_code": "FI",
                "device_type": "desktop",
                "match_source": "asn",
                "match_reason": "AS64500 Acme Oy",
            },
            {
                "id": "22222222-2222-4222-8222-222222222222",
                "account_id": 7,
                "lead_pk": 1,
                "location_id": HELSINKI,
                "started_at": datetime(2026, 11, 12, 14, 0, tzinfo=UTC),
                "date": date(2026, 11, 12),
                "hour": 16,
                "source": "(direct)",
                "medium": "(none)",
                "campaign": None,
                "referring_url": None,
                "page_depth": 1,
                "visit_length": 0,
                "visit_route": _route("/pricing"),
                "lf_client_id": "LF1.1.abc.1",
                "ga_client_ids": [],
                "country_code": "FI",
                "device_type": "mobile",
                "match_source": "asn",
                "match_reason": "AS64500 Acme Oy",
            },
            {
                "id": "33333333-3333-4333-8333-333333333333",
                "account_id": 7,
                "lead_pk": 2,
                "location_id": BERLIN,
                "started_at": datetime(2026, 11, 11, 10, 0, tzinfo=UTC),
                "date": date(2026, 11, 11),
                "hour": 12,
                "source": "newsletter",
                "medium": "email",
                "campaign": "november",
                "referring_url": None,
                "page_depth": 2,
                "visit_length": 45,
                "visit_route": _route("/", "/blog"),
                "lf_client_id": None,
                "ga_client_ids": ["GA1.2.3.4"],
                "country_code": "DE",
                "device_type": "desktop",
                "match_source": "rdns",
                "match_reason": "mail.globex.example",
            },
        ],
    ),
    (
        _table("visit_pages", "visit_id", "position", "lead_pk", _day("date"), "page_url"),
        [
            {"visit_id": visit, "position": position, "lead_pk": lead, "date": day, "page_url": url}
            for visit, lead, day, paths in (
                (
                    "11111111-1111-4111-8111-111111111111",
                    1,
                    date(2026, 11, 10),
                    ("/", "/pricing", "/contact"),
                ),
                ("22222222-2222-4222-8222-222222222222", 1, date(2026, 11, 12), ("/pricing",)),
                ("33333333-3333-4333-8333-333333333333", 2, date(2026, 11, 11), ("/", "/blog")),
            )
            for position, url in enumerate(f"https://www.example.com{p}" for p in paths)
        ],
    ),
    (
        _table("custom_feeds", "id", "account_id", "name", _json("criteria")),
        [
            {
                "id": 3,
                "account_id": 7,
                "name": "Finland",
                "criteria": [
                    {
                        "criterion_type": "country_code",
                        "search_value": "FI",
                        "excluded": False,
                        "display_value": "Finland",
                    }
                ],
            }
        ],
    ),
    (
        _table(
            "export_requests",
            "id",
            "account_id",
            "user_id",
            "feed_id",
            _day("start_date"),
            _day("end_date"),
            "status",
            "attempts",
            "error",
            "file_name",
            _at("created_at"),
            _at("finished_at"),
            _at("expires_at"),
        ),
        [
            {
                "id": "aaaaaaaa-0000-4000-8000-000000000001",
                "account_id": 7,
                "user_id": 1,
                "feed_id": "all_leads",
                "start_date": date(2026, 11, 1),
                "end_date": date(2026, 11, 30),
                "status": "failed",
                "attempts": 3,
                "error": "the export could not be written",
                "file_name": None,
                "created_at": CREATED,
                "finished_at": CREATED,
                "expires_at": None,
            },
            {
                "id": "aaaaaaaa-0000-4000-8000-000000000002",
                "account_id": 7,
                "user_id": 1,
                "feed_id": "3",
                "start_date": date(2026, 11, 1),
                "end_date": date(2026, 11, 30),
                "status": "processed",
                "attempts": 1,
                "error": None,
                "file_name": "export-made-under-0001.json",
                "created_at": CREATED,
                "finished_at": CREATED,
                "expires_at": datetime(2099, 1, 1, tzinfo=UTC),
            },
        ],
    ),
]


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty store of each backend, this test's own (it is migrated one step at a time)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'first.db'}"
        return
    url = fresh_postgres_database(f"openfeeder_upgrade_{os.getpid()}")
    yield url
    drop_postgres_database(url)


def cli(url: str, *args: str) -> Any:
    return CliRunner().invoke(main, list(args), env={"OPENFEEDER_DATABASE_URL": url})


def test_a_store_of_the_first_schema_upgrades_with_everything_intact(
    empty_url: str, tmp_path: Path
) -> None:
    db = Database(empty_url)
    try:
        command.upgrade(alembic_config(db.engine), "0001")
        with db.write() as conn:
            for table, rows in FIRST:
                conn.execute(table.insert(), rows)
        assert revision.state(db.engine).current == "0001"
    finally:
        db.dispose()

    migrated = cli(empty_url, "migrate")
    assert migrated.exit_code == 0, migrated.output
    db = Database(empty_url)
    try:
        assert revision.state(db.engine).at_head
    finally:
        db.dispose()

    settings = Settings(
        database_url=empty_url,
        data_dir=tmp_path / "data",
        pipeline_in_process=False,
        run_jobs_in_process=False,
        public_url="https://leads.example.com",
    )
    token = auth(TOKEN)
    with TestClient(build_app(settings)) as client:
        accounts = client.get("/accounts", headers=token).json()["data"]
        assert [(a["id"], a["attributes"]["name"]) for a in accounts] == [
            ("7", "Example Oy"),
            ("8", "Example Lite"),
        ]

        interval = {"start_date": "2026-11-01", "end_date": "2026-11-30"}
        leads = client.get("/accounts/7/leads", params=interval, headers=token)
        assert leads.status_code == 200, leads.text
        by_id = {lead["id"]: lead["attributes"] for lead in leads.json()["data"]}
        assert set(by_id) == {ACME_LEAD, GLOBEX_LEAD}
        assert by_id[ACME_LEAD]["name"] == "Acme Oy"
        assert by_id[ACME_LEAD]["visits"] == 2
        assert by_id[ACME_LEAD]["assignee"] == "anna@example.com"
        assert by_id[ACME_LEAD]["tags"] == ["hot"]
        assert by_id[GLOBEX_LEAD]["visits"] == 1
        # The order the lead walk keeps (migration 0007 filled its last visit times).
        assert [lead["id"] for lead in leads.json()["data"]] == [ACME_LEAD, GLOBEX_LEAD]

        lead = client.get(f"/accounts/7/leads/{ACME_LEAD}", headers=token).json()
        assert lead["data"]["attributes"]["visits"] == 2
        assert lead["included"][0]["attributes"]["city"] == "Helsinki"

        visits = client.get("/accounts/7/visits", params=interval, headers=token).json()["data"]
        assert [v["id"] for v in visits] == [
            "22222222-2222-4222-8222-222222222222",
            "33333333-3333-4333-8333-333333333333",
            "11111111-1111-4111-8111-111111111111",
        ]
        first = visits[-1]["attributes"]
        assert [page["page_path"] for page in first["visit_route"]] == ["/", "/pricing", "/contact"]
        assert (first["source"], first["page_depth"], first["visit_length"]) == ("google", 3, 90)

        feed = client.get("/accounts/7/custom-feeds/3", headers=token).json()["data"]
        assert feed["attributes"]["name"] == "Finland"
        in_feed = client.get("/accounts/7/custom-feeds/3/leads", params=interval, headers=token)
        assert [lead["id"] for lead in in_feed.json()["data"]] == [ACME_LEAD]

        failed = client.get("/export-requests/aaaaaaaa-0000-4000-8000-000000000001", headers=token)
        assert failed.json()["data"]["attributes"]["status"] == "failed"
        done = client.get("/export-requests/aaaaaaaa-0000-4000-8000-000000000002", headers=token)
        attributes = done.json()["data"]["attributes"]
        assert attributes["status"] == "processed"
        # Requested before 0005 kept the request's address: links use the configured one.
        assert attributes["download_url"] == (
            "https://leads.example.com/download/export-made-under-0001.json"
        )

    again = cli(empty_url, "migrate")  # idempotent at head
    assert again.exit_code == 0, again.output


def _newer(url: str) -> None:
    db = Database(url)
    try:
        db.migrate()
        with db.write() as conn:
            conn.exec_driver_sql("UPDATE alembic_version SET version_num = '0099_from_the_future'")
    finally:
        db.dispose()


REFUSAL = (
    f"Error: the database is at schema revision 0099_from_the_future, which openfeeder "
    f"{__version__} does not know (its newest is {revision.head()}): it was migrated by a newer "
    "openfeeder; run that version, or restore a backup taken before the upgrade"
)


@pytest.mark.parametrize("args", [("serve", "--port", "0"), ("worker",), ("migrate",), ("demo",)])
def test_a_store_migrated_by_a_newer_openfeeder_is_refused(
    tmp_path: Path, args: tuple[str, ...]
) -> None:
    url = f"sqlite:///{tmp_path / 'newer.db'}"
    _newer(url)
    program = Path(sys.executable).with_name("openfeeder")
    done = subprocess.run(
        [str(program), *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={
            "OPENFEEDER_DATABASE_URL": url,
            "OPENFEEDER_DATA_DIR": str(tmp_path / "data"),
            "OPENFEEDER_GEOIP_UPDATE_INTERVAL": "0",
            "PATH": str(program.parent),
        },
        check=False,
    )
    assert done.returncode == 1, done.stdout + done.stderr
    assert done.stderr.splitlines() == [REFUSAL]
    assert done.stdout == ""
    db = Database(url)
    try:
        assert revision.state(db.engine).current == "0099_from_the_future"  # left as it was
    finally:
        db.dispose()
