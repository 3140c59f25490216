"""The Digests page in a real browser (Debian's Chromium through Playwright) against
``openfeeder serve``: a member signs in, follows the header's Digests link, adds a weekly
digest of a custom feed and sees it listed (and in the store), then removes it; the page
needs no horizontal scroll at 375 and 1440 px and has no serious or critical axe-core
violation. Screenshots go to ``test-artifacts/dashboard/``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from openfeeder.services import digests, feeds
from openfeeder.store.db import Database
from tests.dashboard.conftest import PASSWORD, give_password
from tests.support.browser import serve_dashboard
from tests.support.dashboard import BLOCKING, SIZES, describe, new_tab
from tests.support.factories import Builder, Member


def test_a_member_adds_a_digest_and_sees_it_listed(
    chromium: Any,
    database_url: str,
    db: Database,
    builder: Builder,
    member: Member,
    tmp_path: Path,
) -> None:
    account = builder.account(member)
    feed = feeds.create_feed(
        db, account, "Finnish software", [{"criterion_type": "country_code", "search_value": "FI"}]
    )
    give_password(db, member)
    server = serve_dashboard(database_url, tmp_path)
    blocking: list[str] = []
    try:
        tab = new_tab(chromium, server.url)
        page = tab.page
        tab.goto(f"/app/{account.id}/leads")
        tab.sign_in(member.user.email, PASSWORD)
        page.click("nav.sections >> text=Digests")
        page.wait_for_url(f"{server.url}/app/{account.id}/digests")
        assert "Nobody in this account gets a digest yet." in page.locator("main").inner_text()

        page.select_option("#feed", feed.id)
        page.select_option("#cadence", "weekly")
        page.click("text=Add digest")
        page.wait_for_url(f"{server.url}/app/{account.id}/digests")
        listed = page.locator("table.digests tbody").inner_text()
        assert "Finnish software" in listed
        assert "weekly" in listed
        assert member.user.email in listed
        (made,) = digests.list_subscriptions(db, account_id=account.id)
        assert (made.feed_id, made.cadence, made.user.id) == (feed.id, "weekly", member.user.id)
        tab.shoot("digests")
        for size, (width, height) in SIZES.items():
            page.set_viewport_size({"width": width, "height": height})
            for violation in tab.axe():
                line = f"digests at {size}: {describe(violation)}"
                print(line)
                if violation["impact"] in BLOCKING:
                    blocking.append(line)

        # The same digest again is a form error on the page, and nothing is added.
        page.select_option("#feed", feed.id)
        page.select_option("#cadence", "weekly")
        page.click("text=Add digest")
        assert "You get this digest already." in page.locator("[role=alert]").inner_text()
        assert len(digests.list_subscriptions(db, account_id=account.id)) == 1

        page.click(f"#digest-{made.id} >> text=Remove")
        page.wait_for_url(f"{server.url}/app/{account.id}/digests")
        assert page.locator("table.digests").count() == 0
        assert digests.list_subscriptions(db, account_id=account.id) == []
        page.context.close()
    finally:
        server.stop()
    assert tab.errors == []
    assert tab.csp == []
    assert blocking == []
