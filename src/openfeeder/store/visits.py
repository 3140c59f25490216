"""Writing visits with their lead and per-day statistics, and reading visit lists."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from datetime import date
from typing import Any, TypeVar

import sqlalchemy as sa

from openfeeder.domain.models import Page, Visit
from openfeeder.store import schema as t
from openfeeder.store.rows import location_from_row, prefixed
from openfeeder.store.upsert import insert_ignore

_T = TypeVar("_T")


def save_visits(conn: sa.Connection, rows: Sequence[dict[str, Any]]) -> None:
    """Store prepared visit rows (see ``services.visits``) and bring leads and stats in step.

    Each row carries ``company_id``, a ``location`` and a ``pages`` list besides the visit's
    columns. A visit id seen before is replaced. Per-day statistics and lead totals are
    recomputed from the stored visits of the leads touched, so they are always exact.
    """
    if not rows:
        return
    # Rows are written in key order so that concurrent writers (pipeline workers on
    # PostgreSQL) take row locks in the same order and cannot deadlock each other.
    locations = {row["location"].id: row["location"] for row in rows}
    insert_ignore(conn, t.locations, [asdict(locations[k]) for k in sorted(locations)], ["id"])
    lead_keys = {(row["account_id"], row["lead_id"]): row for row in rows}
    lead_keys = {key: lead_keys[key] for key in sorted(lead_keys)}
    insert_ignore(
        conn,
        t.leads,
        [
            {
                "account_id": account_id,
                "id": lead_id,
                "company_id": row["company_id"],
                "location_id": row["location"].id,
                "tags": [],
                "visits_total": 0,
            }
            for (account_id, lead_id), row in lead_keys.items()
        ],
        ["account_id", "id"],
    )
    pks = _lead_pks(conn, list(lead_keys))
    ids = [row["id"] for row in rows]
    for chunk in _chunks(ids):
        conn.execute(t.visit_pages.delete().where(t.visit_pages.c.visit_id.in_(chunk)))
        conn.execute(t.visits.delete().where(t.visits.c.id.in_(chunk)))
    visit_columns = set(t.visits.c.keys())
    conn.execute(
        t.visits.insert(),
        [
            {k: v for k, v in row.items() if k in visit_columns}
            | {
                "lead_pk": pks[(row["account_id"], row["lead_id"])],
                "location_id": row["location"].id,
            }
            for row in rows
        ],
    )
    pages = [
        {
            "visit_id": row["id"],
            "position": position,
            "lead_pk": pks[(row["account_id"], row["lead_id"])],
            "date": row["date"],
            "page_url": url,
        }
        for row in rows
        for position, url in enumerate(row["pages"])
    ]
    if pages:
        conn.execute(t.visit_pages.insert(), pages)
    days = [row["date"] for row in rows]
    refresh_leads(conn, sorted(set(pks.values())), min(days), max(days))


def refresh_leads(conn: sa.Connection, lead_pks: list[int], first: date, last: date) -> None:
    """Recompute per-day statistics in [first, last] and lifetime totals for these leads."""
    v = t.visits
    for chunk in _chunks(lead_pks):
        conn.execute(
            t.lead_day_stats.delete().where(
                t.lead_day_stats.c.lead_pk.in_(chunk), t.lead_day_stats.c.day.between(first, last)
            )
        )
        per_day = (
            sa.select(
                v.c.lead_pk,
                v.c.date,
                sa.func.min(v.c.account_id),
                sa.func.count(),
                sa.func.sum(v.c.page_depth),
                sa.func.sum(v.c.visit_length),
                sa.func.sum(sa.case((v.c.page_depth <= 1, 1), else_=0)),
                sa.func.max(v.c.started_at),
            )
            .where(v.c.lead_pk.in_(chunk), v.c.date.between(first, last))
            .group_by(v.c.lead_pk, v.c.date)
        )
        conn.execute(
            t.lead_day_stats.insert().from_select(
                [
                    "lead_pk",
                    "day",
                    "account_id",
                    "visits",
                    "pageviews",
                    "seconds",
                    "bounces",
                    "last_visit_at",
                ],
                per_day,
            )
        )
        mine = v.c.lead_pk == t.leads.c.pk
        conn.execute(
            t.leads.update()
            .where(t.leads.c.pk.in_(chunk))
            .values(
                visits_total=sa.select(sa.func.count()).where(mine).scalar_subquery(),
                first_visit_at=sa.select(sa.func.min(v.c.started_at)).where(mine).scalar_subquery(),
                last_visit_at=sa.select(sa.func.max(v.c.started_at)).where(mine).scalar_subquery(),
                first_visit_date=sa.select(sa.func.min(v.c.date)).where(mine).scalar_subquery(),
                last_visit_date=sa.select(sa.func.max(v.c.date)).where(mine).scalar_subquery(),
            )
        )


def _lead_pks(conn: sa.Connection, keys: list[tuple[int, str]]) -> dict[tuple[int, str], int]:
    out: dict[tuple[int, str], int] = {}
    by_account: dict[int, list[str]] = {}
    for account_id, lead_id in keys:
        by_account.setdefault(account_id, []).append(lead_id)
    for account_id, lead_ids in by_account.items():
        for chunk in _chunks(lead_ids):
            query = sa.select(t.leads.c.pk, t.leads.c.id).where(
                t.leads.c.account_id == account_id, t.leads.c.id.in_(chunk)
            )
            for pk, lead_id in conn.execute(query):
                out[(account_id, lead_id)] = pk
    return out


def _chunks(items: Sequence[_T], size: int = 500) -> list[Sequence[_T]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


def list_visits(
    conn: sa.Connection,
    account_id: int,
    first: date,
    last: date,
    offset: int,
    limit: int,
    lead_pk: int | None = None,
) -> Page:
    """Visits newest first, optionally of one lead, with the total for pagination."""
    v = t.visits
    where = [v.c.account_id == account_id, v.c.date.between(first, last)]
    if lead_pk is not None:
        where.append(v.c.lead_pk == lead_pk)
    total = conn.execute(sa.select(sa.func.count()).select_from(v).where(*where)).scalar_one()
    query = (
        sa.select(v, t.leads.c.id.label("lead_public_id"), *prefixed(t.locations, "loc_"))
        .join(t.leads, t.leads.c.pk == v.c.lead_pk)
        .join(t.locations, t.locations.c.id == v.c.location_id)
        .where(*where)
        .order_by(v.c.started_at.desc(), v.c.id)
        .offset(offset)
        .limit(limit)
    )
    return Page([visit_from_row(row._mapping) for row in conn.execute(query)], total)


def visit_from_row(row: Any) -> Visit:
    return Visit(
        id=row["id"],
        lead_id=row["lead_public_id"],
        location=location_from_row(row, prefix="loc_"),
        started_at=row["started_at"],
        date=row["date"],
        hour=row["hour"],
        source=row["source"],
        medium=row["medium"],
        campaign=row["campaign"],
        keyword=row["keyword"],
        query_term=row["query_term"],
        referring_url=row["referring_url"],
        page_depth=row["page_depth"],
        visit_length=row["visit_length"],
        visit_route=row["visit_route"],
        lf_client_id=row["lf_client_id"],
        ga_client_ids=row["ga_client_ids"],
        adobe_cookies=row["adobe_cookies"],
        country_code=row["country_code"],
        device_type=row["device_type"],
        match_source=row["match_source"],
        match_reason=row["match_reason"],
    )
