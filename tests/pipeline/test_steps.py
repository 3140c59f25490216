"""The pipeline's steps on their own, without a store: referrer and campaign attribution, device
types, bot and prefetch rules, IP truncation, and session state surviving a round trip
through ``visitor_sessions``'s JSON."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from crawlerdetect import CrawlerDetect

from openfeeder.domain.drops import DropReason
from openfeeder.domain.models import Location
from openfeeder.pipeline import STEPS, truncate_ip
from openfeeder.pipeline.model import Attribution, PageView, Session
from openfeeder.pipeline.steps.attribution import attribute, same_site
from openfeeder.pipeline.steps.bots import HEADLESS, is_prefetch
from openfeeder.pipeline.steps.device import device_type
from openfeeder.store.pipeline import SessionRow

PAGE = "https://www.example.com/pricing/"


def test_the_steps_run_in_the_documented_order() -> None:
    assert [step.name for step in STEPS] == [
        "bots",
        "visitor",
        "attribution",
        "sessions",
        "device",
        "identification",
        "location",
        "recording",
        "alerting",
    ]


@pytest.mark.parametrize(
    ("page", "referrer", "expected"),
    [
        # direct, and the site's own pages (any subdomain of its registrable domain)
        (PAGE, "", ("(direct)", "(none)", None, None, None)),
        (PAGE, "https://www.example.com/", ("(direct)", "(none)", None, None, None)),
        (PAGE, "https://blog.example.com/post", ("(direct)", "(none)", None, None, None)),
        # search engines, with the keyword when the referrer still carries it
        (PAGE, "https://www.google.com/", ("Google", "organic", None, None, None)),
        (
            PAGE,
            "https://www.google.de/search?q=b2b+leads",
            ("Google", "organic", None, "b2b leads", None),
        ),
        (
            PAGE,
            "https://www.bing.com/search?q=lead+gen",
            ("Bing", "organic", None, "lead gen", None),
        ),
        (PAGE, "https://duckduckgo.com/", ("DuckDuckGo", "organic", None, None, None)),
        (PAGE, "https://search.brave.com/search?q=x", ("Brave", "organic", None, None, None)),
        (
            PAGE,
            "android-app://com.google.android.googlequicksearchbox/",
            ("Google", "organic", None, None, None),
        ),
        # social networks, webmail, AI assistants
        (PAGE, "https://www.linkedin.com/feed/", ("LinkedIn", "social", None, None, None)),
        (PAGE, "https://lnkd.in/abc", ("LinkedIn", "social", None, None, None)),
        (PAGE, "https://t.co/xyz", ("Twitter", "social", None, None, None)),
        (PAGE, "https://x.com/someone/status/1", ("Twitter", "social", None, None, None)),
        (PAGE, "android-app://com.linkedin.android/", ("LinkedIn", "social", None, None, None)),
        (PAGE, "https://mail.google.com/mail/u/0/", ("Gmail", "email", None, None, None)),
        (PAGE, "https://outlook.office.com/mail/", ("Outlook.com", "email", None, None, None)),
        (PAGE, "https://chatgpt.com/", ("ChatGPT", "ai", None, None, None)),
        (PAGE, "https://www.perplexity.ai/search/abc", ("Perplexity", "ai", None, None, None)),
        (PAGE, "https://gemini.google.com/app", ("Gemini", "ai", None, None, None)),
        (PAGE, "https://claude.ai/chat/1", ("Claude", "ai", None, None, None)),
        # other sites
        (PAGE, "https://www.g2.com/products/x/reviews", ("g2.com", "referral", None, None, None)),
        (
            PAGE,
            "android-app://com.example.reader/",
            ("com.example.reader", "referral", None, None, None),
        ),
        # UTM parameters win over the referrer, names are tidied, the query typed is kept
        (
            f"{PAGE}?utm_source=google&utm_medium=cpc&utm_campaign=brand&utm_term=leads",
            "https://www.google.com/search?q=best+lead+tool",
            ("Google", "cpc", "brand", "leads", "best lead tool"),
        ),
        (
            f"{PAGE}?utm_source=Newsletter&utm_medium=email&utm_campaign=June",
            "",
            ("Newsletter", "email", "June", None, None),
        ),
        (f"{PAGE}?utm_source=chatgpt.com", "", ("ChatGPT", "ai", None, None, None)),
        (
            f"{PAGE}?utm_campaign=spring",
            "https://www.linkedin.com/",
            ("LinkedIn", "(not set)", "spring", None, None),
        ),
        # ad and email click ids
        (f"{PAGE}?gclid=abc", "https://www.google.com/", ("Google", "cpc", None, None, None)),
        (f"{PAGE}?msclkid=abc", "", ("Bing", "cpc", None, None, None)),
        (f"{PAGE}?li_fat_id=abc", "", ("LinkedIn", "cpc", None, None, None)),
        (f"{PAGE}?fbclid=abc", "https://l.facebook.com/", ("Facebook", "social", None, None, None)),
        (f"{PAGE}?mc_cid=abc", "", ("Mailchimp", "email", None, None, None)),
    ],
)
def test_attribution(page: str, referrer: str, expected: tuple[str | None, ...]) -> None:
    found = attribute(page, referrer)
    assert (found.source, found.medium, found.campaign, found.keyword, found.query_term) == expected
    external = bool(referrer) and not same_site("www.example.com", referrer)
    assert found.referring_url == (referrer if external else None)


def test_only_campaign_parameters_and_click_ids_are_explicit_campaigns() -> None:
    assert attribute(f"{PAGE}?utm_source=x", "").campaign_key == ("x", "(not set)", None)
    assert attribute(f"{PAGE}?gclid=1", "").campaign_key == ("Google", "cpc", None)
    assert attribute(f"{PAGE}?utm_term=only", "").campaign_key is None
    assert attribute(PAGE, "https://www.linkedin.com/").campaign_key is None


def test_campaign_values_longer_than_their_columns_are_cut_to_fit() -> None:
    query = "&".join(f"utm_{name}={name[0] * 1000}" for name in ("source", "medium", "campaign"))
    found = attribute(f"{PAGE}?{query}&utm_term={'t' * 1000}", "https://www.google.com/?q=q")
    assert (found.source, found.medium, found.campaign, found.keyword) == (
        "s" * 200,
        "m" * 100,
        "c" * 300,
        "t" * 500,
    )


def test_odd_referrers_do_not_break_attribution() -> None:
    assert attribute(PAGE, "http://[::1").medium == "referral"
    assert attribute(PAGE, "about:blank").medium == "referral"


@pytest.mark.parametrize(
    ("agent", "kind"),
    [
        (
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Chrome/126.0.0.0 Safari/537.36",
            "desktop",
        ),
        (
            "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like "
            "Gecko) Version/17.5 Safari/605.1.15",
            "desktop",
        ),
        ("Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0", "desktop"),
        (
            "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, "
            "like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
            "smartphone",
        ),
        (
            "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Chrome/126.0 Mobile Safari/537.36",
            "smartphone",
        ),
        (
            "Mozilla/5.0 (iPad; CPU OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
            "Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
            "tablet",
        ),
        (
            "Mozilla/5.0 (Linux; Android 13; SM-X700) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Chrome/126.0 Safari/537.36",
            "tablet",
        ),
    ],
)
def test_device_type(agent: str, kind: str) -> None:
    assert device_type(agent) == kind


def test_the_mobile_client_hint_finds_phones_behind_a_reduced_user_agent() -> None:
    reduced = (
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/126.0.0.0 Safari/537.36"
    )
    assert device_type(reduced, {"sec-ch-ua-mobile": "?1"}) == "smartphone"
    assert device_type(reduced, {"sec-ch-ua-mobile": "?0"}) == "desktop"


@pytest.mark.parametrize(
    "agent",
    [
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "HeadlessChrome/126.0.0.0 Safari/537.36",
        "Mozilla/5.0 (Unknown; Linux x86_64) AppleWebKit/538.1 (KHTML, like Gecko) "
        "PhantomJS/2.1.1 Safari/538.1",
        "Mozilla/5.0 (Linux; Android 11; moto g power (2022)) AppleWebKit/537.36 (KHTML, like "
        "Gecko) Chrome/119.0.0.0 Mobile Safari/537.36 Chrome-Lighthouse",
    ],
)
def test_headless_browsers(agent: str) -> None:
    assert HEADLESS.search(agent)


def test_crawler_rules_come_from_the_maintained_library() -> None:
    crawlers = CrawlerDetect()
    assert crawlers.is_crawler(
        "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)"
    )
    assert crawlers.is_crawler("curl/8.5.0")
    assert not crawlers.is_crawler(
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0"
    )


def test_prefetch_headers_in_any_case() -> None:
    assert is_prefetch({"Sec-Purpose": "prefetch;prerender"})
    assert is_prefetch({"sec-purpose": "prefetch"})
    assert is_prefetch({"X-Moz": "prefetch"})
    assert is_prefetch({"Purpose": "preview"})
    assert not is_prefetch({"Sec-Fetch-Dest": "image"})
    assert not is_prefetch(None)


def test_truncate_ip() -> None:
    assert truncate_ip("192.0.2.123") == "192.0.2.0"
    assert truncate_ip("2001:db8:abcd:1234::5") == "2001:db8:abcd::"
    assert truncate_ip("not an ip") == "not an ip"


def test_session_state_survives_the_json_round_trip() -> None:
    at = datetime(2026, 3, 2, 9, 0, 0, 250_000, tzinfo=UTC)
    session = Session(
        account_id=1,
        visitor_key="LF1.1.0000000000000001.1",
        visit_id="v",
        started_at=at,
        last_hit_at=at + timedelta(seconds=95),
        attribution=Attribution("Google", "cpc", "brand", "leads", "lead tool", "https://g/", True),
        lf_client_id="LF1.1.0000000000000001.1",
        ga_client_ids=["GA1.2.3.4"],
        adobe_cookies=[{"MCMID": "1"}],
        pages=[
            PageView("https://www.example.com/", "Home", at),
            PageView("https://www.example.com/a/?x=1", "A", at + timedelta(seconds=30)),
        ],
        device_type="tablet",
        company_id="c",
        match_source="asn",
        match_reason="because",
        location=Location("l", "Finland", "FI", "Uusimaa", None, "Helsinki", None),
        drop=None,
    )
    row = session.to_row()
    stored = SessionRow(**{**vars(row), "state": json.loads(json.dumps(row.state))})
    assert Session.from_row(stored) == session

    visit = session.to_new_visit()
    assert [(s.page_path, s.time_on_page) for s in visit.route] == [("/", 30), ("/a/?x=1", 65)]
    assert (visit.source, visit.query_term, visit.device_type) == ("Google", "lead tool", "tablet")

    dropped = Session.from_row(
        SessionRow(**{**vars(row), "state": {**row.state, "drop": "isp", "pages": []}})
    )
    assert dropped.drop is DropReason.ISP
    with pytest.raises(ValueError, match="not identified"):
        Session(1, "k", "v2", at, at, Attribution(None, None)).to_new_visit()
