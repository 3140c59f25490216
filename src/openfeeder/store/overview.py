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


@dataclass(frozen=True)
class LeadGroup:
    """The period's leads of one industry and country, new (first visit ever in the period)
    or not: one scan of the period's leads answers the lead counts and both top lists."""

    industry: str | None
    country: str | None
    country_code: str | None
    new: bool
    leads: int


def lead_groups(conn: sa.Connection, account_id: int, first: date, last: date) -> list[LeadGroup]:
    """The leads with a visit in [first, last], counted by industry, country and newness."""
    active = _period_leads(account_id, first, last)
    co, loc, leads = t.companies, t.locations, t.leads
    new = sa.case((leads.c.first_visit_date >= first, True), else_=False).label("new")
    keys = (co.c.industry, loc.c.country, loc.c.country_code, new)
    query = (
        sa.select(*keys, sa.func.count())
        .select_from(
            active.join(leads, leads.c.pk == active.c.lead_pk)
            .join(co, co.c.id == leads.c.company_id)
            .join(loc, loc.c.id == leads.c.location_id)
        )
        .group_by(*keys)
    )
    return [LeadGroup(i, c, code, bool(n), int(k)) for i, c, code, n, k in conn.execute(query)]


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
