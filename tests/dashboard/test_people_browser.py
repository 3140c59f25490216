"""The people pages in a real browser (Debian's Chromium through Playwright) against
``openfeeder serve``: an admin invites a colleague, who opens the link in a browser of their
own, signs up and lands in the account's leads; the admin's members, API tokens, account
settings and own page fit a phone and a desktop. Screenshots of each go to
``test-artifacts/dashboard/`` (or ``$OPENFEEDER_TEST_ARTIFACTS/dashboard``)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from openfeeder.store.db import Database
from tests.dashboard.conftest import PASSWORD, give_password
from tests.support.browser import launch_chromium, serve_dashboard, watch
from tests.support.dashboard import ARTIFACTS, SIZES
from tests.support.factories import Builder, Member

INVITEE = "colleague@example.com"
INVITEE_PASSWORD = "the colleague's long password"


def _shoot(page: Any, name: str) -> None:
    """Screenshots at each size; no page may be wider than the screen."""
    for size, (width, height) in SIZES.items():
        page.set_viewport_size({"width": width, "height": height})
        page.screenshot(path=str(ARTIFACTS / f"{name}-{size}.png"), full_page=True)
        overflow = page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 0, f"{name} is wider than a {width} px screen"
    page.set_viewport_size({"width": 1440, "height": 900})


def test_an_admin_invites_a_colleague_who_signs_up_and_sees_the_leads(
    database_url: str, db: Database, builder: Builder, member: Member, tmp_path: Path
) -> None:
    from playwright.sync_api import sync_playwright

    account = builder.account(member)
    companies = builder.companies(5, domain="leads.example", industry="Software")
    builder.visits(account, companies, first=datetime.now(UTC).date() - timedelta(days=5), days=5)
    give_password(db, member)
    server = serve_dashboard(database_url, tmp_path)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    seen: list[tuple[list[str], list[str]]] = []  # CSP violations and script errors per page
    try:
        with sync_playwright() as playwright:
            browser = launch_chromium(playwright)
            admin = browser.new_context(viewport={"width": 1440, "height": 900})
            page = admin.new_page()
            seen.append(watch(page))
            page.goto(f"{server.url}/app/{account.id}/settings/members")
            page.fill("#email", member.user.email)
            page.fill("#password", PASSWORD)
            page.click("button[type=submit]")
            page.wait_for_url(f"{server.url}/app/{account.id}/settings/members")

            page.fill("#email", INVITEE)
            page.select_option("#role", "member")
            page.click("text=Create invitation link")
            link = page.locator("#invite-link").inner_text().strip()
            assert link.startswith(f"{server.url}/app/invite/")
            assert INVITEE in page.locator("table.invitations").inner_text()
            _shoot(page, "members")

            # The colleague: a browser of their own, no session.
            colleague = browser.new_context(viewport={"width": 375, "height": 812})
            theirs = colleague.new_page()
            seen.append(watch(theirs))
            theirs.goto(link)
            assert account.name in theirs.locator("h1").inner_text()
            assert theirs.locator("#email").input_value() == INVITEE
            theirs.screenshot(path=str(ARTIFACTS / "invite-phone.png"), full_page=True)
            theirs.fill("#name", "Colleague <b>Person</b>")
            theirs.fill("#password", INVITEE_PASSWORD)
            theirs.fill("#repeat", INVITEE_PASSWORD)
            theirs.click("button[type=submit]")
            theirs.wait_for_url(f"{server.url}/app/{account.id}/leads")
            assert theirs.locator("table.leads tbody tr").count() == len(companies)
            # The name links to their own page (on a phone the header hides the text, so it
            # is read from the document, where it is text, not markup).
            assert "Colleague <b>Person</b>" in (theirs.locator("header").text_content() or "")
            assert theirs.locator("header b").count() == 0
            # A member, not an admin: the settings are refused.
            answer = theirs.goto(f"{server.url}/app/{account.id}/settings/members")
            assert answer is not None
            assert answer.status == 403
            theirs.goto(link)
            assert "used already" in theirs.locator("main").inner_text()
            colleague.close()

            page.goto(f"{server.url}/app/{account.id}/settings/members")  # not a re-POST
            assert "Colleague <b>Person</b>" in page.locator("table.people").inner_text()
            assert "No pending invitations." in page.locator("main").inner_text()
            _shoot(page, "members")

            page.click("nav.subnav >> text=API tokens")
            page.fill("#name", "CRM sync")
            page.click("text=Create a token for me")
            assert len(page.locator("#new-token").inner_text().strip()) == 43
            _shoot(page, "tokens")

            page.click("nav.subnav >> text=Account")
            page.fill("#timezone", "Mars/Olympus")
            page.click("button:text('Save')")
            assert "is not an IANA time zone" in page.locator("[role=alert]").inner_text()
            page.fill("#timezone", "Europe/Helsinki")
            page.click("button:text('Save')")
            page.wait_for_url("**saved=1")
            _shoot(page, "account-settings")

            page.click(f"header >> text={member.user.name}")
            page.wait_for_url(f"{server.url}/app/me")
            assert page.locator("text=this session").count() == 1
            _shoot(page, "me")
            browser.close()
    finally:
        server.stop()
    assert [problem for lists in seen for found in lists for problem in found] == []
