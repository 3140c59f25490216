"""Portable INSERT … ON CONFLICT for the two backends (their dialects share the API)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite


def _insert(conn: sa.Connection, table: sa.Table) -> Any:
    module = postgresql if conn.dialect.name == "postgresql" else sqlite
    return module.insert(table)


def insert_ignore(
    conn: sa.Connection, table: sa.Table, rows: Sequence[dict[str, Any]], keys: Sequence[str]
) -> None:
    if rows:
        conn.execute(_insert(conn, table).on_conflict_do_nothing(index_elements=keys), rows)


def insert_or_update(
    conn: sa.Connection,
    table: sa.Table,
    rows: Sequence[dict[str, Any]],
    keys: Sequence[str],
    update: Sequence[str],
) -> None:
    if not rows:
        return
    stmt = _insert(conn, table)
    stmt = stmt.on_conflict_do_update(
        index_elements=keys, set_={name: stmt.excluded[name] for name in update}
    )
    conn.execute(stmt, rows)
