"""The overview page in a real browser (Debian's Chromium through Playwright) against
``openfeeder serve``: uPlot draws the visits chart from the page's data attribute with no
Content-Security-Policy violation and no script error, the presets reload the page, hostile
text from visitors runs no script, and the page fits a phone and a desktop. Screenshots:
``test-artifacts/dashboard/overview.png`` (1440 px) and ``overview-phone.png`` (375 px)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

from openfeeder.domain import ids
from openfeeder.domain.models import Account, Company, NewVisit
from openfeeder.services.visits import record_visits, route_step
from openfeeder.store.companies import upsert_companies
from openfeeder.store.db import Database
from tests.dashboard.conftest import PASSWORD, give_password
from tests.support.browser import launch_chromium, serve_dashboard, watch
from tests.support.dashboard import ARTIFACTS, SIZES
from tests.support.factories import BOSTON, HELSINKI, STOCKHOLM, Builder, Member

PAYLOADS = (
    '<script>window.__xss="script"</script>',
    "<img src=x onerror=\"window.__xss='img'\">",
    '"><svg onload="window.__xss=\'svg\'">',
)
HOSTILE = " ".join(PAYLOADS)


PATHS = (
    "/",
    "/pricing",
    "/product/tracking",
    "/blog/b2b-leads",
    "/contact",
    "/careers",
    "/docs/api",
)
SOURCES = (
    ("google", "organic"),
    ("google", "cpc"),
    ("linkedin", "social"),
    ("newsletter", "email"),
    (None, None),
)
INDUSTRIES = ("Software Development", "Machinery", "Financial Services", "Retail", "Logistics")


def _traffic(builder: Builder, account: Account) -> None:
    """Forty companies visiting over the last 60 days (so the previous period has visits
    too), busier on weekdays."""
    rng = random.Random(7)
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    made = []
    for n in range(40):
        industry = INDUSTRIES[n % len(INDUSTRIES)] if n % 7 else None
        [company] = builder.companies(1, domain="normal.example", industry=industry)
        place = (HELSINKI, BOSTON, STOCKHOLM)[n % 3]
        for _ in range(rng.randint(1, 10)):
            day = today - timedelta(days=rng.randrange(60))
            day += timedelta(minutes=rng.randrange(6 * 60, 16 * 60))
            if day.weekday() >= 5 and rng.random() < 0.7:
                continue
            source, medium = rng.choice(SOURCES)
            pages = rng.sample(PATHS, rng.randint(1, 4))
            made.append(
                NewVisit(
                    id=ids.new_visit_id(),
                    account_id=account.id,
                    company_id=company.id,
                    location=place,
                    started_at=min(day, datetime.now(UTC) - timedelta(minutes=5)),
                    route=[
                        route_step(f"https://site.example{p}", p, rng.randrange(200)) for p in pages
                    ],
                    source=source,
                    medium=medium,
                )
            )
    record_visits(builder.db, made)


def _hostile_lead(builder: Builder, account: Account) -> Company:
    company = Company(
        id=ids.new_company_id(),
        name=f"Evil {HOSTILE}",
        domain="evil.example",
        industry=HOSTILE,
        logo_url="javascript:window.__xss='logo'",
        website_url="javascript:window.__xss='site'",
    )
    with builder.db.write() as conn:
        upsert_companies(conn, [company])
    start = datetime.now(UTC) - timedelta(hours=2)
    record_visits(
        builder.db,
        [
            NewVisit(
                id=ids.new_visit_id(),
                account_id=account.id,
                company_id=company.id,
                location=HELSINKI,
                started_at=start,
                route=[
                    route_step(f"https://site.example/?q={HOSTILE}", HOSTILE, 40),
                    route_step("https://site.example/pricing", "Pricing", 65),
                ],
                source=HOSTILE,
                medium="email",
                campaign=HOSTILE,
                referring_url=f"https://ref.example/{HOSTILE}",
                match_source="asn",
                match_reason=HOSTILE,
            )
        ],
    )
    return company


def test_the_overview_draws_its_chart_in_a_real_browser(
    database_url: str, db: Database, builder: Builder, member: Member, tmp_path: Path
) -> None:
    from playwright.sync_api import sync_playwright

    account = builder.account(member, timezone="Europe/Helsinki")
    _traffic(builder, account)
    _hostile_lead(builder, account)
    give_password(db, member)
    server = serve_dashboard(database_url, tmp_path)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    try:
        with sync_playwright() as playwright:
            browser = launch_chromium(playwright)
            page = browser.new_context(viewport={"width": 1440, "height": 900}).new_page()
            violations, errors = watch(page)
            # Failed loads of the page's own files (the browser's favicon.ico request,
            # which the site does not serve, is no response of the page's).
            page.on(
                "response",
                lambda r: errors.append(f"{r.status} {r.url}") if r.status >= 400 else None,
            )
            page.goto(f"{server.url}/app/{account.id}/overview")
            page.fill("#email", member.user.email)
            page.fill("#password", PASSWORD)
            page.click("button[type=submit]")
            page.wait_for_url(f"{server.url}/app/{account.id}/overview")

            # uPlot drew the series into its canvas: some pixels are not blank.
            page.wait_for_selector("#visits-chart[data-drawn=true] canvas")
            painted = page.evaluate(
                """() => {
                  const canvas = document.querySelector('#visits-chart canvas');
                  const pixels = canvas.getContext('2d')
                    .getImageData(0, 0, canvas.width, canvas.height).data;
                  let count = 0;
                  for (let i = 3; i < pixels.length; i += 4) if (pixels[i] > 0) count++;
                  return count;
                }"""
            )
            assert painted > 1000
            assert page.locator(".u-legend").inner_text().count("Visits") == 1
            assert page.locator(".figure").count() == 4
            body = page.locator("main").inner_text()
            assert PAYLOADS[0] in body  # the hostile visit's source and page, as text
            assert page.evaluate("window.__xss === undefined")

            for size, (width, height) in SIZES.items():
                page.set_viewport_size({"width": width, "height": height})
                page.wait_for_timeout(200)  # the chart follows its box's new width
                name = "overview" if size == "desktop" else f"overview-{size}"
                page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
                overflow = page.evaluate(
                    "document.documentElement.scrollWidth - document.documentElement.clientWidth"
                )
                assert overflow <= 0, f"the overview is wider than a {width} px screen"
                chart_width = page.evaluate(
                    "document.querySelector('#visits-chart canvas').clientWidth"
                )
                assert chart_width <= width
            page.set_viewport_size({"width": 1440, "height": 900})

            # A preset reloads the page for its period, chart and all.
            page.click("text=Last 7 days")
            page.wait_for_url("**range=7d**")
            page.wait_for_selector("#visits-chart[data-drawn=true] canvas")
            assert page.locator("details.series tbody tr").count() == 7
            browser.close()
    finally:
        server.stop()
    assert errors == []
    assert violations == []
