"""The overview page: its figures and top lists are the counts of the visits recorded
(computed here from the builders' own visits), beside the period before; days are the
account's; an empty account shows zeros; visitors' text is shown as text."""

from __future__ import annotations

import json
import re
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from html import unescape

import pytest
from starlette.testclient import TestClient

from openfeeder.domain import ids
from openfeeder.domain.models import Account, Company, Location, NewVisit
from openfeeder.services.visits import record_visits, route_step
from openfeeder.store.companies import upsert_companies
from tests.support.factories import BOSTON, HELSINKI, Builder

JANUARY = {"range": "custom", "start": "2026-01-01", "end": "2026-01-31"}
HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)>'
_FIGURE = re.compile(
    r'<span class="figure-name">([^<]+)</span>\s*<span class="figure-value">([\d,]+)</span>'
    r'\s*<span class="figure-change[^"]*">\s*([^<]*?)\s*</span>'
    r'\s*<span class="figure-previous">Previous period: ([\d,]+)</span>'
)


def _figures(html: str) -> dict[str, tuple[int, int, str]]:
    """Each figure's name → (this period, the previous one, the change as shown)."""
    return {
        name: (int(now.replace(",", "")), int(before.replace(",", "")), " ".join(change.split()))
        for name, now, change, before in _FIGURE.findall(html)
    }


def _chart(html: str) -> dict[str, list[object]]:
    found = re.search(r'data-chart="([^"]*)"', html)
    assert found is not None
    return json.loads(unescape(found.group(1)))  # type: ignore[no-any-return]


def _top(html: str, section: str) -> list[tuple[str, int]]:
    """The rows (first cell as text, count) of a top list."""
    found = re.search(
        rf'<section class="card top-list" aria-labelledby="{section}">(.*?)</section>', html, re.S
    )
    assert found is not None, section
    rows = re.findall(
        r"<tr>\s*<td>(.*?)</td>\s*<td class=\"num\">([\d,]+)</td>", found.group(1), re.S
    )
    return [
        (unescape(re.sub(r"<[^>]+>", "", cell)).strip(), int(n.replace(",", "")))
        for cell, n in rows
    ]


def _overview(client: TestClient, account: Account, first: str, last: str | None = None) -> str:
    """The overview page of ``account`` for the days from ``first`` to ``last`` (or ``first``)."""
    params = {"range": "custom", "start": first, "end": last or first}
    page = client.get(f"/app/{account.id}/overview", params=params)
    assert page.status_code == 200
    return page.text


def _visit(
    account: Account,
    company: Company,
    start: datetime,
    pages: list[str],
    location: Location = HELSINKI,
    **fields: object,
) -> NewVisit:
    return NewVisit(
        id=ids.new_visit_id(),
        account_id=account.id,
        company_id=company.id,
        location=location,
        started_at=start,
        route=[route_step(url, "Title", 10) for url in pages],
        **fields,
    )  # type: ignore[arg-type]


