"""The demo's website traffic, as tracker events: people at the demo's companies browsing
www.example.com over the last 90 days, the traffic that must never become a lead (crawlers,
headless browsers, prefetches, home broadband, phones, cloud servers, unknown networks), and
the address plan the demo's company ranges and MMDB files describe.

Addresses come from 198.18.0.0/15, the range RFC 2544 reserves for benchmarks: no real
company ever owns one. ``services.demo`` decides who visits; this module says how.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from ipaddress import IPv4Network
from pathlib import Path
from typing import Any
from urllib.parse import quote_plus, urlencode
from zoneinfo import ZoneInfo

from openfeeder.domain.ids import base58
from openfeeder.domain.models import Account
from openfeeder.identify.mmdb import AsnEntry, CityEntry, write_asn_mmdb, write_city_mmdb
from openfeeder.ingest.append import IncomingHit

HOST = "www.example.com"
DAYS = 90
# A visit ends after 30 idle minutes: one visitor's planned visits are kept further apart so
# that each stays a visit of its own.
VISIT_GAP = timedelta(minutes=31)

# One /27 per company office, from the first half of the benchmark range.
OFFICE_SPACE = IPv4Network("198.18.0.0/16")
OFFICE_PREFIX = 27
# Networks whose visitors are never leads, in the second half, with their AS and a place.
NOISE_NETWORKS = {
    "isp": (IPv4Network("198.19.10.0/24"), AsnEntry("198.19.10.0/24", 7922, "COMCAST-7922")),
    "mobile": (
        IPv4Network("198.19.20.0/24"),
        AsnEntry("198.19.20.0/24", 21928, "T-MOBILE-AS21928"),
    ),
    "hosting": (IPv4Network("198.19.30.0/24"), AsnEntry("198.19.30.0/24", 16509, "AMAZON-02")),
    "unknown": (IPv4Network("198.19.40.0/24"), None),
}

AGENTS = {
    "desktop": (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/126.0.0.0 Safari/537.36",
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/126.0.0.0 Safari/537.36 Edg/126.0.2592.87",
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) "
        "Version/17.5 Safari/605.1.15",
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0",
    ),
    "smartphone": (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, "
        "like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
        "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/126.0.6478.122 Mobile Safari/537.36",
    ),
    "tablet": (
        "Mozilla/5.0 (iPad; CPU OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
        "Version/17.5 Mobile/15E148 Safari/604.1",
        "Mozilla/5.0 (Linux; Android 13; SM-X700) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/126.0.6478.122 Safari/537.36",
    ),
}
CRAWLERS = (
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
    "Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)",
    "python-requests/2.32.3",
)
HEADLESS_AGENT = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "HeadlessChrome/126.0.0.0 Safari/537.36"
)

PAGES: dict[str, tuple[str, int]] = {  # path → (title, typical seconds on the page)
    "/": ("Website Visitor Tracking Software – Example Analytics", 35),
    "/pricing/": ("Pricing for all stages of growth – Example Analytics", 70),
    "/product/": ("Lead Generation for Marketing Teams – Example Analytics", 55),
    "/product/integrations/": ("Integrations: CRM, Slack and more – Example Analytics", 45),
    "/product/visitor-identification/": ("Identify the companies visiting your website", 60),
    "/customers/": ("Customer stories – Example Analytics", 40),
    "/customers/polar-logistics/": ("How Polar Logistics doubled its pipeline", 120),
    "/blog/": ("Blog – Example Analytics", 25),
    "/blog/b2b-lead-generation-guide/": ("The complete guide to B2B lead generation", 190),
    "/blog/website-visitor-identification/": ("How website visitor identification works", 160),
    "/blog/account-based-marketing-101/": ("Account-based marketing 101", 140),
    "/blog/gdpr-and-b2b-tracking/": ("GDPR and B2B website tracking", 150),
    "/blog/sales-prospecting-tips/": ("12 sales prospecting tips that work", 130),
    "/webinars/": ("Webinars – Example Analytics", 50),
    "/docs/api/": ("API documentation – Example Analytics", 110),
    "/security/": ("Security and privacy – Example Analytics", 45),
    "/about/": ("About us – Example Analytics", 30),
    "/careers/": ("Careers – Example Analytics", 40),
    "/contact/": ("Contact us – Example Analytics", 35),
    "/demo/": ("Book a demo – Example Analytics", 60),
    "/signup/": ("Start your free trial – Example Analytics", 50),
}
BLOG_POSTS = [path for path in PAGES if path.startswith("/blog/") and path != "/blog/"]
NEXT_PAGES = {  # where a visitor goes next, by weight
    "/pricing/": 22, "/product/": 14, "/customers/": 8, "/blog/": 8, "/demo/": 6,
    "/product/integrations/": 6, "/product/visitor-identification/": 6, "/security/": 4,
    "/signup/": 4, "/about/": 3, "/contact/": 3, "/docs/api/": 3, "/webinars/": 2,
    "/careers/": 1, "/": 5, "/customers/polar-logistics/": 3,
}  # fmt: skip
HOURS = (1, 1, 1, 1, 1, 2, 4, 8, 14, 18, 18, 16, 12, 15, 17, 16, 14, 10, 6, 4, 3, 2, 2, 1)
# Traffic kinds by weight, with the landing pages each tends to bring visitors to.
TRAFFIC = {
    "organic": 29, "direct": 22, "cpc": 15, "referral": 12, "social": 10, "email": 10, "ai": 2,
}  # fmt: skip
LANDINGS = {
    "organic": [*BLOG_POSTS, "/", "/product/visitor-identification/", "/pricing/"],
    "direct": ["/", "/", "/pricing/", "/docs/api/", "/signup/", "/product/"],
    "cpc": ["/", "/pricing/", "/demo/"],
    "referral": ["/", "/pricing/", "/customers/", "/product/integrations/"],
    "social": [*BLOG_POSTS, "/customers/polar-logistics/", "/webinars/"],
    "email": [*BLOG_POSTS, "/webinars/", "/product/integrations/"],
    "ai": ["/", "/product/visitor-identification/", "/pricing/"],
}
KEYWORDS = (
    "website visitor tracking", "identify website visitors", "b2b lead generation",
    "who is visiting my website", "leadfeeder alternative", "account based marketing tools",
    "reverse ip lookup companies", "sales prospecting software",
)  # fmt: skip
QUERY_TERMS = (
    "how to see which companies visit my website", "best b2b website visitor tracking",
    "leadfeeder alternative self hosted", "how to get fresh leads to my website",
)  # fmt: skip
CAMPAIGNS = ("Brand EU", "Brand US", "Competitors", "Visitor ID")
EMAIL_CAMPAIGNS = ("Monthly newsletter", "Webinar invitation", "Product update")
REFERRERS = (  # sites the referrer dataset does not know: plain referrals
    "https://www.g2.com/products/example-analytics/reviews",
    "https://www.capterra.com/p/123456/Example-Analytics/",
    "https://www.trustradius.com/products/example-analytics/reviews",
    "https://medium.com/@growth/visitor-identification-tools-compared",
    "https://www.producthunt.com/products/example-analytics",
)
AI_REFERRERS = ("https://chatgpt.com/", "https://www.perplexity.ai/")


@dataclass(frozen=True)
class Visitor:
    """One browser: its cookie, analytics ids, device and address."""

    client_id: str
    ga_client_ids: list[str]
    foreign_cookies: list[dict[str, str]]
    user_agent: str
    ip: str


@dataclass(frozen=True)
class PlannedVisit:
    visitor: Visitor
    start: datetime
    landing_query: str  # campaign parameters on the landing page's URL
    referrer: str  # the landing page's referrer
    pages: list[tuple[str, int]] = field(default_factory=list)  # path, seconds on it

    @property
    def end(self) -> datetime:
        return self.start + timedelta(seconds=sum(seconds for _, seconds in self.pages))


def office_networks() -> Iterator[IPv4Network]:
    """Each office's /27, in order."""
    return OFFICE_SPACE.subnets(new_prefix=OFFICE_PREFIX)


