"""Writing visits with their lead and per-day statistics, and reading visit lists."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any, TypeVar

import sqlalchemy as sa

from openfeeder.domain.models import Page, Visit
from openfeeder.store import schema as t
from openfeeder.store.bulk import converted, write_rows
from openfeeder.store.rollups import Differences
from openfeeder.store.rows import location_from_row, prefixed
from openfeeder.store.traffic import hide_new_leads

_T = TypeVar("_T")


def save_visits(conn: sa.Connection, rows: Sequence[dict[str, Any]]) -> None:
    """Store prepared visit rows (see ``services.visits``) and bring leads and stats in step.

    Each row carries ``company_id``, a ``location`` and a ``pages`` list besides the visit's
    columns. A visit id seen before is replaced. Per-day statistics and lead totals are
    brought in step by the differences the batch makes (what the replaced visits counted
    comes back from their deletion), so they stay exact without rereading the leads'
    history.
    """
    if not rows:
        return
    # Rows are written in key order so that concurrent writers (pipeline workers on
    # PostgreSQL) take row locks in the same order and cannot deadlock each other.
    locations = {row["location"].id: row["location"] for row in rows}
    write_rows(
        conn,
        t.locations,
        _LOCATION_COLUMNS,
        [[getattr(locations[k], c) for c in _LOCATION_COLUMNS] for k in sorted(locations)],
        keys=["id"],
    )
    lead_keys = {(row["account_id"], row["lead_id"]): row for row in rows}
    lead_keys = {key: lead_keys[key] for key in sorted(lead_keys)}
    write_rows(
        conn,
        t.leads,
        ("account_id", "id", "company_id", "location_id", "tags", "visits_total"),
        [
            (account_id, lead_id, row["company_id"], row["location"].id, [], 0)
            for (account_id, lead_id), row in lead_keys.items()
        ],
        keys=["account_id", "id"],
    )
    pks = _lead_pks(conn, list(lead_keys))
    for chunk in _chunks(sorted(pks.values())):
        hide_new_leads(conn, chunk)  # a hidden company's new leads are hidden too
    v, p = t.visits, t.visit_pages
    replaced: dict[str, Any] = {}
    replaced_pages: dict[str, list[str]] = {}
    for chunk in _chunks([row["id"] for row in rows]):
        # What the replaced visits and their pages counted comes back from their deletion.
        pages = p.delete().where(p.c.visit_id.in_(chunk)).returning(p.c.visit_id, p.c.page_url)
        for visit_id, url in conn.execute(pages):
            replaced_pages.setdefault(visit_id, []).append(url)
        deleted = v.delete().where(v.c.id.in_(chunk)).returning(*_COUNTED)
        replaced.update((old.id, old) for old in conn.execute(deleted))
    visit_rows: list[list[Any]] = []
    page_rows: list[tuple[Any, ...]] = []
    for row in rows:
        lead_pk = pks[(row["account_id"], row["lead_id"])]
        values = row | {"lead_pk": lead_pk, "location_id": row["location"].id}
        visit_rows.append([values[c] for c in _VISIT_COLUMNS])
        page_rows.extend(
            (row["id"], position, lead_pk, row["date"], url)
            for position, url in enumerate(row["pages"])
        )
    write_rows(conn, t.visits, _VISIT_COLUMNS, visit_rows)
    write_rows(conn, t.visit_pages, _PAGE_COLUMNS, page_rows)
    new = [dict(zip(_VISIT_COLUMNS, values, strict=True)) for values in visit_rows]
    rollups = Differences()
    for old in replaced.values():
        rollups.visit(-1, old._mapping, replaced_pages.get(old.id, ()))
    for row, visit in zip(rows, new, strict=True):
        rollups.visit(1, visit, row["pages"])
    rollups.write(conn)
    if all(_same_place(replaced[row["id"]], row) for row in new if row["id"] in replaced):
        add_to_leads(conn, new, list(replaced.values()))
    else:  # a visit moved to another lead or day (never by the pipeline): count afresh
        days = [row["date"] for row in rows] + [old.date for old in replaced.values()]
        touched = set(pks.values()) | {old.lead_pk for old in replaced.values()}
        refresh_leads(conn, sorted(touched), min(days), max(days))


# What a stored visit counts for in its lead's statistics.
_COUNTED = (
    t.visits.c.id,
    t.visits.c.account_id,
    t.visits.c.lead_pk,
    t.visits.c.date,
    t.visits.c.started_at,
    t.visits.c.page_depth,
    t.visits.c.visit_length,
    t.visits.c.source,
    t.visits.c.medium,
)


def _same_place(old: Any, new: dict[str, Any]) -> bool:
    return (old.lead_pk, old.date, old.started_at) == (
        new["lead_pk"],
        new["date"],
        new["started_at"],
    )


def add_to_leads(
    conn: sa.Connection, added: Sequence[Mapping[str, Any]], removed: Sequence[Any]
) -> None:
    """Bring per-day statistics and lead totals in step with visits added and removed (a
    replaced visit is both, at the same lead, day and start), by adding the differences:
    one upsert of ``lead_day_stats`` and one update of ``leads`` per batch, whatever the
    leads' history. ``removed`` items have the ``_COUNTED`` attributes."""
    days: dict[tuple[int, date], list[Any]] = {}
    leads: dict[int, list[Any]] = {}
    for sign, visits in ((1, added), (-1, removed)):
        for visit in visits:
            get = visit.__getitem__ if sign == 1 else visit.__getattribute__
            lead_pk, day, depth = get("lead_pk"), get("date"), get("page_depth")
            stats = days.setdefault((lead_pk, day), [get("account_id"), 0, 0, 0, 0, None])
            stats[1] += sign
            stats[2] += sign * depth
            stats[3] += sign * get("visit_length")
            stats[4] += sign * (depth <= 1)
            # The day's latest visit start: a replaced visit keeps its start, so the removed
            # and the added one agree and the stored maximum only ever grows.
            start = get("started_at")
            stats[5] = start if stats[5] is None else max(stats[5], start)
            lead = leads.setdefault(lead_pk, [0, None, None, None, None])
            lead[0] += sign
            if sign == 1:
                at = get("started_at")
                lead[1] = at if lead[1] is None else min(lead[1], at)
                lead[2] = at if lead[2] is None else max(lead[2], at)
                lead[3] = day if lead[3] is None else min(lead[3], day)
                lead[4] = day if lead[4] is None else max(lead[4], day)
    _add_day_stats(conn, days)
    _add_lead_totals(conn, leads)