def test_the_figures_and_top_lists_are_the_counts_of_the_recorded_visits(
    signed_in: TestClient, builder: Builder, account: Account
) -> None:
    machines = builder.companies(3, industry="Machinery")
    software = builder.companies(2, industry="Software")
    unknown = builder.companies(1)
    made = [
        *builder.visits(account, machines, per_company=4, seed=2, source="google", medium="cpc"),
        *builder.visits(account, software, per_company=2, seed=3, location=BOSTON),
        *builder.visits(account, unknown, per_company=1, seed=4, source="newsletter"),
        # December: the previous period of the same 31 days; two of its companies are back.
        *builder.visits(
            account, machines[:1] + builder.companies(2), first=date(2025, 12, 1), days=31
        ),
    ]
    page = signed_in.get(f"/app/{account.id}/overview", params=JANUARY)
    assert page.status_code == 200
    assert "2026-01-01 – 2026-01-31" in page.text
    assert "compared with 2025-12-01 – 2025-12-31" in page.text

    def counts(first: date, last: date) -> tuple[int, int, int, int]:
        inside = [v for v in made if first <= v.started_at.date() <= last]
        leads = {(v.company_id, v.location.id) for v in inside}
        first_seen: dict[tuple[str, str], date] = {}
        for v in made:
            key = (v.company_id, v.location.id)
            first_seen[key] = min(first_seen.get(key, date.max), v.started_at.date())
        new = {key for key in leads if first_seen[key] >= first}
        return len(leads), len(new), len(inside), sum(len(v.route) for v in inside)

    now = counts(date(2026, 1, 1), date(2026, 1, 31))
    before = counts(date(2025, 12, 1), date(2025, 12, 31))
    shown = _figures(page.text)
    assert [shown[name][:2] for name in ("Leads", "New leads", "Visits", "Pageviews")] == list(
        zip(now, before, strict=True)
    )
    assert now[:2] == (6, 5)
    assert before[:2] == (3, 3)
    assert shown["Leads"][2] == "+3 (+100.0 %)"

    january = [v for v in made if v.started_at.date() >= date(2026, 1, 1)]
    chart = _chart(page.text)
    assert chart["days"] == [(date(2026, 1, 1) + timedelta(days=n)).isoformat() for n in range(31)]
    per_day = Counter(v.started_at.date().isoformat() for v in january)
    assert chart["visits"] == [per_day[day] for day in chart["days"]]  # type: ignore[index]

    pageviews = Counter(url for v in january for url in (s.page_url for s in v.route))
    expected_pages = sorted(pageviews.items(), key=lambda item: (-item[1], item[0]))
    assert _top(page.text, "top-pages") == expected_pages[:10]
    sources = Counter(f"{v.source or '(direct)'} / {v.medium or '(none)'}" for v in january)
    assert _top(page.text, "top-sources") == sorted(sources.items(), key=lambda i: (-i[1], i[0]))
    assert _top(page.text, "top-industries") == [("Machinery", 3), ("Software", 2), ("Unknown", 1)]
    assert _top(page.text, "top-countries") == [("Finland FI", 4), ("United States US", 2)]


def test_a_change_from_nothing_is_a_dash_and_a_fall_is_negative(
    signed_in: TestClient, builder: Builder, account: Account
) -> None:
    [company] = builder.companies(1)
    visits = [
        _visit(account, company, datetime(2026, 1, 10, 9, tzinfo=UTC), ["https://a.example/"]),
        _visit(account, company, datetime(2026, 1, 12, 9, tzinfo=UTC), ["https://a.example/"]),
        _visit(account, company, datetime(2026, 1, 20, 9, tzinfo=UTC), ["https://a.example/"]),
    ]
    record_visits(builder.db, visits)
    # 2026-01-20 alone, then the day before it (nothing), then 10–12 (2 visits) before 13–15.
    shown = _figures(_overview(signed_in, account, "2026-01-20"))
    assert shown["Visits"] == (1, 0, "+1 (—)")
    assert shown["New leads"] == (0, 0, "0 (—)")  # its first visit was on the 10th
    later = _figures(_overview(signed_in, account, "2026-01-13", "2026-01-15"))
    assert later["Visits"] == (0, 2, "-2 (-100.0 %)")
    assert later["Leads"] == (0, 1, "-1 (-100.0 %)")


def test_days_are_the_accounts_own(signed_in: TestClient, builder: Builder, member: object) -> None:
    helsinki = builder.account(member, timezone="Europe/Helsinki")  # type: ignore[arg-type]
    [company] = builder.companies(1)
    # 23:30 UTC on 31 January is 01:30 on 1 February in Helsinki.
    late = datetime(2026, 1, 31, 23, 30, tzinfo=UTC)
    record_visits(builder.db, [_visit(helsinki, company, late, ["https://a.example/"])])

    def visits_on(day: str) -> tuple[int, list[object]]:
        html = _overview(signed_in, helsinki, day)
        return _figures(html)["Visits"][0], _chart(html)["visits"]

    assert visits_on("2026-02-01") == (1, [1])
    assert visits_on("2026-01-31") == (0, [0])


