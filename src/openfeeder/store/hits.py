"""Raw tracker hits as ingest writes them: the append (deduplicated on the account's
``clientEventId``) and the reads that tests and tools use to look at the log."""

from __future__ import annotations

import json
import zlib
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, Final

import orjson
import sqlalchemy as sa

from openfeeder.store import schema as t
from openfeeder.store.db import Database

# The hit log is split by visitor into this many shards: ingest files each hit under its
# visitor's shard, and a pipeline worker claims one shard at a time, so one visitor's hits
# are processed in order by one worker.
SHARDS: Final = 16
HitKey = tuple[int, str]  # (account_id, client_event_id)
# Errors caused by the rows written rather than by the store: the same rows fail again, other
# rows would not (a foreign key to a deleted account, a value too long for its column).
ROW_ERRORS = (sa.exc.IntegrityError, sa.exc.DataError)


def shard_of(visitor_key: str) -> int:
    return zlib.crc32(visitor_key.encode()) % SHARDS


@contextmanager
def durable_write(db: Database) -> Iterator[sa.Connection]:
    """A write transaction whose commit survives a power cut, not only a crash of this process.

    The store runs SQLite with ``synchronous=NORMAL`` (a commit can be lost with the OS, never
    with the process); an acknowledged hit must not be lost at all, so this commit syncs the
    WAL. The cost is one fsync per group commit, shared by every hit in it. PostgreSQL
    commits synchronously unless a server was configured otherwise; ``SET LOCAL`` insists.
    """
    with db.engine.connect() as conn:
        on_sqlite = conn.dialect.name == "sqlite"
        if on_sqlite:
            # Outside any transaction, on the raw connection: the pragma is per connection.
            conn.connection.driver_connection.execute("PRAGMA synchronous=FULL")  # type: ignore[union-attr]
        try:
            with conn.begin():
                if not on_sqlite:
                    conn.exec_driver_sql("SET LOCAL synchronous_commit = on")
                yield conn
        finally:
            if on_sqlite and not conn.invalidated:
                conn.connection.driver_connection.execute("PRAGMA synchronous=NORMAL")  # type: ignore[union-attr]


# (account_id, client_event_id, received_at (aware), ip, user_agent, accept_language,
#  request_meta, visitor_key, shard, payload): one hit as ``insert_hits`` takes it.
HitRow = tuple[
    int, str, datetime, str, str | None, str | None, Mapping[str, str], str, int, Mapping[str, Any]
]
_SQLITE_INSERT: Final = (
    "INSERT INTO hits (account_id, client_event_id, received_at, ip, user_agent, "
    "accept_language, request_meta, visitor_key, shard, payload) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
    "ON CONFLICT (account_id, client_event_id) DO NOTHING"
)
# One statement per batch however many rows: each column is sent as one array.
_POSTGRES_INSERT: Final = (
    "INSERT INTO hits (account_id, client_event_id, received_at, ip, user_agent, "
    "accept_language, request_meta, visitor_key, shard, payload) "
    "SELECT a, e, r, i, u, l, m::json, v, s, p::json FROM unnest("
    "%s::int4[], %s::text[], %s::timestamptz[], %s::text[], %s::text[], %s::text[], "
    "%s::text[], %s::text[], %s::int2[], %s::text[]) AS t(a, e, r, i, u, l, m, v, s, p) "
    "ON CONFLICT (account_id, client_event_id) DO NOTHING "
    "RETURNING account_id, client_event_id"
)


def _json(value: Mapping[str, Any]) -> str:
    try:
        return orjson.dumps(value).decode()
    except TypeError:  # what orjson refuses (a lone surrogate, say) the standard library escapes
        return json.dumps(value)


def _sqlite_time(value: datetime) -> str:
    # The text SQLAlchemy's SQLite DATETIME writes (UTC, microseconds always), so the
    # ``Timestamp`` column reads these rows back like any other.
    if value.tzinfo is None:
        raise ValueError("naive datetime given to a UTC column")
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def insert_hits(conn: sa.Connection, rows: Sequence[HitRow]) -> set[HitKey]:
    """Insert hits, skipping any whose (account_id, client_event_id) is already stored.

    Returns the keys that were new. The rows must not repeat a key among themselves (the
    caller dedupes a batch first: a repeated key would be reported as new twice).

    This is ingest's one hot statement, so it goes to the driver directly (BENCHMARKS.md,
    "Tracker over HTTP"): SQLite runs one prepared INSERT per row (C code, no round trip)
    and reads whether it inserted; PostgreSQL gets one INSERT … SELECT FROM unnest(arrays)
    … RETURNING per batch. A driver error is raised as SQLAlchemy's (``ROW_ERRORS`` …).
    """
    if not rows:
        return set()
    driver = conn.connection.driver_connection
    on_sqlite = conn.dialect.name == "sqlite"
    statement = _SQLITE_INSERT if on_sqlite else _POSTGRES_INSERT
    cursor: Any = driver.cursor()  # type: ignore[union-attr]
    try:
        if on_sqlite:
            return _sqlite_insert(cursor, rows)
        columns: list[list[Any]] = [list(column) for column in zip(*rows, strict=True)]
        columns[6] = [_json(meta) for meta in columns[6]]
        columns[9] = [_json(payload) for payload in columns[9]]
        cursor.execute(statement, columns)
        return {(row[0], row[1]) for row in cursor.fetchall()}
    except conn.dialect.loaded_dbapi.Error as error:
        if conn.dialect.is_disconnect(error, conn.connection.dbapi_connection, cursor):
            conn.invalidate(error)
        raise sa.exc.DBAPIError.instance(
            statement, None, error, conn.dialect.loaded_dbapi.Error
        ) from error
    finally:
        cursor.close()


def _sqlite_insert(cursor: Any, rows: Sequence[HitRow]) -> set[HitKey]:
    new: set[HitKey] = set()
    for row in rows:
        values = (
            *row[:2],
            _sqlite_time(row[2]),
            *row[3:6],
            _json(row[6]),
            row[7],
            row[8],
            _json(row[9]),
        )
        cursor.execute(_SQLITE_INSERT, values)
        if cursor.rowcount == 1:
            new.add((row[0], row[1]))
    return new


def list_hits(conn: sa.Connection, account_id: int | None = None) -> list[dict[str, Any]]:
    """Every stored hit (of one account, or all), oldest first."""
    query = sa.select(t.hits).order_by(t.hits.c.id)
    if account_id is not None:
        query = query.where(t.hits.c.account_id == account_id)
    return [dict(row._mapping) for row in conn.execute(query)]


def count_hits(conn: sa.Connection, account_id: int) -> int:
    query = sa.select(sa.func.count()).select_from(t.hits).where(t.hits.c.account_id == account_id)
    return int(conn.execute(query).scalar_one())
