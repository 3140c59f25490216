"""The alerts pages in a real browser (Debian's Chromium through Playwright) against
``openfeeder serve``: an admin adds a webhook endpoint pointing at a real receiver on
127.0.0.1 (its secret shown once) and a rule, sends a test event, and once the delivery
has run sees it delivered in the log and its attempt on the delivery's page; the event
verifies with ``standardwebhooks``. Screenshots go to ``test-artifacts/dashboard/``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from standardwebhooks import Webhook

from openfeeder.config import Settings
from openfeeder.services import alerts
from openfeeder.store.db import Database
from tests.alerts.conftest import Receiver, receiver  # noqa: F401 (the fixture)
from tests.dashboard.conftest import PASSWORD, give_password
from tests.support.browser import serve_dashboard
from tests.support.dashboard import new_tab
from tests.support.factories import Builder, Member


def test_an_admin_adds_an_endpoint_and_a_rule_and_sees_the_test_event_delivered(
    chromium: Any,
    database_url: str,
    settings: Settings,
    db: Database,
    builder: Builder,
    member: Member,
    tmp_path: Path,
    receiver: Receiver,  # noqa: F811
) -> None:
    account = builder.account(member)
    today = datetime.now(UTC).date()
    builder.visits(account, builder.companies(3), first=today - timedelta(days=2))
    give_password(db, member)
    server = serve_dashboard(database_url, tmp_path, OPENFEEDER_ALERTS_ALLOW_LOOPBACK="true")
    settings = settings.model_copy(update={"alerts_allow_loopback": True, "alerts_timeout": 5.0})
    base = f"/app/{account.id}/settings/alerts"
    try:
        tab = new_tab(chromium, server.url)
        page = tab.page
        tab.goto(f"/app/{account.id}/settings/members")
        tab.sign_in(member.user.email, PASSWORD)
        page.click("nav.subnav >> text=Alerts")
        page.wait_for_url(server.url + base)

        page.select_option("#kind", "webhook")
        page.fill("#url", receiver.url)
        page.fill("#endpoint-name", "CRM <inbox>")
        page.click("text=Add endpoint")
        secret = page.locator("#new-secret").inner_text().strip()
        assert secret.startswith("whsec_")
        assert "CRM <inbox>" in page.locator("table.alert-endpoints").inner_text()

        page.select_option("#feed", "all_leads")
        page.select_option("#trigger", "page_visit")
        page.fill("#pattern", "*/pricing*")
        page.select_option("#cooldown", "3600")
        page.check("fieldset >> text=CRM <inbox>")
        page.click("text=Add rule")
        page.wait_for_url(server.url + base)
        rules = page.locator("table.alert-rules").inner_text()
        assert "*/pricing*" in rules
        assert "1 hour" in rules
        assert page.locator("#new-secret").count() == 0  # shown that once only
        tab.shoot("alerts")

        page.click("button:text('Send test event')")
        page.wait_for_url(f"{server.url}{base}/deliveries?done=tested")
        assert page.locator("table.deliveries .delivery-status").inner_text() == "pending"
        deliverer = alerts.Deliverer(settings, db)
        assert deliverer.run_once() == 1
        deliverer.close()
        page.reload()
        assert page.locator("table.deliveries .delivery-status").inner_text() == "delivered"
        tab.shoot("deliveries")

        page.click("table.deliveries a")
        assert "HTTP 204" in page.locator("details.attempt summary").inner_text()
        assert "webhook-signature" in page.locator("details.attempt").inner_text()
        tab.shoot("delivery")
    finally:
        server.stop()
    [request] = receiver.requests
    assert Webhook(secret).verify(request.body, request.headers)["type"] == "test"
    assert tab.errors == []
    assert tab.csp == []
