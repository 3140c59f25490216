"""Lead list pages read by walking the day rows newest first: the order (last visit time, then
quality, then id), pages that cut through ties, feeds, the 10 000 cap, pages past the end, and
equality with the full aggregation and with a reference computed in Python from raw visits,
on a randomised store, on both backends."""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from openfeeder.domain import ids
from openfeeder.domain import quality as q
from openfeeder.domain.feeds import FeedCriterion, parse_criteria
from openfeeder.domain.models import Account, Company, Location, NewVisit, Page
from openfeeder.services.visits import record_visits, route_step
from openfeeder.store import leads as store
from openfeeder.store import schema as t
from tests.support.factories import BOSTON, HELSINKI, STOCKHOLM, Builder

FIRST, LAST = date(2026, 1, 1), date(2026, 1, 20)


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 1, day, hour, minute, tzinfo=UTC)


def visit(
    account: Account,
    company: Company,
    started: datetime,
    pages: int = 1,
    location: Location = HELSINKI,
    **fields: Any,
) -> NewVisit:
    route = [route_step(f"https://www.example.com/p{i}/", f"Page {i}", 30) for i in range(pages)]
    return NewVisit(ids.new_visit_id(), account.id, company.id, location, started, route, **fields)  # type: ignore[arg-type]


def page(
    builder: Builder,
    account: Account,
    offset: int,
    limit: int,
    criteria: list[FeedCriterion] | None = None,
    first: date = FIRST,
    last: date = LAST,
) -> Page:
    with builder.db.read() as conn:
        return store.list_leads(conn, account.id, first, last, criteria or [], offset, limit)


def aggregated(
    builder: Builder,
    account: Account,
    offset: int,
    limit: int,
    criteria: list[FeedCriterion] | None = None,
    first: date = FIRST,
    last: date = LAST,
) -> Page:
    with builder.db.read() as conn:
        return store.list_leads_aggregated(
            conn, account.id, first, last, criteria or [], offset, limit
        )


def reference_order(builder: Builder, account: Account, first: date, last: date) -> list[str]:
    """Lead ids in list order, computed in Python from the raw visits of the interval."""
    v = t.visits
    with builder.db.read() as conn:
        rows = conn.execute(
            sa.select(
                t.leads.c.id,
                v.c.started_at,
                v.c.date,
                v.c.page_depth,
                v.c.visit_length,
                *[t.companies.c[name] for name in q.COMPANY_FIELDS],
            )
            .join(t.leads, t.leads.c.pk == v.c.lead_pk)
            .join(t.companies, t.companies.c.id == t.leads.c.company_id)
            .where(v.c.account_id == account.id, v.c.date.between(first, last))
        ).all()
    visits: dict[str, list[Any]] = defaultdict(list)
    for row in rows:
        visits[row.id].append(row)
    keys = []
    for lead_id, own in visits.items():
        activity = q.Activity(
            visits=len(own),
            pageviews=sum(r.page_depth for r in own),
            seconds=sum(r.visit_length for r in own),
            days_since_last_visit=(last - max(r.date for r in own)).days,
        )
        known = sum(own[0][5 + i] is not None for i in range(len(q.COMPANY_FIELDS)))
        latest = max(r.started_at for r in own)
        keys.append((-latest.timestamp(), -q.quality(activity, known), lead_id))
    return [lead_id for *_, lead_id in sorted(keys)]


def every_page(
    builder: Builder, account: Account, size: int, criteria: list[FeedCriterion] | None = None
) -> list[str]:
    seen: list[str] = []
    offset = 0
    while True:
        got = page(builder, account, offset, size, criteria)
        assert got == aggregated(builder, account, offset, size, criteria), (offset, size)
        seen += [lead.id for lead in got.items]
        if len(got.items) < size:
            assert offset + len(got.items) == got.total
            return seen
        offset += size


