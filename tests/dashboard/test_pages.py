"""The feed view and the lead page: the same leads as the API, everything from outside shown
as text, other people's accounts invisible, bad parameters answered with a page."""

from __future__ import annotations

import re
from html import unescape

import pytest
from starlette.testclient import TestClient

from openfeeder.dashboard.pages import VISITS_PAGE_SIZE
from openfeeder.dashboard.render import CONTENT_SECURITY_POLICY, static_files, static_url
from openfeeder.domain.events import MAX_TEXT, MAX_URL
from openfeeder.domain.models import Account
from openfeeder.services.visits import route_step
from tests.support.clients import auth
from tests.support.factories import Builder, Member

JANUARY = {"range": "custom", "start": "2026-01-01", "end": "2026-01-31"}
HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)>'


def _company_names(html: str) -> list[str]:
    cells = re.findall(r'<td><a href="/app/\d+/leads/[^"]+">([^<]*)</a>', html)
    return [unescape(cell) for cell in cells]


def test_the_feed_view_shows_the_leads_the_api_lists_in_its_order(
    signed_in: TestClient, builder: Builder, member: Member, account: Account
) -> None:
    companies = builder.companies(7)
    builder.visits(account, companies, per_company=3, seed=4)
    api = signed_in.get(
        f"/accounts/{account.id}/leads",
        params={"start_date": "2026-01-01", "end_date": "2026-01-31"},
        headers=auth(member.token),
    ).json()
    expected = [lead["attributes"]["name"] for lead in api["data"]]
    page = signed_in.get(f"/app/{account.id}/leads", params=JANUARY)
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert _company_names(page.text) == expected
    assert "7 leads, 2026-01-01 – 2026-01-31" in page.text
    # Search narrows the list to matching company names.
    one = expected[0]
    searched = signed_in.get(f"/app/{account.id}/leads", params=JANUARY | {"q": one})
    assert _company_names(searched.text) == [one]


def test_the_feed_view_pages_through_a_long_list(
    signed_in: TestClient, builder: Builder, account: Account
) -> None:
    builder.visits(account, builder.companies(60))
    first = signed_in.get(f"/app/{account.id}/leads", params=JANUARY)
    assert len(_company_names(first.text)) == 50
    assert "Page 1 of 2" in first.text
    second = signed_in.get(f"/app/{account.id}/leads", params=JANUARY | {"page": "2"})
    names = _company_names(second.text)
    assert len(names) == 10
    assert not set(names) & set(_company_names(first.text))


def test_the_lead_page_shows_firmographics_why_and_the_visits(
    signed_in: TestClient, builder: Builder, account: Account
) -> None:
    [company] = builder.companies(
        1,
        domain="acme.example",
        industry="Machinery",
        employee_count=120,
        linkedin_url="https://www.linkedin.com/company/acme",
    )
    builder.visits(
        account,
        [company],
        per_company=2,
        match_source="asn",
        match_reason="203.0.113.7 is in AS64500 (Acme Oy), an AS number of Acme",
    )
    feed = signed_in.get(f"/app/{account.id}/leads", params=JANUARY).text
    lead_path = re.search(r'href="(/app/\d+/leads/[^"]+)"', feed)
    assert lead_path is not None
    page = signed_in.get(lead_path.group(1))
    assert page.status_code == 200
    text = unescape(page.text)
    assert company.name in text
    assert "Machinery" in text
    assert "https://www.linkedin.com/company/acme" in text
    assert "203.0.113.7 is in AS64500 (Acme Oy), an AS number of Acme (2 visits)" in text
    assert text.count('class="visit"') == 2
    assert "https://www.example.com/p0/" in text


