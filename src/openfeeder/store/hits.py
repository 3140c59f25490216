"""Raw tracker hits as ingest writes them: the append (deduplicated on the account's
``clientEventId``) and the reads that tests and tools use to look at the log."""

from __future__ import annotations

import zlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

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


def insert_hits(conn: sa.Connection, rows: Sequence[dict[str, Any]]) -> set[HitKey]:
    """Insert hits, skipping any whose (account_id, client_event_id) is already stored.

    Returns the keys that were new. The rows must not repeat a key among themselves (the
    caller dedupes a batch first: a repeated key would be reported as new twice).
    """
    if not rows:
        return set()
    module = postgresql if conn.dialect.name == "postgresql" else sqlite
    statement = (
        module.insert(t.hits)
        .on_conflict_do_nothing(index_elements=["account_id", "client_event_id"])
        .returning(t.hits.c.account_id, t.hits.c.client_event_id)
    )
    # One INSERT … VALUES (…), (…) … RETURNING per few hundred rows ("insertmanyvalues"):
    # the rows skipped as duplicates are simply absent from what comes back.
    return {(row[0], row[1]) for row in conn.execute(statement, list(rows))}


def list_hits(conn: sa.Connection, account_id: int | None = None) -> list[dict[str, Any]]:
    """Every stored hit (of one account, or all), oldest first."""
    query = sa.select(t.hits).order_by(t.hits.c.id)
    if account_id is not None:
        query = query.where(t.hits.c.account_id == account_id)
    return [dict(row._mapping) for row in conn.execute(query)]


def count_hits(conn: sa.Connection, account_id: int) -> int:
    query = sa.select(sa.func.count()).select_from(t.hits).where(t.hits.c.account_id == account_id)
    return int(conn.execute(query).scalar_one())
