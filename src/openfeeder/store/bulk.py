"""Many rows written in one go through the bare driver, for the pipeline's batch writes.

SQLAlchemy Core's per-row parameter handling (building each row's parameters, its type
processors, stdlib json) cost more than the database's own work for a batch's hundreds of
visits and pages. Here every value is converted by its column type's own bind processor
(so the stored form is the one Core stores; the converters are looked up once per table,
columns and dialect), JSON by orjson, and the rows go to the driver as plain tuples.

Columns left out get no Python-side default: callers name every column they fill.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import orjson
import sqlalchemy as sa

# Each column's value converter, by table, columns and dialect.
_CONVERTERS: dict[tuple[str, tuple[str, ...], str], tuple[Callable[[Any], Any] | None, ...]] = {}


def write_rows(
    conn: sa.Connection,
    table: sa.Table,
    columns: Sequence[str],
    rows: Iterable[Sequence[Any]],
    *,
    keys: Sequence[str] = (),
    update: Sequence[str] | Mapping[str, str] | None = None,
) -> None:
    """INSERT the rows (values in ``columns`` order). With ``keys``, a row whose key is
    taken is skipped (``update`` None) or updates the ``update`` columns from the row, or
    to the SQL expressions ``update`` maps them to (``excluded.<name>`` is the row's
    value); a key must then appear once among the rows.

    SQLite (in process, no round trips) gets one ``executemany``. PostgreSQL gets COPY for
    plain inserts, and for the others one multi-row ``VALUES`` statement per
    ``_ROWS_PER_STATEMENT`` rows, which its server runs as one statement, not one per row."""
    params = converted(conn, table, columns, rows)
    if not params:
        return
    suffix = _conflict(tuple(keys), update)
    if conn.dialect.name == "postgresql" and not keys:
        _copy(conn, table, columns, params)
        return
    head = f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES "  # noqa: S608 - schema names
    if conn.dialect.paramstyle == "qmark":
        conn.exec_driver_sql(head + _values("?", len(columns), 1) + suffix, params)
        return
    for begin in range(0, len(params), _ROWS_PER_STATEMENT):
        chunk = params[begin : begin + _ROWS_PER_STATEMENT]
        flat = tuple(value for row in chunk for value in row)
        conn.exec_driver_sql(head + _values("%s", len(columns), len(chunk)) + suffix, flat)


def _copy(
    conn: sa.Connection, table: sa.Table, columns: Sequence[str], rows: list[tuple[Any, ...]]
) -> None:
    """PostgreSQL's COPY FROM STDIN in the caller's transaction: about ten times faster than
    row-by-row INSERTs for a batch's visits and pages."""
    driver = conn.connection.driver_connection
    assert driver is not None
    with (
        driver.cursor() as cursor,
        cursor.copy(f"COPY {table.name} ({', '.join(columns)}) FROM STDIN") as copy,
    ):
        for row in rows:
            copy.write_row(row)


def converted(
    conn: sa.Connection, table: sa.Table, columns: Sequence[str], rows: Iterable[Sequence[Any]]
) -> list[tuple[Any, ...]]:
    """The rows' values as the driver takes them, converted by their columns' types."""
    convert = [(i, f) for i, f in enumerate(_converters(conn.dialect, table, tuple(columns))) if f]
    if not convert:
        return [tuple(row) for row in rows]
    out = []
    for row in rows:
        values = list(row)
        for i, f in convert:  # only the few columns that need it (times, dates, JSON)
            values[i] = f(values[i])
        out.append(tuple(values))
    return out


# Rows per multi-row statement on PostgreSQL: well under its 65 535 parameters for the
# widest table, and the same few statement texts batch after batch.
_ROWS_PER_STATEMENT = 500


def _values(mark: str, width: int, count: int) -> str:
    row = f"({', '.join([mark] * width)})"
    return ", ".join([row] * count)


def _conflict(keys: tuple[str, ...], update: Sequence[str] | Mapping[str, str] | None) -> str:
    if not keys:
        return ""
    if not update:
        return f" ON CONFLICT ({', '.join(keys)}) DO NOTHING"
    if not isinstance(update, Mapping):
        update = {name: f"excluded.{name}" for name in update}
    sets = ", ".join(f"{name} = {value}" for name, value in update.items())
    return f" ON CONFLICT ({', '.join(keys)}) DO UPDATE SET {sets}"


def _converters(
    dialect: sa.Dialect, table: sa.Table, columns: tuple[str, ...]
) -> tuple[Callable[[Any], Any] | None, ...]:
    wanted = (table.name, columns, dialect.name)
    found = _CONVERTERS.get(wanted)
    if found is None:
        found = _CONVERTERS[wanted] = tuple(_converter(table.c[c], dialect) for c in columns)
    return found


def _converter(column: sa.Column[Any], dialect: sa.Dialect) -> Callable[[Any], Any] | None:
    if isinstance(column.type, sa.JSON):
        # None as JSON null, as Core stores it for these columns (none_as_null is off).
        return _json_text
    processor: Callable[[Any], Any] | None = column.type.dialect_impl(dialect).bind_processor(
        dialect
    )
    return processor


def _json_text(value: Any) -> str:
    return orjson.dumps(value).decode()