def test_text_from_outside_is_shown_literally_and_never_as_markup(
    signed_in: TestClient, builder: Builder, account: Account
) -> None:
    [company] = builder.companies(
        1,
        domain="evil.example",
        logo_url="javascript:alert(1)",
        website_url="javascript:alert(2)",
        linkedin_url="data:text/html,<script>x</script>",
        industry=HOSTILE,
    )
    from openfeeder.domain.models import Company
    from openfeeder.store.companies import upsert_companies

    renamed = Company(**{**company.__dict__, "name": HOSTILE})
    with builder.db.write() as conn:
        upsert_companies(conn, [renamed])
    builder.visits(
        account,
        [company],
        referring_url=f"https://x.example/?q={HOSTILE}",
        campaign=HOSTILE,
        match_source="asn",
        match_reason=HOSTILE,
    )
    feed = signed_in.get(f"/app/{account.id}/leads", params=JANUARY)
    lead_path = re.search(r'href="(/app/\d+/leads/[^"]+)"', feed.text)
    assert lead_path is not None
    lead = signed_in.get(lead_path.group(1))
    for page in (feed, lead):
        assert page.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
        assert "'unsafe-inline'" not in CONTENT_SECURITY_POLICY
        assert "<script>alert" not in page.text
        assert "onerror=alert(1)>" not in page.text
        assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in page.text
        assert "javascript:" not in page.text
        assert "data:text/html" not in page.text
        # The only scripts are the page's own files.
        for src in re.findall(r"<script[^>]*src=\"([^\"]+)\"", page.text):
            assert src.startswith("/app/static/")
        assert len(re.findall(r"<script", page.text)) == 1


def test_other_accounts_and_their_leads_are_not_found(
    signed_in: TestClient, builder: Builder, account: Account
) -> None:
    stranger = builder.user()
    theirs = builder.account(stranger)
    builder.visits(theirs, builder.companies(1))
    their_lead = (
        TestClient(signed_in.app)
        .get(
            f"/accounts/{theirs.id}/leads",
            params={"start_date": "2026-01-01", "end_date": "2026-01-31"},
            headers=auth(stranger.token),
        )
        .json()["data"][0]["id"]
    )
    for path in (
        f"/app/{theirs.id}/leads",
        f"/app/{theirs.id}/leads/{their_lead}",
        f"/app/{account.id}/leads/{their_lead}",  # their lead through my account
        "/app/999999/leads",
        "/app/%C2%B2/leads",
        "/app/1e3/leads",
    ):
        page = signed_in.get(path)
        assert page.status_code == 404, path
        assert "text/html" in page.headers["content-type"]


@pytest.mark.parametrize(
    ("params", "says"),
    [
        ({"range": "forever"}, "Unknown date range"),
        ({"range": "custom", "start": "2026-02-01", "end": "2026-01-01"}, "must not be after"),
        ({"range": "custom", "start": "2026-02-30", "end": "2026-03-01"}, "is not a date"),
        ({"page": "0"}, "page must be a whole number"),
        ({"page": "²"}, "page must be a whole number"),
        ({"feed": "nope"}, "no such feed"),
    ],
)
def test_bad_parameters_get_an_error_page(
    signed_in: TestClient, account: Account, params: dict[str, str], says: str
) -> None:
    page = signed_in.get(f"/app/{account.id}/leads", params=params)
    assert page.status_code in (400, 404)
    assert "text/html" in page.headers["content-type"]
    assert says in unescape(page.text)


def test_static_files_are_cached_by_content_hash(signed_in: TestClient) -> None:
    for name in static_files():
        url = static_url(name)
        answer = signed_in.get(url)
        assert answer.status_code == 200
        assert answer.headers["cache-control"] == "public, max-age=31536000, immutable"
        assert answer.content == static_files()[name][0]
    stale = signed_in.get("/app/static/app.css?v=000000000000", follow_redirects=False)
    assert stale.status_code == 307
    assert signed_in.get("/app/static/nothing.js").status_code == 404
    assert signed_in.get("/app/static/..%2Fpages.py").status_code == 404