def test_order_is_last_visit_time_not_day_then_quality_then_id(builder: Builder) -> None:
    account = builder.account(builder.user())
    rich, bare, later, tied = builder.companies(4)
    record_visits(
        builder.db,
        [
            # Same day: the richer lead (more pageviews) visited earlier that day.
            visit(account, rich, at(10, 8), pages=4),
            visit(account, rich, at(3, 8), pages=4),
            visit(account, bare, at(10, 9)),
            # The latest visit of all, on an earlier day than another lead's later visit
            # would not matter: time decides.
            visit(account, later, at(12, 1)),
            # Same time as ``bare``, better quality: before it.
            visit(account, tied, at(10, 9), pages=6),
        ],
    )
    got = page(builder, account, 0, 10)
    ids_ = {c.id: name for c, name in [(rich, "rich"), (bare, "bare"), (later, "l"), (tied, "t")]}
    assert [ids_[lead.company.id] for lead in got.items] == ["l", "t", "bare", "rich"]
    assert got.total == 4
    assert got.items[1].quality > got.items[2].quality
    assert got.items[3].quality > got.items[2].quality  # quality only breaks ties
    assert got.items[0].visits == 1
    assert got.items[3].visits == 2


def test_pages_cutting_through_a_tie_group_order_it_by_quality_then_id(
    builder: Builder,
) -> None:
    account = builder.account(builder.user())
    # Known firmographics make three qualities among the seven leads tied on their last visit.
    known = [{}, {"website_url": "https://a.example", "phone": "+1"}]
    known.append(known[1] | {"revenue": "EUR 1.0", "business_id": "1"})
    companies = [builder.companies(1, **known[n % 3])[0] for n in range(9)]
    same = at(15, 12)
    record_visits(
        builder.db,
        [visit(account, c, same) for c in companies[:7]]
        + [visit(account, c, at(16, 1 + n)) for n, c in enumerate(companies[7:])],
    )
    whole = page(builder, account, 0, 100)
    assert whole.total == 9
    tie = whole.items[2:]
    assert [(-lead.quality, lead.id) for lead in tie] == sorted(
        (-lead.quality, lead.id) for lead in tie
    )
    assert len({lead.quality for lead in tie}) == 3
    for size in (1, 2, 3, 4):
        assert every_page(builder, account, size) == [lead.id for lead in whole.items], size
    assert every_page(builder, account, 2) == reference_order(builder, account, FIRST, LAST)


def test_local_days_bound_the_interval(builder: Builder) -> None:
    account = builder.account(builder.user(), timezone="Pacific/Kiritimati")  # UTC+14
    inside, before, after = builder.companies(3)
    record_visits(
        builder.db,
        [
            visit(account, inside, datetime(2025, 12, 31, 10, 30, tzinfo=UTC)),  # Jan 1 local
            visit(account, before, datetime(2025, 12, 31, 9, 30, tzinfo=UTC)),  # Dec 31 local
            visit(account, after, datetime(2026, 1, 20, 10, 30, tzinfo=UTC)),  # Jan 21 local
        ],
    )
    got = page(builder, account, 0, 10)
    assert [lead.company.id for lead in got.items] == [inside.id]
    assert got == aggregated(builder, account, 0, 10)


def test_a_page_past_the_end_is_empty_with_the_total(builder: Builder) -> None:
    account = builder.account(builder.user())
    record_visits(builder.db, [visit(account, c, at(5, 5)) for c in builder.companies(3)])
    assert page(builder, account, 3, 10) == Page([], 3)
    assert page(builder, account, 500, 100) == Page([], 3)
    assert page(builder, account, 0, 10, first=date(2025, 1, 1), last=date(2025, 1, 31)) == Page(
        [], 0
    )


def test_the_total_is_capped(builder: Builder, monkeypatch: pytest.MonkeyPatch) -> None:
    # The cap is 10 000; a small one exercises the same code with a store of 30 leads.
    monkeypatch.setattr(store, "LEAD_CAP", 12)
    account = builder.account(builder.user())
    companies = builder.companies(30)
    record_visits(
        builder.db, [visit(account, c, at(1 + n % 15, n % 24, n)) for n, c in enumerate(companies)]
    )
    first = page(builder, account, 0, 5)
    assert first.total == 12
    assert first == aggregated(builder, account, 0, 5)
    last = page(builder, account, 10, 5)
    assert len(last.items) == 2
    assert last.total == 12
    assert last == aggregated(builder, account, 10, 5)
    assert page(builder, account, 12, 5) == Page([], 12)
    monkeypatch.setattr(store, "LEAD_CAP", 40)
    assert page(builder, account, 0, 5).total == 30


