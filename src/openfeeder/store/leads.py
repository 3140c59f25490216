"""Lead queries: interval lists filtered by feed criteria, single leads, and export streams.

A lead list is ordered by the time of each lead's last visit in the interval (newest first),
then quality, then lead id. A page is read by *walking* ``lead_day_stats`` newest first on its
``(account_id, last_visit_at, day, lead_pk)`` index: a lead's first row in that walk is its
last visit of the interval, so the walk stops once the page's leads (and any leads tied with
the last of them) are known, and interval stats and quality are aggregated for those leads
only. Its cost follows the page's depth, not the interval's size. Feed criteria about the
lead, its company or its location (and the activity ``exists`` criteria) are joined into the
walk. Criteria on interval totals (``visits``, ``pageviews`` thresholds) cannot be decided
row by row: such feeds take the slow path, ``list_leads_aggregated``, which aggregates every
day row of the interval (never raw visits), so its cost follows days × leads in the range.
Leads of hidden companies (``leads.hidden``) are in no list: the walk of an account that has
some leaves them out by a ``NOT IN`` list of their primary keys, the other paths by the flag.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles

from openfeeder.domain import quality as q
from openfeeder.domain.feeds import Criterion, FeedCriterion, employee_range
from openfeeder.domain.models import Lead, Page
from openfeeder.store import schema as t
from openfeeder.store.rows import company_columns, company_from_row, location_from_row, prefixed

LEAD_CAP = 10_000

# A day: a value, or a bind parameter of the walk's statements (built once, see ``_walk``).
_Day = date | sa.ColumnElement[date]


def shifted(day: date, days: int) -> date:
    """``day`` moved by ``days``, held within the calendar (an interval may start on
    0001-01-01 or end on 9999-12-31, where one more day does not exist)."""
    try:
        return day + timedelta(days=days)
    except OverflowError:
        return date.min if days < 0 else date.max


def _known_fields_points() -> sa.ColumnElement[int]:
    terms = [
        sa.case((t.companies.c[name].is_not(None), q.FIELD_POINTS), else_=0)
        for name in q.COMPANY_FIELDS
    ]
    return sa.func.coalesce(sum(terms[1:], terms[0]), 0)


def _capped(value: sa.ColumnElement[int], cap: int, points: int) -> sa.ColumnElement[int]:
    return points * sa.case((value > cap, cap), else_=value)


def day_stats(account_id: int, first: date, last: date) -> sa.Subquery:
    """Per lead with a visit in [first, last]: visits, pageviews, seconds, bounces, the
    last visit day and the last visit's time, summed from ``lead_day_stats``."""
    return _day_stats(first, last, t.lead_day_stats.c.account_id == account_id)


def _day_stats(first: _Day, last: _Day, where: sa.ColumnElement[bool]) -> sa.Subquery:
    s = t.lead_day_stats
    return (
        sa.select(
            s.c.lead_pk,
            sa.func.sum(s.c.visits).label("visits"),
            sa.func.sum(s.c.pageviews).label("pageviews"),
            sa.func.sum(s.c.seconds).label("seconds"),
            sa.func.sum(s.c.bounces).label("bounces"),
            sa.func.max(s.c.day).label("last_day"),
            sa.func.max(s.c.last_visit_at).label("last_visit_at"),
        )
        .where(where, s.c.day.between(first, last))
        .group_by(s.c.lead_pk)
        .subquery("stats")
    )


def interval_query(
    account_id: int,
    first: date,
    last: date,
    criteria: list[FeedCriterion],
    stats: sa.Subquery | None = None,
) -> tuple[sa.Select[Any], sa.ColumnElement[int], sa.ColumnElement[date]]:
    """The leads of [first, last] with their interval stats and quality, filtered by the
    criteria. ``stats`` defaults to ``day_stats``; any subquery with its columns will do (the
    lead-list benchmark passes one aggregated from raw visits)."""
    if stats is None:
        stats = day_stats(account_id, first, last)
    query, quality = _interval_select(
        stats,
        sa.literal(account_id),
        sa.literal(shifted(last, -q.RECENT_DAYS), sa.Date),
        sa.literal(shifted(last, -q.MONTH_DAYS), sa.Date),
    )
    query = query.where(t.leads.c.hidden.is_(False))
    for clause in _criteria_clauses(criteria, stats, first, last):
        query = query.where(clause)
    return query, quality, stats.c.last_day


