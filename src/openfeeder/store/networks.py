"""The SQL of network types: what each public source (and the operator) says an autonomous
system is, by AS number (``network_types``), and when each source last changed
(``network_sources``), which tells the classifier's in-memory copy to reload."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from openfeeder.store import schema as t
from openfeeder.store.upsert import insert_or_update

OVERRIDE = "override"


@dataclass(frozen=True)
class NetworkRow:
    """One source's view of one AS."""

    asn: int
    source: str
    kind: str | None
    detail: str | None = None
    name: str | None = None
    domain: str | None = None


@dataclass(frozen=True)
class SourceInfo:
    source: str
    origin: str
    rows: int
    imported_at: datetime


_COLUMNS = (
    t.network_types.c.asn,
    t.network_types.c.source,
    t.network_types.c.kind,
    t.network_types.c.detail,
    t.network_types.c.name,
    t.network_types.c.domain,
)


def _row(values: Any) -> NetworkRow:
    asn, source, kind, detail, name, domain = values
    return NetworkRow(asn, source, kind, detail, name, domain)


def all_rows(conn: sa.Connection) -> list[NetworkRow]:
    """Every source's view of every AS (the classifier loads them into memory)."""
    return [_row(values) for values in conn.execute(sa.select(*_COLUMNS))]


def typed_rows(conn: sa.Connection) -> list[NetworkRow]:
    """The rows that type an AS or give its domain: what the classifier decides from (the
    names-only rows of bgp.tools' asns.csv are most of the table and decide nothing)."""
    c = t.network_types.c
    query = sa.select(*_COLUMNS).where(sa.or_(c.kind.is_not(None), c.domain.is_not(None)))
    return [_row(values) for values in conn.execute(query)]


def rows_for(conn: sa.Connection, asn: int) -> list[NetworkRow]:
    query = (
        sa.select(*_COLUMNS).where(t.network_types.c.asn == asn).order_by(t.network_types.c.source)
    )
    return [_row(values) for values in conn.execute(query)]


def version(conn: sa.Connection) -> tuple[datetime | None, int, int]:
    """What changes whenever any source does: the newest import time, the number of sources
    and their rows (one small table, so a cheap question to ask every minute)."""
    c = t.network_sources.c
    newest, count, rows = conn.execute(
        sa.select(
            sa.func.max(c.imported_at), sa.func.count(), sa.func.coalesce(sa.func.sum(c.rows), 0)
        )
    ).one()
    return newest, int(count), int(rows)


def sources(conn: sa.Connection) -> list[SourceInfo]:
    query = sa.select(
        t.network_sources.c.source,
        t.network_sources.c.origin,
        t.network_sources.c.rows,
        t.network_sources.c.imported_at,
    ).order_by(t.network_sources.c.source)
    return [SourceInfo(*values) for values in conn.execute(query)]


def _touch(conn: sa.Connection, source: str, origin: str, at: datetime) -> None:
    rows = conn.execute(
        sa.select(sa.func.count()).where(t.network_types.c.source == source)
    ).scalar_one()
    insert_or_update(
        conn,
        t.network_sources,
        [{"source": source, "origin": origin, "rows": rows, "imported_at": at}],
        ["source"],
        ["origin", "rows", "imported_at"],
    )


def replace_source(
    conn: sa.Connection, source: str, origin: str, rows: Sequence[NetworkRow], at: datetime
) -> None:
    """Make ``rows`` the whole of ``source``'s data, in the caller's transaction: its old rows
    go, the new ones are inserted in one executemany."""
    if any(row.source != source for row in rows):
        raise ValueError(f"every row must be of source {source!r}")
    conn.execute(sa.delete(t.network_types).where(t.network_types.c.source == source))
    if rows:
        conn.execute(sa.insert(t.network_types), [asdict(row) | {"updated_at": at} for row in rows])
    _touch(conn, source, origin, at)


def set_override(conn: sa.Connection, asn: int, kind: str, at: datetime) -> None:
    insert_or_update(
        conn,
        t.network_types,
        [{"asn": asn, "source": OVERRIDE, "kind": kind, "updated_at": at}],
        ["asn", "source"],
        ["kind", "updated_at"],
    )
    _touch(conn, OVERRIDE, "operator", at)


def unset_override(conn: sa.Connection, asn: int, at: datetime) -> bool:
    """Remove the operator's type for ``asn``; False when there was none."""
    deleted = conn.execute(
        sa.delete(t.network_types).where(
            t.network_types.c.asn == asn, t.network_types.c.source == OVERRIDE
        )
    ).rowcount
    if deleted:
        _touch(conn, OVERRIDE, "operator", at)
    return bool(deleted)
