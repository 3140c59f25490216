"""Lead queries: interval lists filtered by feed criteria, single leads, and export streams.

Interval lists aggregate ``lead_day_stats`` (never raw visits), so their cost follows the
number of days × leads in the range, not the number of hits.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import date, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles

from openfeeder.domain import quality as q
from openfeeder.domain.feeds import Criterion, FeedCriterion, employee_range
from openfeeder.domain.models import Lead, Page
from openfeeder.store import schema as t
from openfeeder.store.rows import company_columns, company_from_row, location_from_row, prefixed

LEAD_CAP = 10_000


def _known_fields_points() -> sa.ColumnElement[int]:
    terms = [
        sa.case((t.companies.c[name].is_not(None), q.FIELD_POINTS), else_=0)
        for name in q.COMPANY_FIELDS
    ]
    return sa.func.coalesce(sum(terms[1:], terms[0]), 0)


def _capped(value: sa.ColumnElement[int], cap: int, points: int) -> sa.ColumnElement[int]:
    return points * sa.case((value > cap, cap), else_=value)


def day_stats(account_id: int, first: date, last: date) -> sa.Subquery:
    """Per lead with a visit in [first, last]: visits, pageviews, seconds, bounces and the
    last visit day, summed from ``lead_day_stats``."""
    s = t.lead_day_stats
    return (
        sa.select(
            s.c.lead_pk,
            sa.func.sum(s.c.visits).label("visits"),
            sa.func.sum(s.c.pageviews).label("pageviews"),
            sa.func.sum(s.c.seconds).label("seconds"),
            sa.func.sum(s.c.bounces).label("bounces"),
            sa.func.max(s.c.day).label("last_day"),
        )
        .where(s.c.account_id == account_id, s.c.day.between(first, last))
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
    activity = (
        _capped(stats.c.visits, q.VISIT_CAP, q.VISIT_POINTS)
        + _capped(stats.c.pageviews, q.PAGEVIEW_CAP, q.PAGEVIEW_POINTS)
        + _capped(stats.c.seconds // 60, q.MINUTE_CAP, q.MINUTE_POINTS)
        + sa.case(
            (stats.c.last_day >= last - timedelta(days=q.RECENT_DAYS), q.RECENT_POINTS),
            (stats.c.last_day >= last - timedelta(days=q.MONTH_DAYS), q.MONTH_POINTS),
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
    for clause in _criteria_clauses(criteria, stats, first, last):
        query = query.where(clause)
    return query, quality, stats.c.last_day


def list_leads(
    conn: sa.Connection,
    account_id: int,
    first: date,
    last: date,
    criteria: list[FeedCriterion],
    offset: int,
    limit: int,
    stats: sa.Subquery | None = None,
) -> Page:
    """Leads with a visit in [first, last], last visit day desc, quality desc, id; ≤ 10 000."""
    query, quality, last_day = interval_query(account_id, first, last, criteria, stats)
    limit = max(0, min(limit, LEAD_CAP - offset))
    if limit:
        # The total rides along as a window count, so a page costs one aggregation of the
        # day statistics instead of two (one for the count, one for the page).
        ordered = query.add_columns(sa.func.count().over().label("total_count")).order_by(
            last_day.desc(), quality.desc(), t.leads.c.id
        )
        rows = conn.execute(ordered.offset(offset).limit(limit)).all()
        if rows:
            total = min(rows[0].total_count, LEAD_CAP)
            return Page([_lead_from_row(row._mapping, interval=True) for row in rows], total)
    # Past the last page (or the cap) no row carries the total: count on its own.
    count = sa.select(sa.func.count()).select_from(query.limit(LEAD_CAP).subquery())
    return Page([], conn.execute(count).scalar_one())


def stream_leads(
    conn: sa.Connection, account_id: int, first: date, last: date, criteria: list[FeedCriterion]
) -> Iterator[tuple[Lead, Mapping[Any, Any]]]:
    """Every matching lead (no cap) with its interval stats, read in batches: constant memory."""
    query, quality, last_day = interval_query(account_id, first, last, criteria)
    ordered = query.order_by(last_day.desc(), quality.desc(), t.leads.c.id)
    result = conn.execution_options(yield_per=1000).execute(ordered)
    for row in result:
        yield _lead_from_row(row._mapping, interval=True), row._mapping


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
    )


def _criteria_clauses(
    criteria: list[FeedCriterion], stats: sa.Subquery, first: date, last: date
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
    criterion: FeedCriterion, stats: sa.Subquery, first: date, last: date
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