def _address(rng: random.Random, network: IPv4Network) -> str:
    return str(network[rng.randrange(1, network.num_addresses - 1)])


def _digits(rng: random.Random, count: int) -> str:
    return "".join(str(rng.randrange(10)) for _ in range(count))


def new_visitor(rng: random.Random, first_seen: datetime, network: IPv4Network) -> Visitor:
    millis = int(first_seen.timestamp() * 1000)
    ga = [f"{rng.randint(10**8, 2 * 10**9)}.{millis // 1000}"] if rng.random() < 0.8 else []
    cookies = []
    if rng.random() < 0.05:
        amcv = (
            f"MCMID|{_digits(rng, 38)}|MCAAMLH-{millis // 1000}|{rng.choice((6, 7, 9, 11))}"
            f"|MCAAMB-{millis // 1000}|{base58(rng.randbytes(12))}|vVersion|5.5.0"
        )
        cookies.append({"type": "AMCV", "value": amcv})
    device = rng.choices(("desktop", "smartphone", "tablet"), (68, 24, 8))[0]
    return Visitor(
        f"LF1.1.{rng.randbytes(8).hex()}.{millis}",
        ga,
        cookies,
        rng.choice(AGENTS[device]),
        _address(rng, network),
    )


def plan_visits(
    rng: random.Random, visitors: Sequence[Visitor], zone: ZoneInfo, today: date
) -> list[PlannedVisit]:
    """A lead's visits: a heavy-tailed count, spread from its first day until yesterday at
    hours people work in the office's time zone, no two of one visitor within 30 minutes."""
    low, high = rng.choices(((1, 3), (4, 8), (9, 20), (21, 40), (41, 80)), (35, 30, 20, 12, 3))[0]
    count = rng.randint(low, high)
    first_offset = rng.randint(1, DAYS - 1)
    midnight = datetime.combine(today, time(), tzinfo=UTC)
    planned = []
    for index in range(count):
        offset = first_offset if index == 0 else rng.randint(1, first_offset)
        local = datetime.combine(
            today - timedelta(days=offset),
            time(rng.choices(range(24), HOURS)[0], rng.randrange(60), rng.randrange(60)),
            tzinfo=zone,
        )
        start = local.astimezone(UTC)
        if start >= midnight:  # west of UTC, a late local "yesterday" can be today in UTC
            start -= timedelta(days=1)
        planned.append(_visit(rng, rng.choice(visitors), start))
    return _spaced(planned, midnight)


