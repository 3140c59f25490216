"""The tracker script: its size, how it is served per account, and — in headless Chromium on
a site of its own origin — what it does: the _lfa cookie and its localStorage copy,
cookieless ids, consent mode, SPA navigation, the command queue, forms, downloads, other
tools' ids and the pixel fallback, each checked in the hits the real server stored."""

from __future__ import annotations

import gzip
import json
import re
import secrets
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from starlette.testclient import TestClient

from openfeeder.config import Settings
from openfeeder.domain.events import validate
from openfeeder.domain.models import Account
from openfeeder.ingest import script
from openfeeder.services.accounts import script_html
from openfeeder.store import accounts as accounts_store
from openfeeder.store import hits as hits_store
from openfeeder.store.db import Database
from tests.support.browser import DESKTOP_UA, launch_chromium
from tests.support.clients import MakeClient, auth
from tests.support.factories import Builder
from tests.support.tracking import SitePages, serve_in_thread, tracker_app

LONG_ENDPOINT = "https://tracking.a-rather-long-company-name.example.com/openfeeder/tr"


def test_the_served_tracker_is_at_most_2_kb_gzipped() -> None:
    for consent in (False, True):
        rendered = script.render(
            script.TrackerConfig("LbMwm7E2MdOZyAVe", LONG_ENDPOINT, consent, consent)
        )
        assert len(rendered.gzipped) <= 2048, len(rendered.gzipped)
        assert gzip.decompress(rendered.gzipped) == rendered.body


def test_serving_drops_only_comments_and_blanks() -> None:
    source = script.SOURCE.read_text(encoding="utf-8")
    served = script.template()
    code = "\n".join(line for line in source.splitlines() if not line.strip().startswith("//"))
    assert re.sub(r"\s", "", served) == re.sub(r"\s", "", code)
    literal = re.compile(r"'(?:[^'\\\n]|\\.)*'")
    assert literal.findall(served) == literal.findall(code)  # strings untouched
    assert '"' not in code  # single quotes are the only ones compact() knows about
    assert "`" not in code
    # Every line of code stays a line: automatic semicolon insertion sees the same breaks.
    assert served.count("\n") == len([line for line in code.splitlines() if line.strip()])
    assert len(served) < len(code) * 0.8


def test_settings_are_written_in_as_a_safe_literal() -> None:
    body = script.render(
        script.TrackerConfig("abc", "https://x.example/</script><b>&\u2028", True, False)
    ).body.decode()
    assert "</script>" not in body
    assert "\u2028" not in body
    assert script.CONFIG_SLOT not in body
    literal = re.search(r"navigator,(\{.*\})\);\n$", body)
    assert literal is not None
    assert json.loads(literal[1]) == {  # off flags are left out
        "scriptId": "abc",
        "endpoint": "https://x.example/</script><b>&\u2028",
        "consentManagementEnabled": True,
    }


@pytest.fixture
def client(make_client: MakeClient) -> TestClient:
    return make_client(public_url="https://tracking.example.com/")


def test_the_api_snippet_loads_the_script_from_the_public_url(
    client: TestClient, builder: Builder
) -> None:
    member = builder.user()
    account = builder.account(member)
    response = client.get(
        f"/accounts/{account.id}/website-tracking-script", headers=auth(member.token)
    )
    html = response.json()["data"]["attributes"]["script_html"]
    assert "'https://tracking.example.com/lftracker_v1_'+ss+(ex?'_'+ex:'')+'.js'" in html
    served = client.get(f"/lftracker_v1_{account.script_hash}.js")
    assert served.status_code == 200
    assert served.headers["content-type"] == "application/javascript; charset=utf-8"
    assert f'"scriptId":"{account.script_hash}"' in served.text
    assert '"endpoint":"https://tracking.example.com/tr"' in served.text


def test_the_script_is_served_gzipped_cached_and_per_variant(
    client: TestClient, account: Account
) -> None:
    path = f"/lftracker_v1_{account.script_hash}.js"
    plain = client.get(path, headers={"Accept-Encoding": "identity"})
    zipped = client.get(path, headers={"Accept-Encoding": "gzip, br"})
    assert zipped.headers["content-encoding"] == "gzip"
    assert int(zipped.headers["content-length"]) <= 2048
    assert zipped.content == plain.content  # httpx undoes the gzip
    assert plain.headers["cache-control"] == "public, max-age=300"
    assert plain.headers["access-control-allow-origin"] == "*"
    again = client.get(path, headers={"If-None-Match": plain.headers["etag"]})
    assert (again.status_code, again.content) == (304, b"")
    variant = client.get(f"/lftracker_v1_{account.script_hash}_ex1.js")
    assert variant.status_code == 200
    assert variant.content == plain.content


