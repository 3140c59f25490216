"""Overview rollups: account_day_stats, account_day_pages and account_day_sources, filled
from the visits and visit pages already stored

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-03 17:10:00
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

import orjson
import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

_BATCH = 5000


def _account_day() -> list[sa.Column[object]]:
    return [
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
    ]


def _keys(table: str, *names: str) -> list[sa.Constraint]:
    return [
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f(f"fk_{table}_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("account_id", "day", *names, name=op.f(f"pk_{table}")),
    ]


def upgrade() -> None:
    stats = op.create_table(
        "account_day_stats",
        *_account_day(),
        sa.Column("visits", sa.Integer(), nullable=False),
        sa.Column("pageviews", sa.Integer(), nullable=False),
        *_keys("account_day_stats"),
    )
    pages = op.create_table(
        "account_day_pages",
        *_account_day(),
        sa.Column("url_hash", sa.String(length=32), nullable=False),
        sa.Column("url", sa.String(length=2000), nullable=False),
        sa.Column("pageviews", sa.Integer(), nullable=False),
        *_keys("account_day_pages", "url_hash"),
    )
    sources = op.create_table(
        "account_day_sources",
        *_account_day(),
        sa.Column("source_hash", sa.String(length=32), nullable=False),
        sa.Column("source", sa.String(length=200), nullable=True),
        sa.Column("medium", sa.String(length=100), nullable=True),
        sa.Column("visits", sa.Integer(), nullable=False),
        *_keys("account_day_sources", "source_hash"),
    )
    assert stats is not None
    assert pages is not None
    assert sources is not None
    _backfill(stats, pages, sources)


def _hash(*parts: str | None) -> str:
    # The key store/rollups.py computes: 128 bits of BLAKE2b of the parts' JSON.
    return hashlib.blake2b(orjson.dumps(parts), digest_size=16).hexdigest()


def _backfill(stats: sa.Table, pages: sa.Table, sources: sa.Table) -> None:
    conn = op.get_bind()
    v = sa.table(
        "visits",
        *(sa.column(c) for c in ("id", "account_id", "page_depth", "source", "medium")),
        sa.column("date", sa.Date),  # read back as dates on SQLite too, for the inserts
    )
    p = sa.table("visit_pages", sa.column("visit_id"), sa.column("page_url"))
    by_day = sa.select(v.c.account_id, v.c.date, sa.func.count(), sa.func.sum(v.c.page_depth))
    conn.execute(
        stats.insert().from_select(
            ["account_id", "day", "visits", "pageviews"],
            by_day.group_by(v.c.account_id, v.c.date),
        )
    )
    keys = (v.c.account_id, v.c.date, p.c.page_url)
    per_url = sa.select(*keys, sa.func.count()).join(v, v.c.id == p.c.visit_id).group_by(*keys)
    _insert(
        conn,
        pages,
        (
            {"account_id": a, "day": d, "url_hash": _hash(url), "url": url[:2000], "pageviews": n}
            for a, d, url, n in conn.execute(per_url).all()
        ),
    )
    pairs = (v.c.account_id, v.c.date, v.c.source, v.c.medium)
    per_source = sa.select(*pairs, sa.func.count()).group_by(*pairs)
    _insert(
        conn,
        sources,
        (
            {
                "account_id": a,
                "day": d,
                "source_hash": _hash(s, m),
                "source": s,
                "medium": m,
                "visits": n,
            }
            for a, d, s, m, n in conn.execute(per_source)
        ),
    )


def _insert(conn: sa.Connection, table: sa.Table, rows: Iterable[dict[str, object]]) -> None:
    batch = list(rows)
    for begin in range(0, len(batch), _BATCH):
        conn.execute(table.insert(), batch[begin : begin + _BATCH])


def downgrade() -> None:
    op.drop_table("account_day_sources")
    op.drop_table("account_day_pages")
    op.drop_table("account_day_stats")