def _spaced(planned: list[PlannedVisit], midnight: datetime) -> list[PlannedVisit]:
    """Move a visit that would run into the same visitor's previous one to just after it,
    or leave it out if that is today."""
    out: list[PlannedVisit] = []
    last_end: dict[str, datetime] = {}
    for wanted in sorted(planned, key=lambda v: (v.visitor.client_id, v.start)):
        previous = last_end.get(wanted.visitor.client_id)
        visit = wanted
        if previous is not None and wanted.start < previous + VISIT_GAP:
            visit = replace(wanted, start=previous + VISIT_GAP)
        if visit.start >= midnight:
            continue
        last_end[visit.visitor.client_id] = visit.end
        out.append(visit)
    return out


def _visit(rng: random.Random, visitor: Visitor, start: datetime) -> PlannedVisit:
    kind = rng.choices(list(TRAFFIC), list(TRAFFIC.values()))[0]
    landing = rng.choice(LANDINGS[kind])
    query: dict[str, str] = {}
    referrer = ""
    match kind:
        case "organic":
            referrer = f"https://www.google.com/search?q={quote_plus(rng.choice(KEYWORDS))}"
        case "cpc":
            query = {"utm_source": "google", "utm_medium": "cpc"}
            query |= {"utm_campaign": rng.choice(CAMPAIGNS), "utm_term": rng.choice(KEYWORDS)}
            # What was typed; Google Ads passes the keyword bought as utm_term.
            referrer = f"https://www.google.com/search?q={quote_plus(rng.choice(QUERY_TERMS))}"
        case "social":
            referrer = "https://www.linkedin.com/"
        case "email":
            query = {"utm_source": "Newsletter", "utm_medium": "email"}
            query["utm_campaign"] = rng.choice(EMAIL_CAMPAIGNS)
        case "referral":
            referrer = rng.choice(REFERRERS)
        case "ai":
            referrer = rng.choice(AI_REFERRERS)
    return PlannedVisit(visitor, start, urlencode(query), referrer, _route(rng, landing))


def _route(rng: random.Random, landing: str) -> list[tuple[str, int]]:
    depth = 1 if rng.random() < 0.35 else rng.choices(range(2, 10), (25, 20, 15, 10, 8, 6, 4, 2))[0]
    paths = [landing]
    while len(paths) < depth:
        here = paths[-1]
        if here.startswith("/blog/") and rng.random() < 0.5:
            paths.append(rng.choice([post for post in BLOG_POSTS if post != here]))
            continue
        options = [(path, weight) for path, weight in NEXT_PAGES.items() if path != here]
        paths.append(rng.choices([p for p, _ in options], [w for _, w in options])[0])
    # The exit page's time is unknown to any tracker (no later hit): 0 seconds.
    return [
        (
            path,
            0
            if n == len(paths) - 1
            else max(3, int(rng.gauss(PAGES[path][1], PAGES[path][1] / 2))),
        )
        for n, path in enumerate(paths)
    ]


def visit_hits(rng: random.Random, account: Account, visit: PlannedVisit) -> list[IncomingHit]:
    """The pageviews a visit sends, each after the time spent on the page before it."""
    hits = []
    at = visit.start
    previous = visit.referrer
    for number, (path, seconds) in enumerate(visit.pages):
        url = f"https://{HOST}{path}"
        if number == 0 and visit.landing_query:
            url += f"?{visit.landing_query}"
        hits.append(hit(rng, account, visit.visitor, url, PAGES[path][0], previous, at))
        previous = url
        at += timedelta(seconds=seconds)
    return hits


