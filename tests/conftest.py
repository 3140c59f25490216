"""Shared fixtures: one parametrised store fixture runs every store test on SQLite and on
PostgreSQL; Redis tests use a real server. Without a server its tests skip with the reason,
except under CI, where a missing server fails the run."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from openfeeder.config import Settings
from openfeeder.store import schema
from openfeeder.store.db import Database
from openfeeder.store.engine import create_engine

POSTGRES_URL = os.environ.get(
    "OPENFEEDER_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)
REDIS_URL = os.environ.get("OPENFEEDER_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
IN_CI = bool(os.environ.get("CI"))


def unavailable(what: str, error: Exception) -> None:
    """Skip (or, under CI, fail) a test whose server is not there."""
    message = f"{what} is not reachable ({error.__class__.__name__}: {error})"
    if IN_CI:
        pytest.fail(f"{message}; CI requires it")
    pytest.skip(message)


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str]:
    """A migrated PostgreSQL database of our own next to the server's ``test`` database."""
    admin = create_engine(POSTGRES_URL)
    name = f"openfeeder_test_{os.getpid()}"
    try:
        with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}"')
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    except sa.exc.OperationalError as error:
        admin.dispose()
        unavailable("PostgreSQL", error)
    url = admin.url.set(database=name).render_as_string(hide_password=False)
    db = Database(url)
    db.migrate()
    db.dispose()
    yield url
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.dispose()


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
    return Settings(database_url=database_url, data_dir=tmp_path / "data", redis_url=None)


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
