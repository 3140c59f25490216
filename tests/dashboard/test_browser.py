"""The whole dashboard flow in a real browser (Debian's Chromium through Playwright) against
``openfeeder serve``: a lead link opened signed out leads through sign-in back to it; the
account switcher; the feed view's date presets and search; a lead's timeline and
why-this-company; following, tagging and assigning it; a custom feed made in the editor that
the API then serves; the CSV, compared with the API's leads for the same feed and period;
signing out. Every main page is photographed at 1440 and 375 px wide (and must not scroll
sideways) into ``test-artifacts/dashboard/``; nothing our pages load is refused by the
Content-Security-Policy and no script error happens.

Hostile text in the tracker's fields, company names, notes and tags is ``test_xss.py``'s."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from openfeeder.domain import ids
from openfeeder.domain.models import Account, Company, NewVisit
from openfeeder.services.visits import record_visits, route_step
from openfeeder.store.companies import upsert_companies
from openfeeder.store.db import Database
from tests.dashboard.conftest import PASSWORD, give_password
from tests.support.browser import serve_dashboard
from tests.support.clients import auth
from tests.support.dashboard import Tab, new_tab, payload
from tests.support.factories import HELSINKI, Builder

MATCHED = {"match_source": "company_range", "match_reason": "in the company's imported range"}


def _today_before(ago: timedelta) -> datetime:
    """``ago`` before now, or midnight if that was yesterday: the Today preset shows it."""
    now = datetime.now(UTC)
    return max(now - ago, now.replace(hour=0, minute=0, second=0, microsecond=0))


def _linked_lead(builder: Builder, account: Account) -> Company:
    """A company whose logo and website are ``javascript:`` URLs (shown as no link at all),
    with a visit of two pages from an email campaign."""
    company = Company(
        id=ids.new_company_id(),
        name=f"Evil {payload('company')}",
        domain="evil.example",
        industry="Security",
        logo_url="javascript:window.__xss='logo'",
        website_url="javascript:window.__xss='site'",
    )
    with builder.db.write() as conn:
        upsert_companies(conn, [company])
    record_visits(
        builder.db,
        [
            NewVisit(
                id=ids.new_visit_id(),
                account_id=account.id,
                company_id=company.id,
                location=HELSINKI,
                started_at=_today_before(timedelta(hours=2)),
                route=[
                    route_step("https://site.example/", "Home", 40),
                    route_step("https://site.example/pricing", "Pricing", 65),
                ],
                source="newsletter",
                medium="email",
                campaign="spring",
                **MATCHED,
            )
        ],
    )
    return company


def _press(page: Any, button: str) -> None:
    page.get_by_role("button", name=button, exact=True).click()


def _api_leads(api: httpx.Client, account: Account, feed: str, start: str, end: str) -> list[Any]:
    """Every lead the API lists for the feed and period, all pages."""
    found: list[Any] = []
    number = 1
    while True:
        params = {"start_date": start, "end_date": end, "page[number]": number, "page[size]": 100}
        answer = api.get(f"/accounts/{account.id}/custom-feeds/{feed}/leads", params=params)
        assert answer.status_code == 200, answer.text
        page = answer.json()["data"]
        found += page
        if len(page) < 100:
            return found
        number += 1


def _csv_matches_api(tab: Tab, api: httpx.Client, account: Account, feed: str) -> int:
    """Download the feed view's CSV and compare its rows with the API's leads for the same
    feed and period (the dates the view shows); how many rows there were."""
    start = tab.page.input_value("form.range input[name=start]")
    end = tab.page.input_value("form.range input[name=end]")
    with tab.page.expect_download() as download:
        tab.page.click("text=Download CSV")
    assert download.value.suggested_filename.endswith(".csv")
    text = Path(download.value.path()).read_text(encoding="utf-8")
    rows = list(csv.DictReader(io.StringIO(text)))
    from_csv = sorted((r["lead_id"], r["company"], int(r["visits"]), r["tags"]) for r in rows)
    from_api = sorted(
        (
            lead["id"],
            lead["attributes"]["name"],
            lead["attributes"]["visits"],
            ", ".join(lead["attributes"]["tags"]),
        )
        for lead in _api_leads(api, account, feed, start, end)
    )
    assert from_csv == from_api
    return len(rows)


def test_the_whole_flow_in_a_real_browser(
    chromium: Any, database_url: str, db: Database, builder: Builder, tmp_path: Path
) -> None:
    member, colleague = builder.user(), builder.user("colleague@example.com")
    account = builder.account(member, colleague)
    other = builder.account(member)  # two accounts: the switcher shows
    today = datetime.now(UTC).date()
    normal = builder.companies(30, domain="normal.example", industry="Software")
    builder.visits(account, normal, first=today - timedelta(days=20), days=20, **MATCHED)
    builder.visits(other, builder.companies(1, domain="other.example"), first=today, days=1)
    evil = _linked_lead(builder, account)
    give_password(db, member)

    server = serve_dashboard(database_url, tmp_path)
    try:
        api = httpx.Client(base_url=server.url, headers=auth(member.token), timeout=10.0)
        tab = new_tab(chromium, server.url)
        page = tab.page

        # A lead's link, signed out: sign-in first, then the feed.
        tab.goto(f"/app/{account.id}/leads")
        assert "/app/login" in page.url
        tab.shoot("sign-in")
        page.fill("#email", member.user.email)
        page.fill("#password", "wrong password here")
        page.click("main button[type=submit]")
        assert page.locator("[role=alert]").inner_text() == "Wrong email or password."
        tab.sign_in(member.user.email, PASSWORD)
        assert page.url == f"{server.url}/app/{account.id}/leads"

        # The feed view: 31 leads in the last 30 days; the switcher, presets and search.
        assert page.locator("table.leads tbody tr").count() == 31
        tab.shoot("feed")
        page.click("header summary")
        page.click(f"header a[href='/app/{other.id}/leads']")
        page.wait_for_url(f"{server.url}/app/{other.id}/leads")
        assert page.locator("table.leads tbody tr").count() == 1
        page.click("header summary")
        page.click(f"header a[href='/app/{account.id}/leads']")
        page.wait_for_url(f"{server.url}/app/{account.id}/leads")
        page.click(".presets >> text=Today")
        page.wait_for_url("**range=today**")
        assert page.locator(".presets [aria-current=true]").inner_text() == "Today"
        assert [page.locator("table.leads tbody tr a").inner_text()] == [evil.name]
        page.click("table.leads tbody tr a")  # its javascript: logo and website are no links
        page.wait_for_url("**/leads/**")
        assert page.locator("h1").inner_text() == evil.name
        assert page.locator("[href^='javascript:' i], [src^='javascript:' i]").count() == 0
        assert "evil.example" in page.locator(".lead-head").inner_text()
        page.go_back()
        page.click(".presets >> text=Last 30 days")
        page.wait_for_url("**range=30d**")
        page.fill("#q", normal[0].name)
        page.press("#q", "Enter")
        page.wait_for_url("**q=Company**")
        rows = page.locator("table.leads tbody tr")
        assert rows.count() == 1

        # The lead: its timeline and why this company; follow, tag, assign.
        rows.first.locator("a").click()
        page.wait_for_url("**/leads/**")
        lead_url = page.url
        assert page.locator("h1").inner_text() == normal[0].name
        assert page.locator(".timeline details.visit").count() >= 1
        assert page.locator(".timeline details.visit[open] .route li").count() >= 1
        assert MATCHED["match_reason"] in page.locator(".why").inner_text()
        _press(page, "Follow")
        page.get_by_role("button", name="Unfollow", exact=True).wait_for()
        page.fill("#tags", "hot, q3")
        _press(page, "Save tags")
        page.wait_for_selector(".facts .tag")
        assert page.locator(".facts .tag").all_inner_texts() == ["hot", "q3"]
        page.select_option("#assignee", "colleague@example.com")
        _press(page, "Assign")
        page.wait_for_selector(".facts >> text=colleague@example.com")
        tab.shoot("lead")

        # The editor: a custom feed of the tagged leads, its live count, and the API.
        tab.goto(f"/app/{account.id}/leads")
        page.click("text=New feed")
        page.fill("#name", "Hot leads")
        page.select_option("#type_0", "tag")
        page.locator("#value_0").press_sequentially("hot")  # typed: the count follows
        page.wait_for_selector("#count >> text=1 lead match")
        tab.shoot("feed-editor")
        _press(page, "Save feed")
        page.wait_for_url("**feed=**")
        feed_id = page.url.rsplit("feed=", 1)[1]
        assert page.locator("table.leads tbody tr a").all_inner_texts() == [normal[0].name]
        feeds = api.get(f"/accounts/{account.id}/custom-feeds").json()["data"]
        saved = [f["attributes"] for f in feeds if f["id"] == feed_id]
        assert [(f["name"], [c["criterion_type"] for c in f["criteria"]]) for f in saved] == [
            ("Hot leads", ["tag"])
        ]
        assert saved[0]["criteria"][0]["search_value"] == "hot"
        assert saved[0]["criteria"][0]["excluded"] is False
        assert _csv_matches_api(tab, api, account, feed_id) == 1

        # The CSV of every lead in the last 30 days, against the API's.
        tab.goto(f"/app/{account.id}/leads?feed=all_leads&range=30d")
        assert _csv_matches_api(tab, api, account, "all_leads") == 31

        # Settings and an error page.
        tab.goto(f"/app/{account.id}/settings/tracking")
        tab.shoot("tracking")
        tab.goto(f"/app/{account.id}/settings/rules")
        tab.shoot("rules")
        tab.goto(f"/app/{account.id}/leads/no-such-lead")
        assert page.locator("h1").inner_text() != ""
        tab.shoot("not-found")

        # Signing out ends the session: the lead's link asks for sign-in again.
        page.click("text=Sign out")
        page.wait_for_url(f"{server.url}/app/login")
        page.goto(lead_url)
        assert "/app/login" in page.url
        assert not tab.script_ran()
        page.context.close()
        api.close()
    finally:
        server.stop()
    assert tab.errors == []
    assert tab.csp == []
    assert tab.dialogs == []
