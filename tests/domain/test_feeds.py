"""Custom-feed criteria: same type OR-ed, different types AND-ed, excluded negated, 0 = any;
every criterion type evaluated against real data on both backends."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest

from openfeeder.domain.errors import BadRequest
from openfeeder.domain.feeds import Criterion, builtin_feeds, parse_criteria
from openfeeder.domain.models import Account, Company
from openfeeder.store import leads as store
from openfeeder.store import schema as t
from tests.support.factories import BOSTON, Builder

FIRST, LAST = date(2026, 1, 1), date(2026, 1, 31)


@pytest.fixture
def world(builder: Builder) -> tuple[Builder, Account, dict[str, Company]]:
    member = builder.user()
    account = builder.account(member)
    names = {}
    specs: list[tuple[str, dict[str, Any]]] = [
        ("telecom", {"industry": "Telecommunications", "industry_code": 8, "employee_count": 900}),
        ("software", {"industry": "Software", "industry_code": 20, "employee_count": 40}),
        ("unknown", {}),
    ]
    for key, fields in specs:
        (company,) = builder.companies(1, **fields)
        names[key] = company
    builder.visits(
        account,
        [names["telecom"]],
        per_company=4,
        source="Google",
        medium="cpc",
        campaign="Spring",
        device_type="desktop",
        seed=1,
    )
    builder.visits(
        account,
        [names["software"]],
        location=BOSTON,
        source="LinkedIn",
        medium="social",
        device_type="smartphone",
        seed=2,
    )
    builder.visits(account, [names["unknown"]], seed=3)
    with builder.db.write() as conn:
        conn.execute(
            t.leads.update()
            .where(t.leads.c.company_id == names["software"].id)
            .values(assignee="a@example.com", tags=["hot", "eu"])
        )
        pk = (
            conn.execute(t.leads.select().where(t.leads.c.company_id == names["unknown"].id))
            .one()
            .pk
        )
        conn.execute(t.lead_followers.insert().values(lead_pk=pk, user_id=member.user.id))
    return builder, account, names


def matching(
    world: tuple[Builder, Account, dict[str, Company]], criteria: list[dict[str, Any]]
) -> set[str]:
    builder, account, names = world
    by_id = {c.id: key for key, c in names.items()}
    with builder.db.read() as conn:
        page = store.list_leads(conn, account.id, FIRST, LAST, parse_criteria(criteria), 0, 100)
    return {by_id[lead.company.id] for lead in page.items}


def c(kind: str, value: Any, excluded: bool = False) -> dict[str, Any]:
    return {"criterion_type": kind, "search_value": value, "excluded": excluded}


@pytest.mark.parametrize(
    ("criteria", "expected"),
    [
        ([], {"telecom", "software", "unknown"}),
        ([c("country_code", "US")], {"software"}),
        ([c("country_code", "us", excluded=True)], {"telecom", "unknown"}),
        ([c("region", "uusimaa")], {"telecom", "unknown"}),
        ([c("city", "Boston")], {"software"}),
        ([c("industry_code", 0)], {"telecom", "software"}),
        ([c("industry_code", 0), c("industry_code", 8, excluded=True)], {"software"}),
        ([c("industry_code", 8), c("industry_code", 20)], {"telecom", "software"}),
        ([c("employee_count", "100-")], {"telecom"}),
        ([c("employee_count", "-100")], {"software"}),
        ([c("company_name", "company")], {"telecom", "software", "unknown"}),
        ([c("tag", "hot")], {"software"}),
        ([c("tag", "hot", excluded=True)], {"telecom", "unknown"}),
        ([c("assignee", 0)], {"software"}),
        ([c("assignee", 0, excluded=True)], {"telecom", "unknown"}),
        ([c("assignee", "A@example.com")], {"software"}),
        ([c("followed", "1")], {"unknown"}),  # the world's only user has id 1
        ([c("visits", 3)], {"telecom"}),
        ([c("pageviews", 5)], {"telecom"}),
        ([c("page_url", "/p0/")], {"telecom", "software", "unknown"}),
        ([c("page_url", "/nowhere/")], set()),
        ([c("source", "google")], {"telecom"}),
        ([c("medium", "social")], {"software"}),
        ([c("campaign", "Spring")], {"telecom"}),
        ([c("device_type", "smartphone")], {"software"}),
        ([c("source", "Google"), c("country_code", "FI")], {"telecom"}),
        ([c("source", "Google"), c("country_code", "US")], set()),
    ],
)
def test_criteria(
    world: tuple[Builder, Account, dict[str, Company]],
    criteria: list[dict[str, Any]],
    expected: set[str],
) -> None:
    assert matching(world, criteria) == expected


def test_every_criterion_type_is_covered_above() -> None:
    source = Path(__file__).read_text()
    for kind in Criterion:
        assert f'c("{kind.value}"' in source, kind


def test_followed_feed_belongs_to_the_asking_user(
    world: tuple[Builder, Account, dict[str, Company]],
) -> None:
    builder, account, names = world
    feeds = {f.id: f for f in builtin_feeds(1, "User 1")}
    with builder.db.read() as conn:
        mine = store.list_leads(
            conn, account.id, FIRST, LAST, feeds["followed_companies"].criteria, 0, 10
        )
        theirs = store.list_leads(
            conn, account.id, FIRST, LAST, builtin_feeds(999, "x")[3].criteria, 0, 10
        )
    assert [lead.company.id for lead in mine.items] == [names["unknown"].id]
    assert theirs.items == []


@pytest.mark.parametrize(
    "raw",
    [
        "nope",
        [1],
        [{"criterion_type": "planet", "search_value": 1}],
        [{"criterion_type": "visits", "search_value": "many"}],
        [{"criterion_type": "city"}],
        [{"criterion_type": "employee_count", "search_value": "lots"}],
        [{"criterion_type": "city", "search_value": "x", "excluded": "yes"}],
    ],
)
def test_invalid_criteria_are_rejected(raw: Any) -> None:
    with pytest.raises(BadRequest):
        parse_criteria(raw)
