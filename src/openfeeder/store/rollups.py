"""The overview's per-account, per-day rollups: visits and pageviews per day, pageviews per
page URL and visits per (source, medium).

The recording path keeps them as it keeps ``lead_day_stats``: each batch adds its
differences (a replaced visit is taken away as it was stored and added as it is now), so
they stay equal to counting the visits and pages themselves without rereading them. They
are per account and day only, so a visit that moves to another lead changes nothing here.

Page URLs are visitor-supplied: a row is keyed by a hash of the whole URL and keeps its
first ``URL_WIDTH`` characters for showing, so two long URLs that share that prefix stay
two rows, as they are two URLs. A day holds at most one row per distinct URL and per
distinct (source, medium) pair, which is never more than its pageviews and visits.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from typing import Any

import orjson
import sqlalchemy as sa

from openfeeder.store import schema as t
from openfeeder.store.bulk import write_rows

URL_WIDTH = t.account_day_pages.c.url.type.length  # type: ignore[attr-defined]


def key_hash(*parts: str | None) -> str:
    """The rollup key of a URL or a (source, medium) pair: 128 bits of BLAKE2b of its JSON
    (so an unknown part and an empty one differ)."""
    return hashlib.blake2b(orjson.dumps(parts), digest_size=16).hexdigest()


class Differences:
    """What a batch adds to and takes away from the rollups, summed per key."""

    def __init__(self) -> None:
        self.days: dict[tuple[int, date], list[int]] = {}
        self.pages: dict[tuple[int, date, str], list[Any]] = {}
        self.sources: dict[tuple[int, date, str], list[Any]] = {}

    def visit(self, sign: int, visit: Mapping[Any, Any], urls: Iterable[str]) -> None:
        """Count one visit (``sign`` 1) or take it away (-1): its ``account_id``, ``date``,
        ``page_depth``, ``source`` and ``medium``, and its pages' URLs."""
        account_id, day = visit["account_id"], visit["date"]
        totals = self.days.setdefault((account_id, day), [0, 0])
        totals[0] += sign
        totals[1] += sign * visit["page_depth"]
        source, medium = visit["source"], visit["medium"]
        key = (account_id, day, key_hash(source, medium))
        self.sources.setdefault(key, [source, medium, 0])[2] += sign
        for url in urls:
            page = (account_id, day, key_hash(url))
            self.pages.setdefault(page, [url[:URL_WIDTH], 0])[1] += sign

    def write(self, conn: sa.Connection) -> None:
        """Add the differences, in key order (concurrent writers lock rows in one order)."""
        _add(conn, t.account_day_stats, ("visits", "pageviews"), self.days)
        _add(conn, t.account_day_pages, ("url", "pageviews"), self.pages)
        _add(conn, t.account_day_sources, ("source", "medium", "visits"), self.sources)


def _add(
    conn: sa.Connection,
    table: sa.Table,
    values: Sequence[str],
    rows: Mapping[tuple[Any, ...], Sequence[Any]],
) -> None:
    keys = [c.name for c in table.primary_key.columns]
    counts = [name for name in values if name in ("visits", "pageviews")]
    changed = [(*key, *row) for key, row in sorted(rows.items()) if any(row[-len(counts) :])]
    write_rows(
        conn,
        table,
        (*keys, *values),
        changed,
        keys=keys,
        update={name: f"{table.name}.{name} + excluded.{name}" for name in counts},
    )


def rebuild(conn: sa.Connection, account_id: int) -> None:
    """Count an account's rollups afresh from its visits and pages (for stores filled
    without the recording path, such as the benchmarks')."""
    for table in (t.account_day_stats, t.account_day_pages, t.account_day_sources):
        conn.execute(table.delete().where(table.c.account_id == account_id))
    v, p = t.visits, t.visit_pages
    found = Differences()
    mine = sa.select(v.c.account_id, v.c.date, v.c.page_depth, v.c.source, v.c.medium, v.c.id)
    pages: dict[str, list[str]] = {}
    query = sa.select(p.c.visit_id, p.c.page_url).join(v, v.c.id == p.c.visit_id)
    for visit_id, url in conn.execute(query.where(v.c.account_id == account_id)):
        pages.setdefault(visit_id, []).append(url)
    for row in conn.execute(mine.where(v.c.account_id == account_id)).mappings():
        found.visit(1, row, pages.get(row["id"], ()))
    found.write(conn)
