"""End to end, as a site owner sees it: ``openfeeder serve`` runs; a website on another
origin embeds the ``script_html`` the API gives; headless Chromium browses three of its pages
(the last one a single-page-app route change) from an address inside a company's imported
range — as the trusted proxy in front of openfeeder reports it — and the API then shows one
visit with that route and its campaign's source and medium, and a lead for the company."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from openfeeder.services import admin
from openfeeder.store.db import Database
from tests.support.browser import DESKTOP_UA, launch_chromium
from tests.support.clients import auth
from tests.support.servers import ServeProcess
from tests.support.tracking import SitePages

COMPANY_RANGE = "203.0.113.0/24"
VISITOR_IP = "203.0.113.77"  # what the proxy in front of openfeeder says the browser is
CAMPAIGN = "utm_source=newsletter&utm_medium=email&utm_campaign=spring-launch"

LANDING = """<!doctype html><html><head><title>Welcome</title>{snippet}</head>
<body><a id="to-pricing" href="/pricing">Pricing</a></body></html>"""
# A page that is a single-page app: its button changes the route with the History API.
PRICING = """<!doctype html><html><head><title>Pricing</title>{snippet}</head>
<body><button id="enterprise" onclick="
  history.pushState({{}}, '', '/pricing/enterprise'); document.title = 'Enterprise plan';
">Enterprise</button></body></html>"""


def poll(fetch: Any, done: Any, timeout: float = 30.0) -> Any:
    """``fetch()`` until ``done(result)``; the pipeline runs in the server at its own pace."""
    deadline = time.monotonic() + timeout
    while True:
        result = fetch()
        if done(result) or time.monotonic() > deadline:
            return result
        time.sleep(0.5)  # the API allows a token 100 requests a minute


def test_a_browsed_site_becomes_a_visit_and_a_lead(
    database_url: str, db: Database, tmp_path: Path
) -> None:
    from playwright.sync_api import sync_playwright

    from openfeeder.identify.companies import import_companies

    owner = admin.create_user(db, "owner@example.com")
    account = admin.create_account(db, name="Example site", subscription="premium", timezone="UTC")
    admin.add_member(db, owner.email, account.id)
    _, token = admin.create_token(db, owner.email)
    companies = tmp_path / "companies.jsonl"
    company = {"id": "acme", "name": "Acme Oy", "domain": "acme.example", "ranges": [COMPANY_RANGE]}
    companies.write_text(json.dumps(company) + "\n")
    import_companies(db, companies)

    server = ServeProcess(
        {
            "OPENFEEDER_DATABASE_URL": database_url,
            "OPENFEEDER_DATA_DIR": str(tmp_path / "data"),
            "OPENFEEDER_TRUSTED_PROXIES": "127.0.0.1/32",
            "OPENFEEDER_REVERSE_DNS": "false",  # no name server is asked about test addresses
            "OPENFEEDER_RUN_JOBS_IN_PROCESS": "false",
            "OPENFEEDER_PIPELINE_IN_PROCESS": "true",
        },
        tmp_path / "serve.log",
    )
    server.env["OPENFEEDER_PUBLIC_URL"] = server.url
    server.start()
    api = httpx.Client(base_url=server.url, headers=auth(token), timeout=10.0)
    try:
        snippet = api.get(f"/accounts/{account.id}/website-tracking-script").json()["data"][
            "attributes"
        ]["script_html"]
        assert f"'{server.url}/lftracker_v1_'" in snippet
        served = api.get(f"/lftracker_v1_{account.script_hash}.js")
        assert served.status_code == 200, "openfeeder serve does not serve the tracker"
        pages = {"/": LANDING.format(snippet=snippet), "/pricing": PRICING.format(snippet=snippet)}
        with SitePages(pages) as site, sync_playwright() as playwright:
            browser = launch_chromium(playwright)
            context = browser.new_context(user_agent=DESKTOP_UA)
            page = context.new_page()

            def through_proxy(route: Any) -> None:
                headers = route.request.headers | {"x-forwarded-for": VISITOR_IP}
                route.continue_(headers=headers)

            page.route(f"{server.url}/tr?*", through_proxy)
            page.goto(f"{site.url}/?{CAMPAIGN}")
            page.click("#to-pricing")
            page.wait_for_url(f"{site.url}/pricing")
            page.click("#enterprise")
            page.wait_for_url(f"{site.url}/pricing/enterprise")
            page.wait_for_timeout(500)  # the tracker's SPA delay, then its beacon
            browser.close()

        today = datetime.now(UTC).date().isoformat()
        interval = {"start_date": today, "end_date": today}

        def visits() -> list[dict[str, Any]]:
            response = api.get(f"/accounts/{account.id}/visits", params=interval)
            assert response.status_code == 200, response.text
            return response.json()["data"]  # type: ignore[no-any-return]

        found = poll(visits, lambda v: v and v[0]["attributes"]["page_depth"] >= 3)
        assert len(found) == 1, found
        visit = found[0]["attributes"]
        assert [step["page_path"] for step in visit["visit_route"]] == [
            f"/?{CAMPAIGN}",
            "/pricing",
            "/pricing/enterprise",
        ]
        assert [step["page_title"] for step in visit["visit_route"]] == [
            "Welcome",
            "Pricing",
            "Enterprise plan",
        ]
        assert visit["page_depth"] == 3
        assert (visit["source"], visit["medium"], visit["campaign"]) == (
            "newsletter",
            "email",
            "spring-launch",
        )
        leads = api.get(f"/accounts/{account.id}/leads", params=interval).json()["data"]
        assert [lead["attributes"]["name"] for lead in leads] == ["Acme Oy"]
        assert visit["lead_id"] == leads[0]["id"]
        assert leads[0]["attributes"]["visits"] == 1
    finally:
        api.close()
        server.stop()