@pytest.mark.parametrize(
    "name", ["NoSuchHash1234.js", "{hash}", "{hash}.css", "{hash}_bad-variant.js", "_.js"]
)
def test_an_unknown_or_malformed_script_name_is_404(
    client: TestClient, account: Account, name: str
) -> None:
    response = client.get("/lftracker_v1_" + name.format(hash=account.script_hash))
    assert response.status_code == 404
    assert response.json()["error"] == "unknown_script"


# -- in the browser ----------------------------------------------------------------------


@dataclass
class Lab:
    """A tracker server, a website on another origin and a browser, shared by a module."""

    db: Database
    tracker_url: str
    site: SitePages
    browser: Any

    def account(self) -> Account:
        with self.db.write() as conn:
            return accounts_store.create_account(
                conn,
                name="Browser test",
                subscription="premium",
                timezone="UTC",
                script_hash=secrets.token_hex(8),
            )

    def page(self, account: Account, body: str = "", *, before: str = "", after: str = "") -> str:
        """Publish a page embedding the account's snippet; returns its URL."""
        path = f"/{account.script_hash}/{secrets.token_hex(4)}"
        self.site.pages[path] = (
            f"<!doctype html><html><head><title>Page {path}</title>"
            f"<script>{before}</script>{script_html(self.tracker_url, account.script_hash)}"
            f"<script>{after}</script></head><body>{body}</body></html>"
        )
        return self.site.url + path

    def hits(self, account: Account, count: int, timeout: float = 10.0) -> list[dict[str, Any]]:
        """The account's stored events once there are ``count`` (and no more arrive)."""
        deadline = time.monotonic() + timeout
        while True:
            with self.db.read() as conn:
                rows = hits_store.list_hits(conn, account.id)
            if len(rows) >= count or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        time.sleep(0.3)  # an extra, unwanted event would have arrived by now
        with self.db.read() as conn:
            rows = hits_store.list_hits(conn, account.id)
        assert len(rows) == count, [r["payload"]["event"] for r in rows]
        for row in rows:
            validate(row["payload"])  # everything the tracker sends passes the server's rules
        return [row["payload"] for row in rows]


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    from playwright.sync_api import sync_playwright

    home = tmp_path_factory.mktemp("tracker")
    url = f"sqlite:///{home / 'openfeeder.db'}"
    db = Database(url)
    db.migrate()
    settings = Settings(
        database_url=url, data_dir=home / "data", run_jobs_in_process=False, redis_url=None
    )
    with (
        serve_in_thread(tracker_app(settings)) as tracker_url,
        SitePages({}) as site,
        sync_playwright() as playwright,
    ):
        browser = launch_chromium(playwright)
        yield Lab(db, tracker_url, site, browser)
        browser.close()
    db.dispose()


@pytest.fixture
def new_page(lab: Lab) -> Iterator[Callable[..., Any]]:
    contexts: list[Any] = []

    def make(**options: Any) -> Any:
        context = lab.browser.new_context(user_agent=DESKTOP_UA, **options)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


CLIENT_ID = re.compile(r"LF1\.1\.[0-9a-f]{16}\.\d{13}")


