"""The account overview's queries: per-day totals, lead counts and the top pages, sources,
industries and countries of a period.

Everything is read from the period's rows alone: per-day statistics and visits through their
``(account_id, day|date)`` indexes, pageviews through ``visit_pages``' ``(lead_pk, date)``
index for each of the account's leads. The cost follows the period's activity (and the
account's lead count), not the store's size; nothing is precomputed. Days are the account's
local days, as the recording path stored them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import sqlalchemy as sa

from openfeeder.store import schema as t


@dataclass(frozen=True)
class Day:
    day: date
    visits: int
    pageviews: int


@dataclass(frozen=True)
class Ranked:
    """One row of a top list: what it is (``label``, ``detail``: e.g. source and medium)
    and how many."""

    label: str | None
    detail: str | None
    count: int


def days(conn: sa.Connection, account_id: int, first: date, last: date) -> list[Day]:
    """The days of [first, last] that had a visit, oldest first."""
    s = t.lead_day_stats
    query = (
        sa.select(s.c.day, sa.func.sum(s.c.visits), sa.func.sum(s.c.pageviews))
        .where(s.c.account_id == account_id, s.c.day.between(first, last))
        .group_by(s.c.day)
        .order_by(s.c.day)
    )
    return [Day(day, int(visits), int(pageviews)) for day, visits, pageviews in conn.execute(query)]


def _period_leads(account_id: int, first: date, last: date) -> sa.Subquery:
    """The leads with a visit in [first, last], once each."""
    s = t.lead_day_stats
    return (
        sa.select(s.c.lead_pk)
        .where(s.c.account_id == account_id, s.c.day.between(first, last))
        .group_by(s.c.lead_pk)
        .subquery("period_leads")
    )


def lead_counts(conn: sa.Connection, account_id: int, first: date, last: date) -> tuple[int, int]:
    """How many leads had a visit in [first, last], and how many of them had their first
    visit ever in it (new leads)."""
    active = _period_leads(account_id, first, last)
    new = sa.case((t.leads.c.first_visit_date >= first, 1), else_=0)
    query = sa.select(sa.func.count(), sa.func.coalesce(sa.func.sum(new), 0)).select_from(
        active.join(t.leads, t.leads.c.pk == active.c.lead_pk)
    )
    leads, new_leads = conn.execute(query).one()
    return int(leads), int(new_leads)


def _ranked(
    conn: sa.Connection,
    base: sa.Select[Any],
    label: sa.ColumnElement[Any],
    detail: sa.ColumnElement[Any] | None,
    limit: int,
) -> list[Ranked]:
    """``base`` (a ``select()`` with its joins and filters) counted by ``label`` and
    ``detail``: the rows that count most first; ties by label (unknown last) and detail."""
    keys = [label] if detail is None else [label, detail]
    count = sa.func.count().label("count")
    query = base.add_columns(label, detail if detail is not None else sa.null(), count)
    ordered = query.group_by(*keys).order_by(count.desc(), label.is_(None), *keys).limit(limit)
    return [Ranked(*row) for row in conn.execute(ordered)]


def top_pages(
    conn: sa.Connection, account_id: int, first: date, last: date, limit: int
) -> list[Ranked]:
    """Page URLs by pageviews in [first, last]. Read from ``visit_pages`` alone, on its
    ``(lead_pk, date)`` index for each of the account's leads: the wide visit rows are not
    read."""
    p = t.visit_pages
    mine = sa.select(t.leads.c.pk).where(t.leads.c.account_id == account_id)
    base = sa.select().where(p.c.lead_pk.in_(mine), p.c.date.between(first, last))
    return _ranked(conn, base.select_from(p), p.c.page_url, None, limit)


def top_sources(
    conn: sa.Connection, account_id: int, first: date, last: date, limit: int
) -> list[Ranked]:
    """(source, medium) pairs by visits in [first, last]."""
    v = t.visits
    base = sa.select().where(v.c.account_id == account_id, v.c.date.between(first, last))
    return _ranked(conn, base.select_from(v), v.c.source, v.c.medium, limit)


def top_industries(
    conn: sa.Connection, account_id: int, first: date, last: date, limit: int
) -> list[Ranked]:
    """Company industries by leads with a visit in [first, last]."""
    co = t.companies
    base = _period_leads_with(account_id, first, last, co, co.c.id == t.leads.c.company_id)
    return _ranked(conn, base, co.c.industry, None, limit)


def top_countries(
    conn: sa.Connection, account_id: int, first: date, last: date, limit: int
) -> list[Ranked]:
    """Countries (name, code) by leads with a visit in [first, last]."""
    loc = t.locations
    base = _period_leads_with(account_id, first, last, loc, loc.c.id == t.leads.c.location_id)
    return _ranked(conn, base, loc.c.country, loc.c.country_code, limit)


def _period_leads_with(
    account_id: int, first: date, last: date, table: sa.Table, on: sa.ColumnElement[bool]
) -> sa.Select[Any]:
    """The period's leads joined with ``table`` (by ``on``), one row per lead."""
    active = _period_leads(account_id, first, last)
    joined = active.join(t.leads, t.leads.c.pk == active.c.lead_pk).join(table, on)
    return sa.select().select_from(joined)