def _add_day_stats(conn: sa.Connection, days: dict[tuple[int, date], list[Any]]) -> None:
    """The one write of ``lead_day_stats``: each (lead, day)'s differences added, and its
    latest visit start widened."""
    counts = ("visits", "pageviews", "seconds", "bounces")
    latest = (
        "CASE WHEN excluded.last_visit_at > lead_day_stats.last_visit_at"
        " THEN excluded.last_visit_at ELSE lead_day_stats.last_visit_at END"
    )
    write_rows(
        conn,
        t.lead_day_stats,
        ("lead_pk", "day", "account_id", *counts, "last_visit_at"),
        [(lead_pk, day, *stats) for (lead_pk, day), stats in sorted(days.items())],
        keys=["lead_pk", "day"],
        update={name: f"lead_day_stats.{name} + excluded.{name}" for name in counts}
        | {"last_visit_at": latest},
    )


_LEAD_TOTALS = (
    "pk",
    "visits_total",
    "first_visit_at",
    "last_visit_at",
    "first_visit_date",
    "last_visit_date",
)


def _add_lead_totals(conn: sa.Connection, leads: dict[int, list[Any]]) -> None:
    """Lead totals: visits added (net), first and last visit widened to the new ones."""
    rows = converted(
        conn, t.leads, _LEAD_TOTALS, [(pk, *totals) for pk, totals in sorted(leads.items())]
    )
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql(
            "UPDATE leads SET visits_total = visits_total + ?2,"
            " first_visit_at = coalesce(min(first_visit_at, ?3), first_visit_at, ?3),"
            " last_visit_at = coalesce(max(last_visit_at, ?4), last_visit_at, ?4),"
            " first_visit_date = coalesce(min(first_visit_date, ?5), first_visit_date, ?5),"
            " last_visit_date = coalesce(max(last_visit_date, ?6), last_visit_date, ?6)"
            " WHERE pk = ?1",
            rows,
        )
        return
    row = "(%s::int, %s::int, %s::timestamptz, %s::timestamptz, %s::date, %s::date)"
    sql = (
        "UPDATE leads SET visits_total = leads.visits_total + d.added,"  # noqa: S608 - no input
        " first_visit_at = least(leads.first_visit_at, d.first_at),"
        " last_visit_at = greatest(leads.last_visit_at, d.last_at),"
        " first_visit_date = least(leads.first_visit_date, d.first_day),"
        " last_visit_date = greatest(leads.last_visit_date, d.last_day)"
        f" FROM (VALUES {', '.join([row] * len(rows))})"
        " AS d(pk, added, first_at, last_at, first_day, last_day) WHERE leads.pk = d.pk"
    )
    conn.exec_driver_sql(sql, tuple(value for row in rows for value in row))


_LOCATION_COLUMNS = tuple(t.locations.c.keys())
_VISIT_COLUMNS = tuple(t.visits.c.keys())
_PAGE_COLUMNS = ("visit_id", "position", "lead_pk", "date", "page_url")


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
