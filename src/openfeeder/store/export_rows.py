"""The rows an export file is made of, read in one ordered pass: per lead of the interval its
timeline stats and quality, its keywords, the fields of its lead object and its location id,
as narrow tuples (no ``Lead``/``Company``/``Location`` records are built per lead); then the
distinct locations those rows named, by id.

The leads, their stats and quality come from ``interval_query`` (the lead lists' own query,
feed criteria included), so an export holds exactly the leads a list of the same feed and
interval holds, only without the 10 000 cap.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from datetime import date
from typing import Any, NamedTuple

import orjson
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from openfeeder.domain.feeds import FeedCriterion
from openfeeder.domain.models import Location
from openfeeder.store import schema as t
from openfeeder.store.leads import day_stats, interval_query
from openfeeder.store.rows import location_from_row

# Rows fetched from the cursor at a time (a server-side cursor on PostgreSQL): the only
# per-lead data held in memory, two batches at most (one being written, the next being read).
ROWS_PER_BATCH = 1_000


class ExportRow(NamedTuple):
    """One lead of an export, as its timeline row and its lead object need it."""

    id: str
    quality: int
    bounces: int
    last_day: date | str  # the last visit day in the interval
    pageviews: int
    visits: int
    keywords: Any  # the distinct keywords; a list (PostgreSQL), JSON text (SQLite), or None
    first_visit_date: date | str | None
    last_visit_date: date | str | None
    industry: str | None
    name: str
    assignee: str | None
    emailed_to: str | None
    crm_lead_id: int | None
    website_url: str | None
    linkedin_url: str | None
    twitter_handle: str | None
    facebook_url: str | None
    location_id: str


def stream_rows(
    conn: sa.Connection, account_id: int, first: date, last: date, criteria: list[FeedCriterion]
) -> Iterator[list[ExportRow]]:
    """Every matching lead (no cap) as an ``ExportRow``, in ``export_query``'s order, in
    batches of ``ROWS_PER_BATCH`` rows: one query, constant memory."""
    query = export_query(conn.dialect.name, account_id, first, last, criteria)
    result = conn.execution_options(yield_per=ROWS_PER_BATCH).execute(query)
    make = ExportRow._make  # a plain named tuple reads its fields far faster than a Row
    for rows in result.partitions():
        batch = list(map(make, rows))
        del rows  # the driver's rows go now, not when the next batch replaces them
        yield batch


def export_query(
    dialect: str, account_id: int, first: date, last: date, criteria: list[FeedCriterion]
) -> sa.Select[Any]:
    """The ``ExportRow`` columns of every matching lead, last visit day desc, quality desc,
    id (the lead lists' order).

    Dates come back as the driver gives them (``date`` on PostgreSQL, ISO text on SQLite),
    and keywords as ``ExportRow.keywords`` says: the report writes both as JSON directly.
    """
    stats = day_stats(account_id, first, last)
    query, quality, last_day = interval_query(account_id, first, last, criteria, stats)
    leads, companies = t.leads.c, t.companies.c
    columns = [
        leads.id,
        quality,
        stats.c.bounces,
        _raw(last_day),
        stats.c.pageviews,
        stats.c.visits,
        _raw(_keywords(dialect, first, last)),
        _raw(leads.first_visit_date),
        _raw(leads.last_visit_date),
        companies.industry,
        companies.name,
        leads.assignee,
        leads.emailed_to,
        leads.crm_lead_id,
        companies.website_url,
        companies.linkedin_url,
        companies.twitter_handle,
        companies.facebook_url,
        leads.location_id,
    ]
    labelled = [column.label(name) for column, name in zip(columns, ExportRow._fields, strict=True)]
    # The lead lists' order: the last visit's time in the interval, quality, id.
    return query.with_only_columns(*labelled).order_by(
        stats.c.last_visit_at.desc(), quality.desc(), leads.id
    )


def _raw(column: sa.ColumnElement[Any]) -> sa.ColumnElement[Any]:
    """The column as the driver returns it, with no result processing: SQLite's dates stay
    ISO text, PostgreSQL's arrays the lists psycopg makes."""
    return sa.type_coerce(column, sa.types.NullType())


def _keywords(dialect: str, first: date, last: date) -> sa.ColumnElement[Any]:
    """The lead's distinct search keywords of its visits in [first, last], by a correlated
    subquery on ``visits (lead_pk, date)``: sorted on PostgreSQL (NULL when none), a JSON
    array in no particular order on SQLite (``[]`` when none; its ``json_group_array`` takes
    no ORDER BY before 3.44, the caller sorts)."""
    v = t.visits.c
    keyword = v.keyword
    if dialect == "postgresql":
        aggregate: sa.ColumnElement[Any] = sa.func.array_agg(
            postgresql.aggregate_order_by(keyword.distinct(), keyword)
        )
    else:
        aggregate = sa.func.json_group_array(keyword.distinct())
    return (
        sa.select(aggregate)
        .where(
            v.lead_pk == t.leads.c.pk,
            v.date.between(first, last),
            keyword.is_not(None),
            keyword != "",
        )
        .scalar_subquery()
    )


def locations(conn: sa.Connection, location_ids: Collection[str]) -> Iterator[Location]:
    """These locations, by id (the database's order, as ``ORDER BY id`` sorts), in one query
    with one parameter however many there are."""
    if not location_ids:
        return
    loc = t.locations
    ids = sorted(location_ids)
    if conn.dialect.name == "postgresql":
        wanted = loc.c.id == sa.func.any(sa.literal(ids, postgresql.ARRAY(sa.String)))
    else:
        # SQLite has no array parameter; one JSON text of the ids, unpacked by json_each.
        each = sa.func.json_each(sa.literal(orjson.dumps(ids).decode())).table_valued("value")
        wanted = loc.c.id.in_(sa.select(each.c.value))
    query = sa.select(loc).where(wanted).order_by(loc.c.id)
    for row in conn.execution_options(yield_per=ROWS_PER_BATCH).execute(query):
        yield location_from_row(row._mapping)
