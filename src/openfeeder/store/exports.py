"""Export requests: their rows, the job's claim → heartbeat → finish/release/fail steps (each
fenced by the attempt number, so a worker that lost its claim cannot overwrite a newer
attempt), the reaper's queries, and the snapshot an export file is read in (its rows are
read by ``store.export_rows``).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from openfeeder.domain.models import ExportRequest, User
from openfeeder.store import schema as t
from openfeeder.store.db import Database

_e = t.export_requests
_PENDING = "pending"


def _request(row: Any) -> ExportRequest:
    return ExportRequest(
        id=row.id,
        account_id=row.account_id,
        user_id=row.user_id,
        feed_id=row.feed_id,
        start_date=row.start_date,
        end_date=row.end_date,
        status=row.status,
        attempts=row.attempts,
        error=row.error,
        file_name=row.file_name,
        created_at=row.created_at,
        expires_at=row.expires_at,
        request_base_url=row.request_base_url,
    )


def insert(conn: sa.Connection, request: ExportRequest) -> None:
    values = {
        "id": request.id,
        "account_id": request.account_id,
        "user_id": request.user_id,
        "feed_id": request.feed_id,
        "start_date": request.start_date,
        "end_date": request.end_date,
        "status": request.status,
        "attempts": request.attempts,
        "error": request.error,
        "file_name": request.file_name,
        "created_at": request.created_at,
        "expires_at": request.expires_at,
        "request_base_url": request.request_base_url,
    }
    conn.execute(_e.insert().values(values))


def get(conn: sa.Connection, export_id: str) -> ExportRequest | None:
    row = conn.execute(sa.select(_e).where(_e.c.id == export_id)).first()
    return _request(row) if row else None


def lock(conn: sa.Connection, export_id: str) -> tuple[ExportRequest, datetime | None] | None:
    """The request and its heartbeat, row-locked until the transaction ends.

    PostgreSQL needs the row lock so two workers cannot both claim; SQLite write transactions
    already run one at a time (BEGIN IMMEDIATE), and the FOR UPDATE clause is not rendered.
    """
    query = sa.select(_e).where(_e.c.id == export_id).with_for_update()
    row = conn.execute(query).first()
    return (_request(row), row.heartbeat_at) if row else None


def by_file_name(conn: sa.Connection, file_name: str) -> ExportRequest | None:
    row = conn.execute(sa.select(_e).where(_e.c.file_name == file_name)).first()
    return _request(row) if row else None


def requester(conn: sa.Connection, user_id: int) -> User | None:
    row = conn.execute(sa.select(t.users).where(t.users.c.id == user_id)).first()
    return User(row.id, row.email, row.name) if row else None


def _fenced(export_id: str, attempt: int) -> sa.ColumnElement[bool]:
    """The row is still pending and still on this attempt (no one took it over since)."""
    return sa.and_(_e.c.id == export_id, _e.c.status == _PENDING, _e.c.attempts == attempt)


def start(conn: sa.Connection, export_id: str, attempt: int, now: datetime) -> None:
    """Record a claim (call inside the transaction that ``lock``-ed the row)."""
    conn.execute(_e.update().where(_e.c.id == export_id).values(attempts=attempt, heartbeat_at=now))


def heartbeat(conn: sa.Connection, export_id: str, attempt: int, now: datetime) -> bool:
    """False when the claim is gone: another attempt took over or the request ended."""
    result = conn.execute(_e.update().where(_fenced(export_id, attempt)).values(heartbeat_at=now))
    return result.rowcount == 1


def finish(
    conn: sa.Connection,
    export_id: str,
    attempt: int,
    file_name: str,
    now: datetime,
    expires_at: datetime,
) -> bool:
    result = conn.execute(
        _e.update()
        .where(_fenced(export_id, attempt))
        .values(
            status="processed",
            file_name=file_name,
            error=None,
            heartbeat_at=None,
            finished_at=now,
            expires_at=expires_at,
        )
    )
    return result.rowcount == 1


def release(conn: sa.Connection, export_id: str, attempt: int, error: str) -> bool:
    """Give a failed attempt's claim back (heartbeat cleared) so a retry may claim it."""
    result = conn.execute(
        _e.update().where(_fenced(export_id, attempt)).values(heartbeat_at=None, error=error)
    )
    return result.rowcount == 1


def fail(
    conn: sa.Connection,
    export_id: str,
    error: str,
    now: datetime,
    *,
    attempt: int | None = None,
    unless_beating_after: datetime | None = None,
) -> bool:
    """End a pending request as failed.

    ``attempt`` fences the update to one claim; ``unless_beating_after`` leaves the row alone
    while some worker's heartbeat is newer than that instant (it is still working on it).
    """
    where = [_e.c.id == export_id, _e.c.status == _PENDING]
    if attempt is not None:
        where.append(_e.c.attempts == attempt)
    if unless_beating_after is not None:
        where.append(sa.or_(_e.c.heartbeat_at.is_(None), _e.c.heartbeat_at < unless_beating_after))
    result = conn.execute(
        _e.update()
        .where(*where)
        .values(status="failed", error=error, heartbeat_at=None, finished_at=now)
    )
    return result.rowcount == 1


def stale(conn: sa.Connection, before: datetime, limit: int = 100) -> list[tuple[str, int]]:
    """Pending requests whose worker stopped beating before ``before``: (id, attempts)."""
    query = (
        sa.select(_e.c.id, _e.c.attempts)
        .where(_e.c.status == _PENDING, _e.c.heartbeat_at < before)
        .order_by(_e.c.heartbeat_at)
        .limit(limit)
    )
    return [(row.id, row.attempts) for row in conn.execute(query)]


def requeue(conn: sa.Connection, export_id: str, before: datetime) -> bool:
    """Clear a stale heartbeat; False when another reaper or a late heartbeat got there first."""
    result = conn.execute(
        _e.update()
        .where(_e.c.id == export_id, _e.c.status == _PENDING, _e.c.heartbeat_at < before)
        .values(heartbeat_at=None)
    )
    return result.rowcount == 1


def never_started(conn: sa.Connection, created_before: datetime, limit: int = 100) -> list[str]:
    """Pending requests nobody is working on, created before ``created_before``."""
    query = (
        sa.select(_e.c.id)
        .where(
            _e.c.status == _PENDING,
            _e.c.heartbeat_at.is_(None),
            _e.c.created_at < created_before,
        )
        .order_by(_e.c.created_at)
        .limit(limit)
    )
    return list(conn.execute(query).scalars())


def live_files(conn: sa.Connection, file_names: Sequence[str], now: datetime) -> set[str]:
    """Which of these export files belong to a processed request that has not expired."""
    query = sa.select(_e.c.file_name).where(
        _e.c.file_name.in_(file_names), _e.c.status == "processed", _e.c.expires_at > now
    )
    return set(conn.execute(query).scalars())


@contextmanager
def snapshot(db: Database) -> Iterator[sa.Connection]:
    """A read-only transaction in which several queries see one consistent state.

    An export reads the leads, then the locations they name; without a snapshot a lead
    changed in between could name a location the second query does not return. SQLite's deferred
    read transaction is a snapshot already; PostgreSQL needs REPEATABLE READ for it.
    """
    with db.engine.connect() as raw:
        conn = raw.execution_options(readonly=True)
        if conn.dialect.name == "postgresql":
            conn = conn.execution_options(
                isolation_level="REPEATABLE READ", postgresql_readonly=True
            )
        with conn.begin():
            yield conn
