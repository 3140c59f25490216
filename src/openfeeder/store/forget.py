"""Deleting one company's or one visitor's data from an account (``openfeeder forget``):
which rows hold it, deleting them, and bringing the counts that summed them (lead totals,
per-day lead statistics, the overview's rollups) back in step.

Every table whose rows can hold a visitor's data is handled here by name, and
``tests/ops/test_forget.py`` checks each of them; a table added to ``schema`` with a
``lead_pk``, ``visit_id``, ``visitor_key`` or ``ip`` column must be added here too.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, TypeVar

import sqlalchemy as sa

from openfeeder.store import schema as t
from openfeeder.store.rollups import Differences
from openfeeder.store.visits import refresh_leads

_T = TypeVar("_T")
_CHUNK = 500  # ids per IN list: well under SQLite's and psycopg's parameter limits


@dataclass
class Forgotten:
    """What a forget deleted (or, in a dry run, would delete): rows per table, and the
    export files made earlier that may still hold the data until they expire."""

    deleted: Counter[str] = field(default_factory=Counter)
    leads_recounted: int = 0
    exports: list[str] = field(default_factory=list)


def company_leads(
    conn: sa.Connection, account_id: int, *, lead_id: str | None, domain: str | None
) -> list[int]:
    """The account's leads of one company: the lead with this public id, or every lead
    (one per location) of the company with this domain (or, for one without, this id)."""
    leads = t.leads
    query = sa.select(leads.c.pk).where(leads.c.account_id == account_id)
    if lead_id is not None:
        query = query.where(leads.c.id == lead_id)
    if domain is not None:
        c = t.companies.c
        named = sa.select(c.id).where(sa.or_(c.domain == domain.lower(), c.id == domain))
        query = query.where(leads.c.company_id.in_(named))
    return list(conn.execute(query.order_by(leads.c.pk)).scalars())


def forget_leads(conn: sa.Connection, lead_pks: Sequence[int], now: datetime) -> Forgotten:
    """Delete these leads with everything that hangs off them: visits and their pages, the
    hits and sessions that made the visits, per-day statistics, notes, followers, alert
    events with their deliveries and attempts; the rollups lose what the visits counted."""
    forgotten = Forgotten()
    visits = _ids(conn, t.visits.c.id, t.visits.c.lead_pk, lead_pks)
    _forget_visits(conn, visits, forgotten, now)
    _delete_leads(conn, lead_pks, forgotten)
    return forgotten


def forget_visitor(
    conn: sa.Connection, account_id: int, *, ip: str | None, client_id: str | None, now: datetime
) -> Forgotten:
    """Delete one visitor's data from the account: every hit from this IP address or with
    this openfeeder client id (``lfClientId``), the whole visits those hits made or that
    carry the client id, those visits' sessions and alert events, and the cached resolver
    answers for the address. The visitor's leads are counted afresh from the visits left;
    a lead left with no visit is deleted as ``forget_leads`` does."""
    h, v, s = t.hits, t.visits, t.visitor_sessions
    forgotten = Forgotten()
    hit_match: list[sa.ColumnElement[bool]] = []
    visit_match: list[sa.ColumnElement[bool]] = []
    if ip is not None:
        hit_match.append(h.c.ip == ip)
    if client_id is not None:
        # For a browser with cookies, ingest's visitor key is its client id.
        hit_match.append(h.c.visitor_key == client_id)
        visit_match.append(v.c.lf_client_id == client_id)
    mine = h.c.account_id == account_id
    made = sa.select(h.c.visit_id).where(mine, sa.or_(*hit_match), h.c.visit_id.is_not(None))
    visit_ids = set(conn.execute(made).scalars())
    if visit_match:
        carried = sa.select(v.c.id).where(v.c.account_id == account_id, sa.or_(*visit_match))
        visit_ids |= set(conn.execute(carried).scalars())
    leads, first, last = _forget_visits(conn, sorted(visit_ids), forgotten, now)
    # Hits of the visitor that made no visit (dropped, or not processed yet).
    _count(forgotten, h, conn.execute(h.delete().where(mine, sa.or_(*hit_match))).rowcount)
    if client_id is not None:
        sessions = s.delete().where(s.c.account_id == account_id, s.c.visitor_key == client_id)
        _count(forgotten, s, conn.execute(sessions).rowcount)
    if ip is not None:
        cache = t.ip_cache.delete().where(t.ip_cache.c.ip == ip)
        _count(forgotten, t.ip_cache, conn.execute(cache).rowcount)
    if first is not None and last is not None:  # some visit was deleted
        refresh_leads(conn, leads, first, last)
        forgotten.leads_recounted = len(leads)
        empty = sa.select(t.leads.c.pk).where(t.leads.c.visits_total == 0)
        emptied = _ids(conn, t.leads.c.pk, t.leads.c.pk, leads, empty)
        _delete_leads(conn, emptied, forgotten)
        forgotten.leads_recounted -= len(emptied)
    return forgotten


def exports_that_may_hold(
    conn: sa.Connection, account_id: int, days: Iterable[date], now: datetime
) -> list[str]:
    """The names of the account's export files, not yet expired, whose period covers one
    of these days (in ``OPENFEEDER_DATA_DIR/exports/``)."""
    e = t.export_requests
    found: set[str] = set()
    for day in sorted(set(days)):
        query = sa.select(e.c.file_name).where(
            e.c.account_id == account_id,
            e.c.status == "processed",
            e.c.file_name.is_not(None),
            e.c.expires_at > now,
            e.c.start_date <= day,
            e.c.end_date >= day,
        )
        found.update(conn.execute(query).scalars())
    return sorted(found)


def _forget_visits(
    conn: sa.Connection, visit_ids: Sequence[str], forgotten: Forgotten, now: datetime
) -> tuple[list[int], date | None, date | None]:
    """Delete these visits, their pages, the hits and sessions that made them and their
    alert events, and take what they counted off the rollups. Returns the leads they were
    of and the first and last day they were on (for recounting the leads)."""
    v, p = t.visits, t.visit_pages
    rollups = Differences()
    leads: set[int] = set()
    days: dict[int, set[date]] = {}
    for chunk in _chunks(visit_ids):
        urls: dict[str, list[str]] = {}
        pages = sa.select(p.c.visit_id, p.c.page_url).where(p.c.visit_id.in_(chunk))
        for visit_id, url in conn.execute(pages.order_by(p.c.visit_id, p.c.position)):
            urls.setdefault(visit_id, []).append(url)
        counted = sa.select(
            v.c.id, v.c.account_id, v.c.lead_pk, v.c.date, v.c.page_depth, v.c.source, v.c.medium
        ).where(v.c.id.in_(chunk))
        for row in conn.execute(counted).mappings():
            rollups.visit(-1, row, urls.get(row["id"], ()))
            leads.add(row["lead_pk"])
            days.setdefault(row["account_id"], set()).add(row["date"])
        _delete_events(conn, t.alert_events.c.visit_id.in_(chunk), forgotten)
        for table in (t.visitor_sessions, t.hits, t.visit_pages):
            deleted = conn.execute(table.delete().where(table.c.visit_id.in_(chunk)))
            _count(forgotten, table, deleted.rowcount)
        _count(forgotten, v, conn.execute(v.delete().where(v.c.id.in_(chunk))).rowcount)
    rollups.write(conn)
    for account_id, on in days.items():
        found = exports_that_may_hold(conn, account_id, on, now)
        forgotten.exports = sorted(set(forgotten.exports) | set(found))
    every_day = [day for on in days.values() for day in on]
    first, last = (min(every_day), max(every_day)) if every_day else (None, None)
    return sorted(leads), first, last


def _delete_leads(conn: sa.Connection, lead_pks: Sequence[int], forgotten: Forgotten) -> None:
    """Delete the leads and what hangs off them (their visits are gone already)."""
    for chunk in _chunks(lead_pks):
        _delete_events(conn, t.alert_events.c.lead_pk.in_(chunk), forgotten)
        for table in (t.lead_day_stats, t.lead_notes, t.lead_followers):
            deleted = conn.execute(table.delete().where(table.c.lead_pk.in_(chunk)))
            _count(forgotten, table, deleted.rowcount)
        # Pages carry their lead's pk too (not a foreign key): none may be left behind.
        stray = conn.execute(t.visit_pages.delete().where(t.visit_pages.c.lead_pk.in_(chunk)))
        _count(forgotten, t.visit_pages, stray.rowcount)
        leads = conn.execute(t.leads.delete().where(t.leads.c.pk.in_(chunk)))
        _count(forgotten, t.leads, leads.rowcount)


def _delete_events(
    conn: sa.Connection, which: sa.ColumnElement[bool], forgotten: Forgotten
) -> None:
    """Alert events and their deliveries and attempts (which hold the webhook bodies sent)."""
    events = sa.select(t.alert_events.c.id).where(which)
    deliveries = sa.select(t.alert_deliveries.c.id).where(t.alert_deliveries.c.event_id.in_(events))
    a, d, e = t.alert_delivery_attempts, t.alert_deliveries, t.alert_events
    steps: list[tuple[sa.Table, Any]] = [
        (a, a.delete().where(a.c.delivery_id.in_(deliveries))),
        (d, d.delete().where(d.c.event_id.in_(events))),
        (e, e.delete().where(which)),
    ]
    for table, statement in steps:
        _count(forgotten, table, conn.execute(statement).rowcount)


def _count(forgotten: Forgotten, table: sa.Table, rows: int) -> None:
    if rows:
        forgotten.deleted[table.name] += rows


def _ids(
    conn: sa.Connection,
    wanted: sa.Column[Any],
    key: sa.Column[Any],
    values: Sequence[Any],
    query: sa.Select[Any] | None = None,
) -> list[Any]:
    """``wanted`` of the rows whose ``key`` is one of ``values`` (and that ``query``, a
    select of ``wanted``, finds), asked in chunks."""
    base = sa.select(wanted) if query is None else query
    return [
        found
        for chunk in _chunks(values)
        for found in conn.execute(base.where(key.in_(chunk))).scalars()
    ]


def _chunks(items: Sequence[_T]) -> list[Sequence[_T]]:
    return [items[i : i + _CHUNK] for i in range(0, len(items), _CHUNK)]
