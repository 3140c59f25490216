"""axe-core's accessibility rules, run in Chromium on each main dashboard page (sign-in, feed
view, lead page, feed editor, tracking, traffic-rule and alerts settings, the alert delivery
log and a delivery, an error page) at a desktop and a phone width: no serious or critical
violation; the rest are printed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from openfeeder.domain import ids
from openfeeder.services import alerts, feeds, traffic
from openfeeder.store.db import Database
from tests.dashboard.conftest import PASSWORD, give_password
from tests.support.browser import serve_dashboard
from tests.support.dashboard import BLOCKING, SIZES, describe, new_tab
from tests.support.factories import HELSINKI, Builder, Member


def test_no_serious_or_critical_violation_on_any_main_page(
    chromium: Any, database_url: str, db: Database, builder: Builder, member: Member, tmp_path: Path
) -> None:
    account = builder.account(member)
    builder.account(member)  # a second account: the switcher shows
    companies = builder.companies(8, domain="acme.example", industry="Software", employee_count=40)
    today = datetime.now(UTC).date()
    builder.visits(
        account,
        companies,
        first=today - timedelta(days=10),
        days=10,
        source="google",
        medium="organic",
        match_source="company_range",
        match_reason="in the company's range",
    )
    feed = feeds.create_feed(
        db, account, "Finnish software", [{"criterion_type": "country_code", "search_value": "FI"}]
    )
    traffic.add_rule(db, account, "ip_range", "192.0.2.0/24")
    now = datetime.now(UTC)
    endpoint = alerts.create_endpoint(db, account, "webhook", "https://hooks.example.com/", now)
    alerts.create_rule(
        db,
        account,
        now,
        feed_id="all_leads",
        trigger="new_company",
        endpoint_ids=[endpoint.endpoint.id],
    )
    delivery = alerts.send_test_event(db, account, endpoint.endpoint.id, now, "http://x")
    lead = ids.lead_id(companies[0].id, HELSINKI.id)
    give_password(db, member)
    pages = {
        "sign-in": "/app/login",
        "feed": f"/app/{account.id}/leads",
        "lead": f"/app/{account.id}/leads/{lead}",
        "feed-editor": f"/app/{account.id}/feeds/{feed.id}/edit",
        "new-feed": f"/app/{account.id}/feeds/new",
        "tracking": f"/app/{account.id}/settings/tracking",
        "rules": f"/app/{account.id}/settings/rules",
        "alerts": f"/app/{account.id}/settings/alerts",
        "deliveries": f"/app/{account.id}/settings/alerts/deliveries",
        "delivery": f"/app/{account.id}/settings/alerts/deliveries/{delivery.id}",
        "not-found": f"/app/{account.id}/leads/no-such-lead",
    }
    blocking: list[str] = []
    server = serve_dashboard(database_url, tmp_path)
    try:
        tab = new_tab(chromium, server.url)
        for name, path in pages.items():
            if name == "feed":  # the first page behind sign-in
                tab.sign_in(member.user.email, PASSWORD)
            tab.goto(path)
            if name == "feed":
                tab.page.click("header summary")  # the account switcher's menu, open
            if name == "feed-editor":
                tab.page.wait_for_selector("#count strong")  # the live count has come in
            for size, (width, height) in SIZES.items():
                tab.page.set_viewport_size({"width": width, "height": height})
                for violation in tab.axe():
                    line = f"{name} at {size}: {describe(violation)}"
                    print(line)
                    if violation["impact"] in BLOCKING:
                        blocking.append(line)
        tab.page.context.close()
    finally:
        server.stop()
    assert tab.errors == []
    assert tab.csp == []
    assert blocking == []
