"""The dashboard in a real browser (Debian's Chromium through Playwright) against
``openfeeder serve``: a lead link opened signed out leads through sign-in back to the lead;
the feed view's date presets and search work; hostile text from visitors and companies is
shown literally and runs no script; the Content-Security-Policy blocks nothing of our own;
pages fit a phone and a desktop. Screenshots of each page are written to
``test-artifacts/dashboard/`` (or ``$OPENFEEDER_TEST_ARTIFACTS/dashboard``)."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

from openfeeder.domain import ids
from openfeeder.domain.models import Account, Company, NewVisit
from openfeeder.services.visits import record_visits, route_step
from openfeeder.store.companies import upsert_companies
from openfeeder.store.db import Database
from tests.dashboard.conftest import PASSWORD, give_password
from tests.support.browser import launch_chromium
from tests.support.factories import HELSINKI, Builder, Member
from tests.support.servers import ServeProcess

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = Path(os.environ.get("OPENFEEDER_TEST_ARTIFACTS", ROOT / "test-artifacts")) / "dashboard"
# Each payload would set window.__xss if the page ran it.
PAYLOADS = (
    '<script>window.__xss="script"</script>',
    "<img src=x onerror=\"window.__xss='img'\">",
    '"><svg onload="window.__xss=\'svg\'">',
)
HOSTILE = " ".join(PAYLOADS)
SIZES = {"desktop": (1440, 900), "phone": (375, 812)}


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


def test_signing_in_working_leads_and_hostile_text_in_a_real_browser(
    database_url: str, db: Database, builder: Builder, member: Member, tmp_path: Path
) -> None:
    from playwright.sync_api import sync_playwright

    account = builder.account(member)
    other = builder.account(member)  # two accounts: the switcher shows
    normal = builder.companies(30, domain="normal.example", industry="Software")
    builder.visits(account, normal, first=datetime.now(UTC).date() - timedelta(days=20), days=20)
    _hostile_lead(builder, account)
    give_password(db, member)
    server = ServeProcess(
        {
            "OPENFEEDER_DATABASE_URL": database_url,
            "OPENFEEDER_DATA_DIR": str(tmp_path / "data"),
            "OPENFEEDER_REVERSE_DNS": "false",
            "OPENFEEDER_RUN_JOBS_IN_PROCESS": "false",
            "OPENFEEDER_PIPELINE_IN_PROCESS": "false",
        },
        tmp_path / "serve.log",
    )
    server.env["OPENFEEDER_PUBLIC_URL"] = server.url
    server.start()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    violations: list[str] = []
    errors: list[str] = []
    try:
        with sync_playwright() as playwright:
            browser = launch_chromium(playwright)
            context = browser.new_context(viewport={"width": 1440, "height": 900})
            page = context.new_page()
            page.on(
                "console",
                lambda m: (
                    violations.append(m.text)
                    if "Content-Security-Policy" in m.text or "Refused" in m.text
                    else None
                ),
            )
            page.on("pageerror", lambda e: errors.append(str(e)))

            def shoot(name: str) -> None:
                for size, (width, height) in SIZES.items():
                    page.set_viewport_size({"width": width, "height": height})
                    page.screenshot(path=str(ARTIFACTS / f"{name}-{size}.png"), full_page=True)
                    overflow = page.evaluate(
                        "document.documentElement.scrollWidth"
                        " - document.documentElement.clientWidth"
                    )
                    assert overflow <= 0, f"{name} is wider than a {width} px screen"
                page.set_viewport_size({"width": 1440, "height": 900})

            # A lead's link, signed out: sign-in first, then the lead.
            page.goto(f"{server.url}/app/{account.id}/leads")
            assert "/app/login" in page.url
            shoot("sign-in")
            page.fill("#email", member.user.email)
            page.fill("#password", "wrong password here")
            page.click("button[type=submit]")
            assert page.locator("[role=alert]").inner_text() == "Wrong email or password."
            page.fill("#password", PASSWORD)
            page.click("button[type=submit]")
            page.wait_for_url(f"{server.url}/app/{account.id}/leads")

            # The feed view: 31 leads in the last 30 days, presets and search.
            assert page.locator("table.leads tbody tr").count() == 31
            shoot("feed")
            page.click("text=Today")
            page.wait_for_url("**range=today**")
            assert page.locator("[aria-current=true]").inner_text() == "Today"
            page.click("text=Last 30 days")
            page.fill("#q", "Evil")
            page.press("#q", "Enter")
            page.wait_for_url("**q=Evil**")
            rows = page.locator("table.leads tbody tr")
            assert rows.count() == 1
            assert HOSTILE in rows.first.inner_text()

            # The hostile lead: every payload shown as text, none run.
            page.click("table.leads tbody tr a")
            page.wait_for_url("**/leads/**")
            shoot("lead")
            body = page.locator("main").inner_text()
            for payload in PAYLOADS:
                assert payload in body
            assert page.evaluate("window.__xss === undefined")
            assert page.locator("main script, main img[src=x], main svg").count() == 0
            page.click("text=Why this company")  # the section is there and plain text

            # The account switcher and sign out.
            page.click("summary")
            page.click(f"a[href='/app/{other.id}/leads']")
            page.wait_for_url(f"{server.url}/app/{other.id}/leads")
            assert "No leads in this feed" in page.locator("main").inner_text()
            page.click("text=Sign out")
            page.wait_for_url(f"{server.url}/app/login")
            page.goto(f"{server.url}/app/{account.id}/leads")
            assert "/app/login" in page.url
            assert page.evaluate("window.__xss === undefined")
            browser.close()
    finally:
        server.stop()
    assert errors == []
    assert violations == []