def test_a_first_visit_sets_the_lfa_cookie_and_its_localstorage_copy(
    lab: Lab, new_page: Callable[..., Any]
) -> None:
    account = lab.account()
    first, second = lab.page(account), lab.page(account)
    page = new_page()
    page.goto(first)
    (view,) = lab.hits(account, 1)
    assert view["event"] == "tracking-event"
    assert view["context"]["pageUrl"] == first
    assert view["context"]["pageTitle"].startswith("Page /")
    assert view["scriptId"] == account.script_hash
    assert view["cookiesEnabled"] is True
    client_id = view["lfClientId"]
    assert CLIENT_ID.fullmatch(client_id)
    (cookie,) = [c for c in page.context.cookies() if c["name"] == "_lfa"]
    assert cookie["value"] == client_id
    assert cookie["sameSite"] == "Lax"
    # Two years are asked for; Chromium caps any cookie at 400 days, which is why the id is
    # also kept in localStorage with its own two-year expiry.
    days = (cookie["expires"] - time.time()) / 86400
    assert 399 < days <= 730
    assert page.evaluate("localStorage.getItem('_lfa')") == client_id
    expiry_days = (
        int(page.evaluate("localStorage.getItem('_lfa_expiry')")) / 1000 - time.time()
    ) / 86400
    assert 729.9 < expiry_days <= 730
    assert page.evaluate("ldfdr.getClientId()") == client_id
    # The next page keeps the id; with the cookie gone, the localStorage copy restores it.
    page.goto(second)
    page.context.clear_cookies()
    page.goto(first)
    views = lab.hits(account, 3)
    assert [v["lfClientId"] for v in views] == [client_id] * 3
    assert views[1]["context"]["referrer"] == ""  # a typed address, no referrer
    assert [c["value"] for c in page.context.cookies() if c["name"] == "_lfa"] == [client_id]


def test_without_cookies_each_page_sends_a_cookieless_id_and_stores_nothing(
    lab: Lab, new_page: Callable[..., Any]
) -> None:
    account = lab.account()
    page = new_page()
    # A browser that refuses cookies: document.cookie writes go nowhere.
    page.add_init_script(
        "Object.defineProperty(Document.prototype, 'cookie', {get: () => '', set: () => {}})"
    )
    page.goto(lab.page(account))
    page.goto(lab.page(account))
    views = lab.hits(account, 2)
    assert all(v["lfClientId"].endswith(".NC") and v["cookiesEnabled"] is False for v in views)
    assert views[0]["lfClientId"] != views[1]["lfClientId"]
    assert page.evaluate("localStorage.length") == 0


def test_consent_mode_waits_for_accept_cookie_and_remembers_it(
    lab: Lab, new_page: Callable[..., Any]
) -> None:
    account = lab.account()
    url = lab.page(account, after="ldfdr.cfg = {consentManagementEnabled: true}")
    page = new_page()
    page.goto(url)
    lab.hits(account, 1)
    assert page.context.cookies() == []  # nothing before consent
    assert page.evaluate("localStorage.length") == 0
    page.evaluate("ldfdr.acceptCookie(); ldfdr.pageview()")
    page.goto(url)  # consent is remembered: cookies from the first event on
    page.evaluate("ldfdr.rejectCookie(); ldfdr.pageview()")
    before, accepted, remembered, rejected = lab.hits(account, 4)
    assert before["lfClientId"].endswith(".NC")
    assert CLIENT_ID.fullmatch(accepted["lfClientId"])
    assert remembered["lfClientId"] == accepted["lfClientId"]
    assert rejected["lfClientId"].endswith(".NC")
    assert [c["name"] for c in page.context.cookies()] == []
    assert page.evaluate("localStorage.length") == 0


def test_history_api_navigation_is_a_pageview_with_the_previous_page_as_referrer(
    lab: Lab, new_page: Callable[..., Any]
) -> None:
    account = lab.account()
    url = lab.page(account)
    page = new_page()
    page.goto(url)
    lab.hits(account, 1)
    page.evaluate("history.pushState({}, '', '?tab=2'); document.title = 'Tab two'")
    lab.hits(account, 2)
    page.evaluate("history.replaceState({x: 1}, '', location.href)")  # same address: nothing
    page.go_back()
    views = lab.hits(account, 3)
    assert [v["context"]["pageUrl"] for v in views] == [url, url + "?tab=2", url]
    assert views[1]["context"]["referrer"] == url
    assert views[1]["context"]["pageTitle"] == "Tab two"
    assert views[2]["context"]["referrer"] == url + "?tab=2"
    assert len({v["clientEventId"] for v in views}) == 3


