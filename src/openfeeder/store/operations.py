"""What operators watch, read from the store: where a SQLite store's file is (gone is not
ready), how long the oldest waiting tracker hit has waited, export requests by status and
alert deliveries by state."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import sqlalchemy as sa

from openfeeder.store import pipeline
from openfeeder.store import schema as t
from openfeeder.store.hits import SHARDS


def sqlite_file(engine: sa.Engine) -> Path | None:
    """The file of a SQLite store (None for PostgreSQL and in-memory SQLite). SQLite would
    create a removed file again, empty, on the next connection: readiness looks first."""
    url = engine.url
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return None
    return Path(url.database)


def oldest_waiting_hit(conn: sa.Connection) -> datetime | None:
    """When the oldest hit the pipeline has not processed yet was received."""
    return pipeline.oldest_unprocessed(conn, SHARDS)


def exports_by_status(conn: sa.Connection) -> dict[str, int]:
    e = t.export_requests
    rows = conn.execute(sa.select(e.c.status, sa.func.count()).group_by(e.c.status))
    return {str(status): int(count) for status, count in rows}


def alert_deliveries_by_state(conn: sa.Connection) -> dict[str, int]:
    """Alert deliveries by status, with the pending ones that have failed at least once
    (waiting for a retry) counted apart as ``retrying``."""
    d = t.alert_deliveries
    retrying = sa.and_(d.c.status == "pending", d.c.attempts > 0)
    state = sa.case((retrying, "retrying"), else_=d.c.status)
    rows = conn.execute(sa.select(state, sa.func.count()).group_by(state))
    return {str(name): int(count) for name, count in rows}
