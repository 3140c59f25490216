"""The account overview's queries: per-day totals, lead counts and the top pages, sources,
industries and countries of a period.

The chart, the visit and pageview totals and the top pages and sources are read from the
per-account, per-day rollups the recording path keeps (store/rollups.py): days × distinct
keys, not every visit and pageview. The lead figures and the industry and country lists
count the period's distinct leads, so they read its ``lead_day_stats`` rows (as the lead
list's count does). Days are the account's local days, as the recording path stored them.
"""

from __future__ import annotations

from collections.abc import Sequence
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
    """The days of [first, last] that had a visit, oldest first (one rollup row each)."""
    s = t.account_day_stats
    query = (
        sa.select(s.c.day, s.c.visits, s.c.pageviews)
        .where(s.c.account_id == account_id, s.c.day.between(first, last), s.c.visits > 0)
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
    table: sa.Table,
    key: str,
    counted: str,
    shown: Sequence[sa.ColumnElement[Any]],
    span: tuple[int, date, date, int],
) -> list[Ranked]:
    """A rollup's ``counted`` column summed by ``key`` (a hash, which the ``shown`` columns
    follow) over the account's days of [first, last], the ``limit`` most first; ties by the
    first shown column (unknown last), then the next."""
    account_id, first, last, limit = span
    total = sa.func.sum(table.c[counted]).label("total")
    detail = shown[1] if len(shown) > 1 else sa.null()
    query = (
        sa.select(shown[0], detail, total)
        .where(table.c.account_id == account_id, table.c.day.between(first, last))
        .group_by(table.c[key], *shown)
        .having(total > 0)
        .order_by(total.desc(), shown[0].is_(None), *shown)
        .limit(limit)
    )
    return [Ranked(label, detail, int(count)) for label, detail, count in conn.execute(query)]


def top_pages(
    conn: sa.Connection, account_id: int, first: date, last: date, limit: int
) -> list[Ranked]:
    """Page URLs by pageviews in [first, last], from the per-day page rollup."""
    p = t.account_day_pages
    return _ranked(conn, p, "url_hash", "pageviews", [p.c.url], (account_id, first, last, limit))


def top_sources(
    conn: sa.Connection, account_id: int, first: date, last: date, limit: int
) -> list[Ranked]:
    """(source, medium) pairs by visits in [first, last], from the per-day source rollup."""
    s = t.account_day_sources
    shown = [s.c.source, s.c.medium]
    return _ranked(conn, s, "source_hash", "visits", shown, (account_id, first, last, limit))