def test_the_total_is_counted_whole_when_the_newest_rows_hold_few_leads(
    builder: Builder, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Two leads own the newest 8 day rows, so the newest 2 × cap rows hold fewer than cap
    # leads: the count goes on to the whole interval.
    monkeypatch.setattr(store, "LEAD_CAP", 3)
    account = builder.account(builder.user())
    companies = builder.companies(6)
    record_visits(
        builder.db,
        [
            visit(account, c, at(17 + d, 1 + n))
            for n, c in enumerate(companies[:2])
            for d in range(4)
        ]
        + [visit(account, c, at(1 + n, 1)) for n, c in enumerate(companies[2:])],
    )
    assert page(builder, account, 0, 2) == aggregated(builder, account, 0, 2)
    assert page(builder, account, 0, 2).total == 3
    monkeypatch.setattr(store, "LEAD_CAP", 5)
    assert page(builder, account, 0, 2).total == 5
    monkeypatch.setattr(store, "LEAD_CAP", 50)
    assert page(builder, account, 0, 2).total == 6
    assert every_page(builder, account, 4) == reference_order(builder, account, FIRST, LAST)


def randomised(builder: Builder, seed: int) -> Account:
    """Leads with random firmographics, places and visits, many of them at the same times."""
    rng = random.Random(seed)
    account = builder.account(builder.user(), timezone="America/New_York")
    companies = [
        builder.companies(
            1,
            website_url="https://a.example" if rng.random() < 0.5 else None,
            phone="+1" if rng.random() < 0.5 else None,
            employee_count=rng.choice([None, 5, 50, 500]),
        )[0]
        for _ in range(60)
    ]
    # Few distinct times, so that leads tie on their last visit and pages cut through ties.
    times = [
        datetime(2025, 12, 30, tzinfo=UTC) + timedelta(hours=rng.randrange(24 * 24))
        for _ in range(25)
    ]
    visits = [
        visit(
            account,
            company,
            rng.choice(times),
            pages=rng.randint(1, 6),
            location=rng.choice([HELSINKI, BOSTON, STOCKHOLM]),
            source=rng.choice(["Google", "LinkedIn", None]),
        )
        for company in companies
        for _ in range(rng.randint(1, 6))
    ]
    record_visits(builder.db, visits)
    return account


@pytest.mark.parametrize("seed", [1, 2])
def test_every_page_equals_the_full_aggregation_and_the_reference(
    builder: Builder, seed: int
) -> None:
    account = randomised(builder, seed)
    expected = reference_order(builder, account, FIRST, LAST)
    assert len(expected) > 40
    for size in (1, 7, 100):
        assert every_page(builder, account, size) == expected, size


FEEDS = [
    [{"criterion_type": "country_code", "search_value": "FI", "excluded": False}],
    [
        {"criterion_type": "country_code", "search_value": "us", "excluded": False},
        {"criterion_type": "country_code", "search_value": "SE", "excluded": False},
        {"criterion_type": "employee_count", "search_value": "10-", "excluded": False},
    ],
    [{"criterion_type": "source", "search_value": "google", "excluded": True}],
    [{"criterion_type": "company_name", "search_value": "5", "excluded": False}],
    # A threshold on interval totals: the slow path, in the same order.
    [
        {"criterion_type": "visits", "search_value": 3, "excluded": False},
        {"criterion_type": "country_code", "search_value": "FI", "excluded": True},
    ],
]


@pytest.mark.parametrize("feed", range(len(FEEDS)))
def test_feed_pages_equal_the_full_aggregation(builder: Builder, feed: int) -> None:
    account = randomised(builder, 3)
    criteria = parse_criteria(FEEDS[feed])
    everything = aggregated(builder, account, 0, 1000)
    matching = aggregated(builder, account, 0, 1000, criteria)
    assert 0 < matching.total < everything.total
    # The feed's leads keep the list's order.
    position = {lead.id: n for n, lead in enumerate(everything.items)}
    assert [position[lead.id] for lead in matching.items] == sorted(
        position[lead.id] for lead in matching.items
    )
    for size in (3, 50):
        assert every_page(builder, account, size, criteria) == [lead.id for lead in matching.items]


def test_a_feed_whose_criteria_hold_json_lists_is_listed(builder: Builder) -> None:
    account = randomised(builder, 4)
    criteria = parse_criteria(
        [
            {
                "criterion_type": "country_code",
                "search_value": "FI",
                "excluded": False,
                "display_value": ["Finland"],
            }
        ]
    )
    got = page(builder, account, 0, 100, criteria)
    assert got.total > 0
    assert got == aggregated(builder, account, 0, 100, criteria)
    assert {lead.location.country_code for lead in got.items} == {"FI"}