def test_an_empty_account_shows_zeros(signed_in: TestClient, account: Account) -> None:
    page = signed_in.get(f"/app/{account.id}/overview")
    assert page.status_code == 200
    shown = _figures(page.text)
    assert shown == dict.fromkeys(("Leads", "New leads", "Visits", "Pageviews"), (0, 0, "0 (—)"))
    chart = _chart(page.text)
    assert len(chart["days"]) == 30
    assert set(chart["visits"]) == {0}
    for empty in (
        "No pageviews in this period.",
        "No visits in this period.",
        "No leads in this period.",
    ):
        assert empty in page.text
    # The navigation leads here, and the picker's presets stay on this page.
    assert f'href="/app/{account.id}/overview" aria-current="page"' in page.text
    assert f'href="/app/{account.id}/overview?range=7d"' in page.text


def test_text_from_visitors_and_companies_is_shown_as_text(
    signed_in: TestClient, builder: Builder, account: Account
) -> None:
    company = Company(id=ids.new_company_id(), name=HOSTILE, industry=HOSTILE)
    with builder.db.write() as conn:
        upsert_companies(conn, [company])
    visit = _visit(
        account,
        company,
        datetime(2026, 1, 5, 12, tzinfo=UTC),
        [f"https://site.example/?q={HOSTILE}"],
        source=HOSTILE,
        medium=HOSTILE,
    )
    record_visits(builder.db, [visit])
    page = signed_in.get(f"/app/{account.id}/overview", params=JANUARY)
    assert page.status_code == 200
    assert "<script>alert" not in page.text
    assert "<img src=x" not in page.text
    assert _top(page.text, "top-pages") == [(f"https://site.example/?q={HOSTILE}", 1)]
    assert _top(page.text, "top-sources") == [(f"{HOSTILE} / {HOSTILE}", 1)]
    assert _top(page.text, "top-industries") == [(HOSTILE, 1)]


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"range": "forever"}, "Unknown date range"),
        ({"range": "custom", "start": "2026-02-01", "end": "2026-01-01"}, "must not be after"),
        ({"range": "custom", "start": "yesterday", "end": "2026-01-01"}, "is not a date"),
    ],
)
def test_a_bad_period_is_answered_with_a_page(
    signed_in: TestClient, account: Account, params: dict[str, str], message: str
) -> None:
    page = signed_in.get(f"/app/{account.id}/overview", params=params)
    assert page.status_code == 400
    assert message in unescape(page.text)


def test_a_long_period_is_drawn_by_week_then_by_month(
    signed_in: TestClient, builder: Builder, account: Account
) -> None:
    [company] = builder.companies(1)
    start = datetime(2025, 3, 5, 12, tzinfo=UTC)  # a Wednesday
    record_visits(builder.db, [_visit(account, company, start, ["https://a.example/"])])
    weekly = _chart(_overview(signed_in, account, "2025-03-01", "2025-12-31"))
    assert weekly["unit"] == "week"
    assert weekly["days"][:3] == ["2025-03-01", "2025-03-03", "2025-03-10"]  # cut at the start
    assert weekly["visits"][:3] == [0, 1, 0]
    monthly = _chart(_overview(signed_in, account, "2024-01-15", "2026-01-31"))
    assert monthly["unit"] == "month"
    assert len(monthly["days"]) == 25
    assert monthly["days"][:2] == ["2024-01-15", "2024-02-01"]
    assert sum(monthly["visits"]) == 1  # type: ignore[arg-type]
    assert monthly["visits"][monthly["days"].index("2025-03-01")] == 1
