"""Fixtures every package's tests share: one parametrised store fixture runs every store test
on SQLite and on PostgreSQL; Redis tests use a real server. Without a server its tests skip
with the reason, except under CI, where a missing server fails the run.

The tests mirror ``src/openfeeder`` (``tests/<package>/test_<module>.py``); each package's
own shared fixtures are in its ``conftest.py``, the helpers in ``tests/support/``."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from openfeeder.config import Settings
from openfeeder.store import schema
from openfeeder.store.db import Database
from tests.support.servers import (
    REDIS_URL,
    drop_postgres_database,
    fresh_postgres_database,
    unavailable,
)

# No scheduled IP database download in anything the tests start (CLI commands, serve and
# worker processes that inherit this environment): tests talk only to 127.0.0.1. The tests of
# the schedule turn it on themselves.
os.environ.setdefault("OPENFEEDER_GEOIP_UPDATE_INTERVAL", "0")

# The support modules that define fixtures: the test data builders and the application's
# client; every test can ask for theirs by name.
pytest_plugins = ["tests.support.factories", "tests.support.clients"]


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str]:
    """A migrated PostgreSQL database of our own, shared by the session's tests."""
    url = fresh_postgres_database(f"openfeeder_test_{os.getpid()}")
    db = Database(url)
    db.migrate()
    db.dispose()
    yield url
    drop_postgres_database(url)


def _truncate(db: Database) -> None:
    tables = ", ".join(table.name for table in schema.metadata.sorted_tables)
    with db.write() as conn:
        conn.exec_driver_sql(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")


@pytest.fixture(
    params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)],
)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty, migrated store on each backend."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'openfeeder.db'}"
        db = Database(url)
        db.migrate()
        db.dispose()
        return url
    url: str = request.getfixturevalue("postgres_database")
    db = Database(url)
    _truncate(db)
    db.dispose()
    return url


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    # Tests run the pipeline themselves (Pipeline.run_once) unless they say otherwise.
    return Settings(
        database_url=database_url,
        data_dir=tmp_path / "data",
        redis_url=None,
        pipeline_in_process=False,
    )


@pytest.fixture
def db(settings: Settings) -> Iterator[Database]:
    database = Database(settings.database_url)
    yield database
    database.dispose()


@pytest.fixture
def redis_url() -> str:
    """A real Redis (database 15, flushed before the test)."""
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.flushdb()
    except redis.exceptions.ConnectionError as error:
        unavailable("Redis", error)
    finally:
        client.close()
    return REDIS_URL


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Say how many tests ran on each backend, so a CI log shows both at a glance."""
    counts: dict[str, dict[str, int]] = {}
    for outcome in ("passed", "failed", "skipped", "error"):
        for report in terminalreporter.stats.get(outcome, []):
            nodeid = getattr(report, "nodeid", "")
            for backend in ("sqlite", "postgresql", "redis"):
                if f"[{backend}" in nodeid or f"-{backend}" in nodeid:
                    counts.setdefault(backend, {}).setdefault(outcome, 0)
                    counts[backend][outcome] += 1
    if counts:
        terminalreporter.section("openfeeder backends")
        for backend, by_outcome in sorted(counts.items()):
            summary = ", ".join(f"{n} {outcome}" for outcome, n in sorted(by_outcome.items()))
            terminalreporter.write_line(f"{backend}: {summary}")