def test_pages_stay_small(signed_in: TestClient, builder: Builder, account: Account) -> None:
    builder.visits(account, builder.companies(60), per_company=2)
    page = signed_in.get(f"/app/{account.id}/leads", params=JANUARY)
    assert len(page.content) < 200_000


def test_a_lead_page_of_visitor_made_visits_at_the_trackers_bounds_stays_small(
    signed_in: TestClient, builder: Builder, account: Account
) -> None:
    # A visitor decides how long URLs, titles and UTM values are (up to the tracker's bounds)
    # and how many pages a visit has: characters that escaping makes five times longer, in a
    # full page of visits of many pages.
    worst = '&"<>' * (MAX_TEXT // 4)
    route = [
        route_step(f"https://site.example/{n}?q={worst}"[:MAX_URL], worst, 30) for n in range(60)
    ]
    [company] = builder.companies(1)
    # Each as long as its column holds (store/schema.py).
    extremes = {"source": 200, "medium": 100, "campaign": 300, "keyword": 500}
    builder.visits(
        account,
        [company],
        per_company=VISITS_PAGE_SIZE,
        route=route,
        referring_url=f"https://ref.example/?q={worst}",
        match_source="asn",
        match_reason=worst,
        **{field: worst[:length] for field, length in extremes.items()},
    )
    feed = signed_in.get(f"/app/{account.id}/leads", params=JANUARY).text
    lead_path = re.search(r'href="(/app/\d+/leads/[^"]+)"', feed)
    assert lead_path is not None
    page = signed_in.get(lead_path.group(1))
    assert page.status_code == 200
    assert len(page.content) < 200_000
    assert page.text.count('class="visit"') == VISITS_PAGE_SIZE
    assert "https://site.example/0?q=&amp;&#34;&lt;&gt;" in page.text  # clipped, escaped
    shown = page.text.count('<li><span class="url">https://site.example/')
    assert 0 < shown < 60 * VISITS_PAGE_SIZE
    assert f"and {60 - shown // VISITS_PAGE_SIZE} more pages" in page.text


def test_the_csv_download_has_exactly_the_listed_leads_of_every_page(
    signed_in: TestClient, builder: Builder, member: Member, account: Account
) -> None:
    import csv
    import io

    companies = builder.companies(130)
    builder.visits(account, companies, per_company=2, seed=9)
    shown: list[str] = []
    for number in (1, 2, 3):
        page = signed_in.get(f"/app/{account.id}/leads", params=JANUARY | {"page": str(number)})
        shown += _company_names(page.text)
    link = re.search(r'href="(/app/\d+/leads\.csv\?[^"]+)"', page.text)
    assert link is not None
    answer = signed_in.get(unescape(link.group(1)))
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "text/csv; charset=utf-8"
    assert answer.headers["content-disposition"].startswith('attachment; filename="leads-')
    rows = list(csv.DictReader(io.StringIO(answer.text)))
    assert [row["company"] for row in rows] == shown
    assert len(rows) == 130
    api_ids: list[str] = []
    for number in (1, 2):
        api_ids += [
            lead["id"]
            for lead in signed_in.get(
                f"/accounts/{account.id}/leads",
                params={
                    "start_date": "2026-01-01",
                    "end_date": "2026-01-31",
                    "page[number]": str(number),
                    "page[size]": "100",
                },
                headers=auth(member.token),
            ).json()["data"]
        ]
    assert [row["lead_id"] for row in rows] == api_ids


def test_csv_cells_never_start_a_spreadsheet_formula(
    signed_in: TestClient, builder: Builder, account: Account
) -> None:
    [company] = builder.companies(1, industry='=HYPERLINK("http://evil")')
    builder.visits(account, [company])
    answer = signed_in.get(f"/app/{account.id}/leads.csv", params=JANUARY)
    assert "'=HYPERLINK" in answer.text
    assert ",=HYPERLINK" not in answer.text
