"""Stored cross-site scripting, end to end: tracker hits sent to ``/tr`` over real HTTP (the
pixel GET and the beacon POST) carry script payloads in every field a visitor controls; the
pipeline turns them into a visit of a company whose imported name and industry are payloads
too; notes and tags with payloads are added through the dashboard's forms. Then Chromium
opens the feed view, the lead page (its timeline and why-this-company) and the CSV: no
script runs, no dialog opens, and the text is shown literally.

Each payload names its field (``window.__xss`` is set to it), so a failure says which field
got through."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx

from openfeeder.config import Settings
from openfeeder.domain.models import Account
from openfeeder.identify.companies import import_companies
from openfeeder.pipeline import make_pipeline
from openfeeder.store.db import Database
from tests.dashboard.conftest import PASSWORD, give_password
from tests.support.browser import DESKTOP_UA, serve_dashboard
from tests.support.clients import auth
from tests.support.dashboard import Tab, new_tab, payload, payload_parts
from tests.support.factories import Builder, Member
from tests.support.tracking import encode, event

COMPANY_RANGE = "203.0.113.0/24"
VISITOR_IP = "203.0.113.77"  # what the trusted proxy in front of openfeeder reports
CLIENT_ID = "LF1.1.0123456789abcdef.1767225600000"
UTM = ("source", "medium", "campaign", "term", "content")
# The fields the dashboard shows, with the text each must show literally. The lead page cuts
# what a visitor wrote in a visit (titles, URLs, referrers, UTM values) to at least 50
# characters (dashboard/render.py ``clip``), so of those the first piece, the <script> tag,
# must be there whole, as text; companies, industries and notes are shown whole.
SHOWN = {
    "page title": payload_parts("title")[0],
    "URL path": payload_parts("path")[0],
    # (The URL's query comes after the path's payload, past the 120 characters of a route URL
    # the page shows: it is cut away, so only "no script ran" speaks for it here.)
    "referrer": payload_parts("referrer")[0],
    **{
        f"utm_{name}": payload_parts(f"utm_{name}")[0]
        for name in ("source", "medium", "campaign", "term")
    },
    "company name": payload("company"),
    "industry": payload("industry"),
    "note": payload("note"),
}
TAGS = payload_parts("tag")


def _company(tmp_path: Path, db: Database) -> None:
    row = {
        "id": "evil",
        "name": payload("company"),
        "domain": "evil.example",
        "industry": payload("industry"),
        "website_url": "https://evil.example/",
        "ranges": [COMPANY_RANGE],
    }
    path = tmp_path / "companies.jsonl"
    path.write_text(json.dumps(row) + "\n", encoding="utf-8")
    import_companies(db, path)


def _hits(account: Account) -> list[dict[str, Any]]:
    """A landing pageview with every visitor field hostile, a second page, and the other
    kinds of event with hostile properties; one browser (client id) sends them all."""
    query = "&".join(f"utm_{name}={payload(f'utm_{name}')}" for name in UTM)
    common: dict[str, Any] = {
        "scriptId": account.script_hash,
        "lfClientId": CLIENT_ID,
        "clientTimezone": "<svg/onload=window.__xss='tz'>",  # at most 64 characters
        "gaClientIds": [payload("ga")],
        "foreignCookies": [{"type": payload("cookie type"), "value": payload("cookie")}],
        "properties": {payload("property name"): payload("property")},
    }
    landing = event(
        context={
            "library": {"name": "openfeeder", "version": "1"},
            "pageUrl": f"https://site.example/{payload('path')}?{query}&q={payload('query')}",
            "pageTitle": payload("title"),
            "referrer": f"https://ref.example/?q={payload('referrer')}",
        },
        **common,
    )
    second = event(
        context={
            "library": {"name": "openfeeder", "version": "1"},
            "pageUrl": "https://site.example/pricing",
            "pageTitle": "Pricing",
            "referrer": landing["context"]["pageUrl"],
        },
        **common,
    )
    others = [
        event(event=kind, context=second["context"], **common)
        for kind in ("form-submit", "file-download", "video-start")
    ]
    return [landing, second, *others]


def _send(server_url: str, account: Account) -> None:
    headers = {
        "X-Forwarded-For": VISITOR_IP,
        "User-Agent": f"{DESKTOP_UA} {payload('user agent')}",
        "Accept-Language": payload("language"),
        "Sec-CH-UA-Platform": payload("platform"),
    }
    with httpx.Client(base_url=server_url, headers=headers, timeout=10.0) as tracker:
        for number, hit in enumerate(_hits(account)):
            sid = quote(account.script_hash)
            if number % 2:  # the beacon: a POST with the base64 body
                answer = tracker.post(f"/tr?sid={sid}", content=encode(hit))
            else:  # the pixel: a GET with the base64 in ``data``
                answer = tracker.get("/tr", params={"sid": sid, "data": encode(hit)})
            assert answer.status_code in (200, 204), answer.text


def _note_and_tag(tab: Tab) -> None:
    tab.page.fill("#note", payload("note"))
    tab.page.click("text=Add note")
    tab.page.wait_for_selector(".note-body")
    tab.page.fill("#tags", ", ".join(TAGS))
    tab.page.click("text=Save tags")
    tab.page.wait_for_selector(".facts .tag")


def _no_script_ran(tab: Tab) -> None:
    assert not tab.script_ran(), f"the payload of {tab.page.evaluate('window.__xss')} ran"
    assert tab.dialogs == []
    assert tab.page.locator("main script, main svg, main img:not(.logo), main iframe").count() == 0


def test_hostile_tracker_hits_company_notes_and_tags_run_no_script(
    chromium: Any,
    settings: Settings,
    database_url: str,
    db: Database,
    builder: Builder,
    member: Member,
    tmp_path: Path,
) -> None:
    account = builder.account(member)
    give_password(db, member)
    _company(tmp_path, db)
    env = {"OPENFEEDER_TRUSTED_PROXIES": "127.0.0.1/32"}
    server = serve_dashboard(database_url, tmp_path, **env)
    try:
        _send(server.url, account)
        pipeline = make_pipeline(settings.model_copy(update={"reverse_dns": False}), db)
        try:
            assert pipeline.run_once() == len(_hits(account))
        finally:
            pipeline.close()
        api = httpx.Client(base_url=server.url, headers=auth(member.token), timeout=10.0)
        today = datetime.now(UTC).date().isoformat()
        interval = {"start_date": today, "end_date": today}
        leads = api.get(f"/accounts/{account.id}/leads", params=interval).json()["data"]
        assert [lead["attributes"]["name"] for lead in leads] == [payload("company")]
        lead_id = leads[0]["id"]

        tab = new_tab(chromium, server.url)
        tab.goto(f"/app/{account.id}/leads/{lead_id}")
        tab.sign_in(member.user.email, PASSWORD)  # and back to the lead
        _note_and_tag(tab)
        tab.page.click("text=Why this company")
        lead_text = tab.page.locator("main").inner_text()
        _no_script_ran(tab)

        tab.goto(f"/app/{account.id}/leads")
        feed_text = tab.page.locator("main").inner_text()
        _no_script_ran(tab)

        with tab.page.expect_download() as download:
            tab.page.click("text=Download CSV")
        rows = list(csv.DictReader(io.StringIO(Path(download.value.path()).read_text())))
        _no_script_ran(tab)
        tab.page.context.close()
        api.close()
    finally:
        server.stop()

    for field, text in SHOWN.items():
        assert text in lead_text, f"the {field} is not shown literally on the lead page"
    for field in ("company name", "industry"):
        assert SHOWN[field] in feed_text, f"the {field} is not shown literally in the feed"
    for tag in TAGS:
        assert tag in lead_text, f"the tag {tag} is not shown literally on the lead page"
        assert tag in feed_text, f"the tag {tag} is not shown literally in the feed"
    assert [row["company"] for row in rows] == [payload("company")]
    assert [row["industry"] for row in rows] == [payload("industry")]
    assert rows[0]["tags"] == ", ".join(TAGS)
    assert tab.errors == []