def _interval_select(
    stats: sa.Subquery,
    account_id: sa.ColumnElement[int],
    recent_from: sa.ColumnElement[date],
    month_from: sa.ColumnElement[date],
) -> tuple[sa.Select[Any], sa.ColumnElement[int]]:
    activity = (
        _capped(stats.c.visits, q.VISIT_CAP, q.VISIT_POINTS)
        + _capped(stats.c.pageviews, q.PAGEVIEW_CAP, q.PAGEVIEW_POINTS)
        + _capped(stats.c.seconds // 60, q.MINUTE_CAP, q.MINUTE_POINTS)
        + sa.case(
            (stats.c.last_day >= recent_from, q.RECENT_POINTS),
            (stats.c.last_day >= month_from, q.MONTH_POINTS),
            else_=0,
        )
    )
    quality = ((activity + _known_fields_points() + 5) // 10).label("quality")
    query = (
        sa.select(
            t.leads,
            stats.c.visits.label("interval_visits"),
            stats.c.pageviews,
            stats.c.bounces,
            stats.c.last_day.label("interval_last_day"),
            quality,
            *company_columns("co_"),
            *prefixed(t.locations, "loc_"),
        )
        .join(stats, stats.c.lead_pk == t.leads.c.pk)
        .join(t.companies, t.companies.c.id == t.leads.c.company_id)
        .join(t.locations, t.locations.c.id == t.leads.c.location_id)
        .where(t.leads.c.account_id == account_id)
    )
    return query, quality


def list_leads(
    conn: sa.Connection,
    account_id: int,
    first: date,
    last: date,
    criteria: list[FeedCriterion],
    offset: int,
    limit: int,
) -> Page:
    """Leads with a visit in [first, last]: last visit time desc, quality desc, id; ≤ 10 000.

    Read by walking the day rows newest first (see the module's docstring); feeds with
    criteria on interval totals take ``list_leads_aggregated``."""
    if any(c.criterion_type in _AGGREGATE_CRITERIA for c in criteria):
        return list_leads_aggregated(conn, account_id, first, last, criteria, offset, limit)
    walk = _walk(criteria, _has_hidden(conn, account_id)).bound(account_id, first, last)
    total = walk.count(conn)
    limit = max(0, min(limit, total - offset))
    if not limit:
        return Page([], total)
    groups = walk.groups(conn, offset + limit)
    # Only the tie groups that overlap the page need their order inside (quality, id).
    page: list[Any] = []
    position = 0
    wanted: list[list[int]] = []
    for group in groups:
        if position + len(group) > offset:
            wanted.append(group)
        position += len(group)
    skipped = position - sum(map(len, wanted))
    pks = [pk for group in wanted for pk in group]
    rows = {row.pk: row for row in walk.page_rows(conn, pks)}
    for group in wanted:
        page += sorted((rows[pk] for pk in group), key=lambda row: (-row.quality, row.id))
    start = offset - skipped
    items = [_lead_from_row(row._mapping, interval=True) for row in page[start : start + limit]]
    return Page(items, total)


def list_leads_aggregated(
    conn: sa.Connection,
    account_id: int,
    first: date,
    last: date,
    criteria: list[FeedCriterion],
    offset: int,
    limit: int,
    stats: sa.Subquery | None = None,
) -> Page:
    """The slow path of ``list_leads``, in the same order: every lead of the interval
    aggregated, filtered and sorted in one query. Feeds with ``visits``/``pageviews``
    thresholds use it; so do the tests and the benchmark, as the reference. ``stats`` as in
    ``interval_query`` (it must also carry ``last_visit_at``)."""
    if stats is None:
        stats = day_stats(account_id, first, last)
    query, quality, _ = interval_query(account_id, first, last, criteria, stats)
    limit = max(0, min(limit, LEAD_CAP - offset))
    if limit:
        # The total rides along as a window count, so a page costs one aggregation of the
        # day statistics instead of two (one for the count, one for the page).
        ordered = query.add_columns(sa.func.count().over().label("total_count")).order_by(
            stats.c.last_visit_at.desc(), quality.desc(), t.leads.c.id
        )
        rows = conn.execute(ordered.offset(offset).limit(limit)).all()
        if rows:
            total = min(rows[0].total_count, LEAD_CAP)
            return Page([_lead_from_row(row._mapping, interval=True) for row in rows], total)
    # Past the last page (or the cap) no row carries the total: count on its own.
    count = sa.select(sa.func.count()).select_from(query.limit(LEAD_CAP).subquery())
    return Page([], conn.execute(count).scalar_one())


# Thresholds on interval totals: a day row cannot tell whether its lead passes them.
_AGGREGATE_CRITERIA = {Criterion.VISITS, Criterion.PAGEVIEWS}
_COMPANY_CRITERIA = {Criterion.INDUSTRY_CODE, Criterion.EMPLOYEE_COUNT, Criterion.COMPANY_NAME}
_LOCATION_CRITERIA = {Criterion.COUNTRY_CODE, Criterion.REGION, Criterion.CITY}


_WALKS: dict[str, _Walk] = {}


def _walk(criteria: list[FeedCriterion], hidden: bool) -> _Walk:
    """A feed's walk statements, built once: a request only binds its values. Keyed by what
    the statements read (a criterion's values may be unhashable JSON, e.g. a list
    ``display_value``, which no query reads) and whether the account has hidden leads."""
    key = repr([(c.criterion_type, c.search_value, c.excluded) for c in criteria]) + str(hidden)
    walk = _WALKS.get(key)
    if walk is None:
        if len(_WALKS) >= 256:
            _WALKS.clear()
        walk = _WALKS[key] = _Walk(criteria, hidden)
    return walk


def _has_hidden(conn: sa.Connection, account_id: int) -> bool:
    """Whether the account has a hidden lead (one probe of the ``(account_id, hidden)``
    index): only then does its walk pay for leaving them out."""
    leads = t.leads.c
    query = sa.select(leads.pk).where(leads.account_id == account_id, leads.hidden.is_(True))
    return conn.execute(query.limit(1)).first() is not None


def _hidden_leads(account_id: sa.ColumnElement[int]) -> sa.Select[tuple[int]]:
    """The account's hidden leads (few, by the ``(account_id, hidden)`` index). The walk of
    an account that has some leaves them out with ``NOT IN`` this list, which both backends
    evaluate once per statement (a hashed subplan, an ephemeral index), so the walk stays on
    its covering index rather than joining ``leads`` for every row it reads."""
    leads = t.leads.c
    return sa.select(leads.pk).where(leads.account_id == account_id, leads.hidden.is_(True))


class _Walk:
    """The day rows of an account's interval that match a feed, newest last visit first, and
    the page query for the leads found; every value is a bind parameter (``bound``)."""

    # Rows read per lead needed at first: most leads have one day row near the top (when
    # they do not, the walk reads twice as many rows again).
    SLACK = 1.2

    def __init__(self, criteria: list[FeedCriterion], hidden: bool) -> None:
        s = t.lead_day_stats
        first = sa.bindparam("walk_first", type_=sa.Date)
        last = sa.bindparam("walk_last", type_=sa.Date)
        account_id = sa.bindparam("walk_account", type_=sa.Integer)
        where = [
            s.c.account_id == account_id,
            s.c.last_visit_at >= sa.bindparam("walk_after", type_=t.Timestamp()),
            s.c.last_visit_at < sa.bindparam("walk_before", type_=t.Timestamp()),
            s.c.day.between(first, last),
        ]
        if hidden:
            where.append(s.c.lead_pk.not_in(_hidden_leads(account_id)))
        source: sa.FromClause = s
        clauses = _criteria_clauses(criteria, s, first, last)
        if clauses:
            # Each walked row pays for its joins: only the tables the criteria read.
            kinds = {c.criterion_type for c in criteria}
            source = s.join(t.leads, t.leads.c.pk == s.c.lead_pk)
            if kinds & _COMPANY_CRITERIA:
                source = source.join(t.companies, t.companies.c.id == t.leads.c.company_id)
            if kinds & _LOCATION_CRITERIA:
                source = source.join(t.locations, t.locations.c.id == t.leads.c.location_id)
            where += clauses
        # Only compared for equality, never shown: read as text, which no driver parses into
        # a datetime (equal times have equal text within one statement on both backends).
        at = sa.cast(s.c.last_visit_at, sa.String()).label("at")
        self.rows = (
            sa.select(s.c.lead_pk, at)
            .select_from(source)
            .where(*where)
            .order_by(s.c.last_visit_at.desc())
            .limit(sa.bindparam("rows", type_=sa.Integer))
        )
        top = self.rows.with_only_columns(s.c.lead_pk).subquery("top")
        self.top_count = sa.select(sa.func.count(sa.distinct(top.c.lead_pk)), sa.func.count())
        every = sa.select(s.c.lead_pk).select_from(source).where(*where).distinct()
        self.every_count = sa.select(sa.func.count()).select_from(
            every.limit(sa.bindparam("cap", type_=sa.Integer)).subquery("every")
        )
        # By lead (the walk found them in this account): the primary key serves it, where an
        # account filter would lead SQLite to the interval's (account_id, day) index. One
        # expanding parameter, so the statement's text does not change with the page size.
        pks = s.c.lead_pk.in_(sa.bindparam("page_pks", expanding=True))
        self.page, _quality = _interval_select(
            _day_stats(first, last, pks),
            account_id,
            sa.bindparam("recent_from", type_=sa.Date),
            sa.bindparam("month_from", type_=sa.Date),
        )
        self.values: dict[str, Any] = {}

    def bound(self, account_id: int, first: date, last: date) -> _Walk:
        walk = copy.copy(self)
        # The local days [first, last] lie within these UTC bounds in any timezone
        # (UTC-12 … UTC+14): they let the index range start and end near the interval.
        walk.values = {
            "walk_account": account_id,
            "walk_first": first,
            "walk_last": last,
            "walk_after": datetime.combine(shifted(first, -1), time(), UTC),
            "walk_before": datetime.combine(shifted(last, 2), time(), UTC),
            "recent_from": shifted(last, -q.RECENT_DAYS),
            "month_from": shifted(last, -q.MONTH_DAYS),
        }
        return walk

    def count(self, conn: sa.Connection) -> int:
        """How many leads the walk holds, capped at ``LEAD_CAP``.

        The newest rows hold that many leads in a busy interval (most leads have one day row
        among them): counting the distinct leads among the first 1.0625 × cap rows (an index
        range) answers it. Only when they hold fewer is the interval counted whole — then it
        has fewer than that many day rows or fewer than cap leads, or its leads come back day
        after day, and the count costs what it reads."""
        limit = LEAD_CAP + LEAD_CAP // 16
        found, rows = conn.execute(self.top_count, self.values | {"rows": limit}).one()
        if found >= LEAD_CAP:
            return LEAD_CAP
        if rows < limit:
            return int(found)
        every = conn.execute(self.every_count, self.values | {"cap": LEAD_CAP})
        return int(every.scalar_one())

    def groups(self, conn: sa.Connection, needed: int) -> list[list[int]]:
        """The first ``needed`` leads in walk order, grouped by last visit time (newest
        first); the last group is whole, so it may run past ``needed``."""
        rows = int(needed * self.SLACK) + 64
        while True:
            result = conn.execute(self.rows, self.values | {"rows": rows}).all()
            groups: list[list[int]] = []
            seen: set[int] = set()
            at: object = None
            complete = len(result) < rows  # the walk ran out: whatever was found is all
            for pk, row_at in result:
                if len(seen) >= needed and row_at != at:
                    complete = True  # every row tied with the last lead has been read
                    break
                if pk in seen:
                    continue
                seen.add(pk)
                if row_at == at:
                    groups[-1].append(pk)
                else:
                    groups.append([pk])
                    at = row_at
            if complete:
                return groups
            rows *= 2

    def page_rows(self, conn: sa.Connection, pks: list[int]) -> sa.CursorResult[Any]:
        """The leads ``pks`` with their interval stats and quality."""
        return conn.execute(self.page, self.values | {"page_pks": pks})


def feed_members(
    conn: sa.Connection,
    account_id: int,
    first: date,
    last: date,
    criteria: list[FeedCriterion],
    lead_pks: list[int],
) -> dict[int, int]:
    """Which of these leads the feed lists for [first, last], each with its quality there:
    the lead list's own select and criteria (``_interval_select``, ``_criteria_clauses``),
    its statistics summed for these leads only (alerts ask this of a pipeline batch's
    leads). The statement is built once per feed; a call binds its values."""
    if not lead_pks:
        return {}
    key = repr([(c.criterion_type, c.search_value, c.excluded) for c in criteria])
    statement = _MEMBERS.get(key)
    if statement is None:
        if len(_MEMBERS) >= 256:
            _MEMBERS.clear()
        statement = _MEMBERS[key] = _members_statement(criteria)
    values = {
        "m_account": account_id,
        "m_first": first,
        "m_last": last,
        "m_recent": shifted(last, -q.RECENT_DAYS),
        "m_month": shifted(last, -q.MONTH_DAYS),
        "m_pks": sorted(lead_pks),
    }
    return {int(pk): int(value) for pk, value in conn.execute(statement, values)}


_MEMBERS: dict[str, sa.Select[Any]] = {}


def _members_statement(criteria: list[FeedCriterion]) -> sa.Select[Any]:
    first = sa.bindparam("m_first", type_=sa.Date)
    last = sa.bindparam("m_last", type_=sa.Date)
    pks = t.lead_day_stats.c.lead_pk.in_(sa.bindparam("m_pks", expanding=True))
    stats = _day_stats(first, last, pks)
    query, quality = _interval_select(
        stats,
        sa.bindparam("m_account", type_=sa.Integer),
        sa.bindparam("m_recent", type_=sa.Date),
        sa.bindparam("m_month", type_=sa.Date),
    )
    for clause in _criteria_clauses(criteria, stats, first, last):
        query = query.where(clause)
    return query.with_only_columns(t.leads.c.pk, quality)


def get_lead(conn: sa.Connection, account_id: int, lead_id: str) -> Lead | None:
    query = (
        sa.select(t.leads, *company_columns("co_"), *prefixed(t.locations, "loc_"))
        .join(t.companies, t.companies.c.id == t.leads.c.company_id)
        .join(t.locations, t.locations.c.id == t.leads.c.location_id)
        .where(t.leads.c.account_id == account_id, t.leads.c.id == lead_id)
    )
    row = conn.execute(query).first()
    return _lead_from_row(row._mapping, interval=False) if row else None


def _lead_from_row(row: Mapping[Any, Any], *, interval: bool) -> Lead:
    return Lead(
        pk=row["pk"],
        id=row["id"],
        account_id=row["account_id"],
        company=company_from_row(row, "co_"),
        location=location_from_row(row, "loc_"),
        assignee=row["assignee"],
        emailed_to=row["emailed_to"],
        crm_lead_id=row["crm_lead_id"],
        crm_organization_id=row["crm_organization_id"],
        tags=row["tags"],
        first_visit_date=row["first_visit_date"],
        last_visit_date=row["last_visit_date"],
        visits=row["interval_visits"] if interval else row["visits_total"],
        quality=row["quality"] if interval else None,
        hidden=row["hidden"],
    )


def _criteria_clauses(
    criteria: list[FeedCriterion], stats: sa.FromClause, first: _Day, last: _Day
) -> list[sa.ColumnElement[bool]]:
    by_type: dict[Criterion, list[FeedCriterion]] = {}
    for criterion in criteria:
        by_type.setdefault(criterion.criterion_type, []).append(criterion)
    clauses = []
    for group in by_type.values():
        included = [_match(c, stats, first, last) for c in group if not c.excluded]
        if included:
            clauses.append(sa.or_(*included))
        clauses.extend(sa.not_(_match(c, stats, first, last)) for c in group if c.excluded)
    return clauses


def _match(
    criterion: FeedCriterion, stats: sa.FromClause, first: _Day, last: _Day
) -> sa.ColumnElement[bool]:
    kind, value = criterion.criterion_type, criterion.search_value
    leads, companies, locations = t.leads.c, t.companies.c, t.locations.c
    text = str(value).lower()
    match kind:
        case Criterion.COUNTRY_CODE:
            return sa.func.lower(locations.country_code) == text
        case Criterion.REGION:
            return sa.func.lower(locations.region) == text
        case Criterion.CITY:
            return sa.func.lower(locations.city) == text
        case Criterion.INDUSTRY_CODE:
            if criterion.is_any:
                return companies.industry_code.is_not(None)
            return sa.func.coalesce(companies.industry_code, -1) == int(value)
        case Criterion.EMPLOYEE_COUNT:
            low, high = employee_range(str(value))
            count = companies.employee_count
            parts: list[sa.ColumnElement[bool]] = [count.is_not(None)]
            parts += [count >= low] if low is not None else []
            parts += [count <= high] if high is not None else []
            return sa.and_(*parts)
        case Criterion.COMPANY_NAME:
            return sa.func.lower(companies.name).contains(text, autoescape=True)
        case Criterion.TAG:
            return _json_contains(leads.tags, str(value))
        case Criterion.ASSIGNEE:
            if criterion.is_any:
                return sa.func.coalesce(leads.assignee, "") != ""
            return sa.func.lower(leads.assignee) == text
        case Criterion.FOLLOWED:
            return sa.exists().where(
                t.lead_followers.c.lead_pk == leads.pk,
                t.lead_followers.c.user_id == int(value),
            )
        case Criterion.VISITS:
            return stats.c.visits >= int(value)
        case Criterion.PAGEVIEWS:
            return stats.c.pageviews >= int(value)
        case Criterion.PAGE_URL:
            pages = t.visit_pages.c
            return sa.exists().where(
                pages.lead_pk == leads.pk,
                pages.date.between(first, last),
                sa.func.lower(pages.page_url).contains(text, autoescape=True),
            )
        case Criterion.SOURCE | Criterion.MEDIUM | Criterion.CAMPAIGN | Criterion.DEVICE_TYPE:
            visits = t.visits.c
            return sa.exists().where(
                visits.lead_pk == leads.pk,
                visits.date.between(first, last),
                sa.func.lower(visits[kind.value]) == text,
            )
    raise AssertionError(kind)  # pragma: no cover - the match above is exhaustive


def _json_contains(column: sa.ColumnElement[Any], value: str) -> sa.ColumnElement[bool]:
    """``value`` is an element of the JSON string array in ``column``, on both backends."""
    # JSON array membership has no portable SQL form; json_each (SQLite) and jsonb (PostgreSQL)
    # each express it, so the clause is compiled per dialect.
    return _JsonContains(column, value)


class _JsonContains(sa.ColumnElement[bool]):
    inherit_cache = False  # carries a plain value, so statements using it are not cached
    type = sa.Boolean()

    def __init__(self, column: sa.ColumnElement[Any], value: str) -> None:
        self.column = column
        self.value = value


@compiles(_JsonContains, "sqlite")
def _json_contains_sqlite(element: _JsonContains, compiler: Any, **kw: Any) -> str:
    column = compiler.process(element.column, **kw)
    value = compiler.process(sa.literal(element.value), **kw)
    # Both parts are compiled SQL (a column and a bound parameter), never user text.
    return f"EXISTS (SELECT 1 FROM json_each({column}) WHERE json_each.value = {value})"  # noqa: S608


@compiles(_JsonContains, "postgresql")
def _json_contains_pg(element: _JsonContains, compiler: Any, **kw: Any) -> str:
    column = compiler.process(element.column, **kw)
    value = compiler.process(sa.literal(element.value), **kw)
    return f"(CAST({column} AS JSONB) ? {value})"