def test_queued_and_direct_commands_identify_track_and_pageview(
    lab: Lab, new_page: Callable[..., Any]
) -> None:
    account = lab.account()
    queued = "ldfdr('identify', {email: 'ada@example.com'}); ldfdr('nonsense', 1)"
    page = new_page()
    page.goto(lab.page(account, after=queued))
    lab.hits(account, 2)
    page.evaluate(
        "ldfdr.track('video-start', {videoUrl: 'https://video.example/1'});"
        "ldfdr.pageview({pageUrl: 'https://www.example.com/virtual', pageTitle: 'Virtual'})"
    )
    identify, view, video, virtual = lab.hits(account, 4)
    assert identify["event"] == "identify"
    assert identify["properties"] == {"email": "ada@example.com"}
    assert view["event"] == "tracking-event"
    assert video["event"] == "video-start"
    assert video["properties"] == {"videoUrl": "https://video.example/1"}
    assert virtual["context"]["pageUrl"] == "https://www.example.com/virtual"
    assert virtual["context"]["pageTitle"] == "Virtual"
    assert len({e["lfClientId"] for e in (identify, view, video, virtual)}) == 1


def test_form_submits_and_file_downloads_are_sent_as_the_page_unloads(
    lab: Lab, new_page: Callable[..., Any]
) -> None:
    account = lab.account()
    body = (
        '<form id="contact" name="contact-us" action="/thanks" method="get">'
        '<input name="email" value="ada@example.com"><button id="send">Send</button></form>'
        '<a id="pdf" href="/files/Price%20list.pdf">prices</a>'
    )
    url = lab.page(account, body)
    page = new_page()
    page.goto(url)
    page.click("#pdf")
    page.goto(url)
    page.click("#send")
    page.wait_for_url("**/thanks*")
    events = lab.hits(account, 4)
    download = next(e for e in events if e["event"] == "file-download")
    form = next(e for e in events if e["event"] == "form-submit")
    assert download["properties"] == {"url": lab.site.url + "/files/Price%20list.pdf"}
    assert form["properties"] == {
        "formId": "contact",
        "formName": "contact-us",
        "formAction": "/thanks",
    }
    assert "ada@example.com" not in str(form)  # field values never leave the page


def test_google_analytics_and_adobe_ids_ride_along(lab: Lab, new_page: Callable[..., Any]) -> None:
    account = lab.account()
    amcv = "-1124106680|MCIDTS|19700|MCMID|681245|MCAAMLH-1700000000|6|MCAAMB-1700000000|RKh1"
    cookies = (
        "document.cookie = '_ga=GA1.1.1234567890.1700000000; path=/';"
        "document.cookie = '_ga_ABC123XYZ=GS1.1.1700000000.1.0.1700000000.0.0.0; path=/';"
        f"document.cookie = 'AMCV_0123%40AdobeOrg={amcv.replace('|', '%7C')}; path=/';"
    )
    page = new_page()
    page.goto(lab.page(account, before=cookies))
    page.goto(lab.page(account, before=cookies, after="ldfdr.cfg = {adobeCookies: true}"))
    plain, adobe = lab.hits(account, 2)
    assert plain["gaClientIds"] == ["1234567890.1700000000"]
    assert plain["gaTrackingIds"] == ["G-ABC123XYZ"]
    assert plain["foreignCookies"] == []  # Adobe ids only when enabled
    assert adobe["foreignCookies"] == [{"type": "AMCV", "value": amcv}]
    assert validate(adobe).adobe_cookies == ({"MCMID": "681245", "MCAAMLH": "6", "MCAAMB": "RKh1"},)


def test_without_send_beacon_the_image_pixel_carries_the_event(
    lab: Lab, new_page: Callable[..., Any]
) -> None:
    account = lab.account()
    page = new_page()
    page.add_init_script("Navigator.prototype.sendBeacon = undefined")
    requests: list[Any] = []

    def record(request: Any) -> None:  # Playwright takes Python functions, not builtins
        requests.append(request)

    page.on("request", record)
    page.goto(lab.page(account))
    (view,) = lab.hits(account, 1)
    (pixel,) = [r for r in requests if "/tr?" in r.url]
    assert pixel.method == "GET"
    assert "&data=" in pixel.url
    assert view["scriptId"] == account.script_hash


def test_a_script_loaded_twice_tracks_once(lab: Lab, new_page: Callable[..., Any]) -> None:
    account = lab.account()
    page = new_page()
    page.goto(lab.page(account, script_html(lab.tracker_url, account.script_hash)))
    lab.hits(account, 1)