def hit(
    rng: random.Random,
    account: Account,
    visitor: Visitor,
    url: str,
    title: str,
    referrer: str,
    at: datetime,
    request_meta: dict[str, str] | None = None,
) -> IncomingHit:
    """One pageview as the tracker sends it (the wire format of docs/tracking.md)."""
    event: dict[str, Any] = {
        "event": "tracking-event",
        "context": {
            "library": {"name": "lftracker", "version": "1.0.0"},
            "pageUrl": url,
            "pageTitle": title,
            "referrer": referrer,
        },
        "clientEventId": rng.randbytes(8).hex(),
        "clientTimestamp": at.strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}Z",
        "clientTimezone": "UTC",
        "scriptId": account.script_hash,
        "cookiesEnabled": True,
        "anonymizeIp": False,
        "lfClientId": visitor.client_id,
        "gaTrackingIds": ["G-DEMO0001"] if visitor.ga_client_ids else [],
        "gaClientIds": visitor.ga_client_ids,
        "foreignCookies": visitor.foreign_cookies,
        "properties": {},
    }
    return IncomingHit(
        account_id=account.id,
        event=event,
        ip=visitor.ip,
        user_agent=visitor.user_agent,
        accept_language="en-US,en;q=0.9",
        request_meta=request_meta or {},
        received_at=at,
    )


def noise(rng: random.Random, account: Account, today: date) -> list[IncomingHit]:
    """Traffic the pipeline must drop, over the last 30 days: crawlers, headless browsers,
    prefetches, and people on home broadband, phones, cloud servers and unknown networks."""
    midnight = datetime.combine(today, time(), tzinfo=UTC)
    hits: list[IncomingHit] = []

    def moment() -> datetime:
        return midnight - timedelta(days=rng.randint(1, 30), seconds=rng.randrange(86_400))

    def someone(network: IPv4Network, agent: str | None = None) -> Visitor:
        visitor = new_visitor(rng, moment() - timedelta(days=30), network)
        return replace(visitor, user_agent=agent) if agent is not None else visitor

    for _ in range(30):  # crawlers run in the cloud
        crawler = someone(NOISE_NETWORKS["hosting"][0], rng.choice(CRAWLERS))
        path = rng.choice(list(PAGES))
        hits.append(
            hit(rng, account, crawler, f"https://{HOST}{path}", PAGES[path][0], "", moment())
        )
    for meta in [None] * 5 + [{"Sec-Purpose": "prefetch;prerender"}] * 5:
        visitor = someone(NOISE_NETWORKS["unknown"][0], HEADLESS_AGENT if meta is None else None)
        hits.append(
            hit(rng, account, visitor, f"https://{HOST}/", PAGES["/"][0], "", moment(), meta)
        )
    for kind in ("isp", "mobile", "hosting", "unknown"):
        for _ in range(15):
            visit = _visit(rng, someone(NOISE_NETWORKS[kind][0]), moment())
            hits += visit_hits(rng, account, visit)
    return hits


def waiting_hits(rng: random.Random, account: Account, today: date) -> list[IncomingHit]:
    """Pageviews the tracker delivered yesterday that no pipeline has processed yet."""
    start = datetime.combine(today - timedelta(days=1), time(9), tzinfo=UTC)
    hits = []
    for number in range(3):
        visitor = Visitor(
            f"LF1.1.{rng.randbytes(8).hex()}.{int(start.timestamp() * 1000)}",
            [],
            [],
            AGENTS["desktop"][0],
            f"198.51.100.{rng.randint(2, 254)}",  # TEST-NET-2: never a real company
        )
        at = start + timedelta(hours=number * 3)
        for path in rng.sample(list(PAGES), 4):
            at += timedelta(seconds=rng.randint(20, 180))
            hits.append(hit(rng, account, visitor, f"https://{HOST}{path}", PAGES[path][0], "", at))
    return hits


def write_databases(directory: Path, offices: Sequence[CityEntry]) -> tuple[Path, Path]:
    """The ASN and City MMDB files the demo's identification reads: the noise networks' AS
    (so they are told apart from companies) and every network's place."""
    asn = [entry for _, entry in NOISE_NETWORKS.values() if entry is not None]
    places = [
        CityEntry(str(NOISE_NETWORKS["isp"][0]), "US", "United States", "Ohio", "OH", "Columbus"),
        CityEntry(str(NOISE_NETWORKS["mobile"][0]), "US", "United States", "Texas", "TX", "Dallas"),
        CityEntry(
            str(NOISE_NETWORKS["hosting"][0]), "US", "United States", "Virginia", "VA", "Ashburn"
        ),
        CityEntry(str(NOISE_NETWORKS["unknown"][0]), "DE", "Germany", "Hesse", None, "Frankfurt"),
    ]
    return (
        write_asn_mmdb(directory / "demo-asn.mmdb", asn),
        write_city_mmdb(directory / "demo-city.mmdb", [*offices, *places]),
    )
