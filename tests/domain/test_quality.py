"""Lead quality: bounded, monotonic in every input, and the SQL form equals the Python one."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import sqlalchemy as sa
from hypothesis import given
from hypothesis import strategies as st

from openfeeder.domain import quality as q
from openfeeder.store import leads as store
from openfeeder.store import schema as t
from tests.support.factories import Builder

activities = st.builds(
    q.Activity,
    visits=st.integers(0, 50),
    pageviews=st.integers(0, 200),
    seconds=st.integers(0, 20_000),
    days_since_last_visit=st.integers(0, 400),
)
known = st.integers(0, len(q.COMPANY_FIELDS))


@given(activities, known)
def test_quality_is_between_0_and_10(activity: q.Activity, fields: int) -> None:
    assert 0 <= q.quality(activity, fields) <= 10


@given(activities, known, st.integers(0, 10), st.integers(0, 20), st.integers(0, 900))
def test_more_activity_never_lowers_quality(
    activity: q.Activity, fields: int, visits: int, pageviews: int, seconds: int
) -> None:
    more = replace(
        activity,
        visits=activity.visits + visits,
        pageviews=activity.pageviews + pageviews,
        seconds=activity.seconds + seconds,
    )
    assert q.quality(more, fields) >= q.quality(activity, fields)


@given(activities, known, st.integers(0, 60))
def test_a_more_recent_visit_never_lowers_quality(
    activity: q.Activity, fields: int, sooner: int
) -> None:
    recent = replace(
        activity, days_since_last_visit=max(0, activity.days_since_last_visit - sooner)
    )
    assert q.quality(recent, fields) >= q.quality(activity, fields)


@given(activities, st.integers(0, len(q.COMPANY_FIELDS) - 1))
def test_knowing_more_never_lowers_quality(activity: q.Activity, fields: int) -> None:
    assert q.quality(activity, fields + 1) >= q.quality(activity, fields)


def test_extremes() -> None:
    nothing = q.Activity(0, 0, 0, 1000)
    everything = q.Activity(100, 100, 10_000, 0)
    assert q.quality(nothing, 0) == 0
    assert q.quality(everything, len(q.COMPANY_FIELDS)) == 10


def test_sql_quality_equals_python_quality(builder: Builder) -> None:
    member = builder.user()
    account = builder.account(member)
    rich = builder.companies(
        6, website_url="https://a.example", phone="+1", employee_count=5, revenue="EUR 1.0"
    )
    bare = builder.companies(6)
    builder.visits(account, rich + bare, per_company=3, days=60, seed=21)
    first, last = date(2026, 1, 1), date(2026, 2, 15)
    with builder.db.read() as conn:
        page = store.list_leads(conn, account.id, first, last, [], 0, 100)
        for lead in page.items:
            row = conn.execute(
                sa.select(
                    sa.func.sum(t.lead_day_stats.c.visits),
                    sa.func.sum(t.lead_day_stats.c.pageviews),
                    sa.func.sum(t.lead_day_stats.c.seconds),
                    sa.func.max(t.lead_day_stats.c.day),
                ).where(
                    t.lead_day_stats.c.lead_pk == lead.pk,
                    t.lead_day_stats.c.day.between(first, last),
                )
            ).one()
            activity = q.Activity(row[0], row[1], row[2], (last - row[3]).days)
            fields = sum(getattr(lead.company, name) is not None for name in q.COMPANY_FIELDS)
            assert lead.quality == q.quality(activity, fields), lead.id
    assert len({lead.quality for lead in page.items}) > 1
