"""The demo: three sample accounts, a few hundred companies with full firmographics, thousands
of visits over the last 90 days, annotated and followed leads, custom feeds using every
criterion type, and one account that has tracker hits but no visits yet.

Everything is drawn from ``random.Random(SEED)`` and placed relative to ``today``, so two
loads on the same day into empty stores hold the same data. Visits go through
``services.visits.record_visits`` like the pipeline's, so leads and statistics are real.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from openfeeder.domain.feeds import INDUSTRIES
from openfeeder.domain.ids import base58, lead_id, location_id
from openfeeder.domain.models import Account, Company, Location, NewVisit, RouteStep, User
from openfeeder.services import admin
from openfeeder.services.feeds import create_feed
from openfeeder.services.visits import record_visits, route_step
from openfeeder.store import accounts as accounts_store
from openfeeder.store.admin import annotate_leads, follow_leads, insert_hits
from openfeeder.store.companies import upsert_companies
from openfeeder.store.db import Database

SEED = 6002
DEMO_EMAIL = "demo@example.com"
DEMO_NAME = "Sample User"
HOST = "www.example.com"
COMPANY_COUNT = 330
DAYS = 90
BATCH = 2000  # visits per record_visits call: few transactions, bounded statement size
# Names in visit ids, so a second demo in a store that kept old visits never reuses one.
_VISIT_IDS = uuid.UUID("6f0e1a5c-3d1b-4a57-9a55-0d3f2c6a7b10")


@dataclass(frozen=True)
class DemoResult:
    user: User
    token: str
    accounts: list[Account]
    created: bool  # False when the demo was already there and only a token was added


def load_demo(db: Database, today: date | None = None) -> DemoResult:
    """Load the demo into a migrated store, or, if it is there, issue a fresh token."""
    day = today or datetime.now(UTC).date()
    with db.read() as conn:
        existing = accounts_store.user_by_email(conn, DEMO_EMAIL)
        accounts = accounts_store.accounts_of_user(conn, existing.id) if existing else []
    if existing is not None:
        _, token = admin.create_token(db, DEMO_EMAIL)
        return DemoResult(existing, token, accounts, created=False)

    rng = random.Random(SEED)
    sample = admin.create_account(
        db, name="Sample account", subscription="lite", timezone="Europe/Helsinki"
    )
    website = admin.create_account(
        db, name="Sample website", subscription="premium", timezone="America/New_York"
    )
    another = admin.create_account(
        db, name="Another account", subscription="premium", timezone="UTC", on_trial=True
    )
    companies = [_company(rng, *named) for named in _company_names(rng)]
    with db.write() as conn:
        upsert_companies(conn, [c.company for c in companies])
    leads = _leads(rng, companies, day)
    visits = [v for n, lead in enumerate(leads) for v in _lead_visits(rng, website, lead, n, day)]
    for start in range(0, len(visits), BATCH):
        record_visits(db, visits[start : start + BATCH])
    with db.write() as conn:
        annotate_leads(conn, website.id, _notes(rng, leads))
        insert_hits(conn, _hits(rng, another, day))
    # The user's existence marks a loaded demo, so it is created only once the bulk is in: a
    # load interrupted before here is simply redone (into new accounts) by the next run.
    user = admin.create_user(db, DEMO_EMAIL, DEMO_NAME)
    for account in (sample, website, another):
        admin.add_member(db, DEMO_EMAIL, account.id)
    followed = rng.sample(leads, 24)
    with db.write() as conn:
        follow_leads(conn, user.id, website.id, [lead.id for lead in followed])
    for account, name, criteria in _feeds(user, sample, website, another):
        create_feed(db, account, name, criteria)
    _, token = admin.create_token(db, DEMO_EMAIL)
    return DemoResult(user, token, [sample, website, another], created=True)


# --- Companies ----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Country:
    name: str
    code: str
    weight: int
    tld: str
    currency: str
    suffix: str  # legal form appended to the name
    phone: str  # template: each "#" becomes a digit
    business_id: str  # template likewise
    places: tuple[tuple[str, str, str | None, str], ...]  # region, city, state code, zone


# One row per country: the formatter is kept off so the table reads as rows.
# fmt: off
COUNTRIES = (
    _Country("United States", "US", 30, "com", "USD", "Inc.", "+1##########", "EIN ##-#######", (
        ("New York", "New York", "NY", "America/New_York"),
        ("California", "San Francisco", "CA", "America/Los_Angeles"),
        ("California", "Los Angeles", "CA", "America/Los_Angeles"),
        ("Massachusetts", "Boston", "MA", "America/New_York"),
        ("Texas", "Austin", "TX", "America/Chicago"),
        ("Illinois", "Chicago", "IL", "America/Chicago"),
        ("Washington", "Seattle", "WA", "America/Los_Angeles"))),
    _Country("United Kingdom", "GB", 12, "co.uk", "GBP", "Ltd", "+4420########",
             "Company No. ########", (
        ("England", "London", None, "Europe/London"),
        ("England", "Manchester", None, "Europe/London"),
        ("Scotland", "Edinburgh", None, "Europe/London"))),
    _Country("Germany", "DE", 10, "de", "EUR", "GmbH", "+4930#######", "HRB ######", (
        ("Berlin", "Berlin", None, "Europe/Berlin"),
        ("Bavaria", "Munich", None, "Europe/Berlin"),
        ("Hamburg", "Hamburg", None, "Europe/Berlin"))),
    _Country("Finland", "FI", 10, "fi", "EUR", "Oy", "+3589########", "Y-tunnus #######-#", (
        ("Uusimaa", "Helsinki", None, "Europe/Helsinki"),
        ("Uusimaa", "Espoo", None, "Europe/Helsinki"),
        ("Pirkanmaa", "Tampere", None, "Europe/Helsinki"),
        ("Southwest Finland", "Turku", None, "Europe/Helsinki"))),
    _Country("Netherlands", "NL", 7, "nl", "EUR", "B.V.", "+3120#######", "KVK Number ########", (
        ("North Holland", "Amsterdam", None, "Europe/Amsterdam"),
        ("South Holland", "Rotterdam", None, "Europe/Amsterdam"))),
    _Country("Sweden", "SE", 6, "se", "SEK", "AB", "+468########", "Org.nr 556###-####", (
        ("Stockholm County", "Stockholm", None, "Europe/Stockholm"),
        ("Västra Götaland County", "Gothenburg", None, "Europe/Stockholm"))),
    _Country("Canada", "CA", 6, "ca", "CAD", "Ltd.", "+1416#######", "BN #########", (
        ("Ontario", "Toronto", None, "America/Toronto"),
        ("British Columbia", "Vancouver", None, "America/Vancouver"),
        ("Quebec", "Montreal", None, "America/Toronto"))),
    _Country("France", "FR", 5, "fr", "EUR", "SAS", "+331########", "SIREN ### ### ###", (
        ("Île-de-France", "Paris", None, "Europe/Paris"),
        ("Auvergne-Rhône-Alpes", "Lyon", None, "Europe/Paris"))),
    _Country("Australia", "AU", 5, "com.au", "AUD", "Pty Ltd", "+612########",
             "ABN ## ### ### ###", (
        ("New South Wales", "Sydney", None, "Australia/Sydney"),
        ("Victoria", "Melbourne", None, "Australia/Melbourne"))),
    _Country("Spain", "ES", 3, "es", "EUR", "S.L.", "+3491#######", "CIF B########", (
        ("Community of Madrid", "Madrid", None, "Europe/Madrid"),
        ("Catalonia", "Barcelona", None, "Europe/Madrid"))),
    _Country("Norway", "NO", 3, "no", "NOK", "AS", "+4722######", "Org.nr 9## ### ###", (
        ("Oslo", "Oslo", None, "Europe/Oslo"),)),
    _Country("Denmark", "DK", 3, "dk", "DKK", "ApS", "+4533######", "CVR ########", (
        ("Capital Region of Denmark", "Copenhagen", None, "Europe/Copenhagen"),)),
)

# Legacy industry code → (weight, words a company name ends with, current industries).
INDUSTRY_PROFILES: dict[int, tuple[int, tuple[str, ...], tuple[str, ...]]] = {
    1: (3, ("Accounting", "Audit", "Ledger"), ("Accounting",)),
    2: (8, ("Media", "Creative", "Marketing"), ("Advertising Services", "Marketing Services")),
    3: (10, ("Digital", "Networks", "Tech", "Computing"),
        ("Technology, Information and Internet", "IT Services and IT Consulting")),
    4: (3, ("Construction", "Builders"), ("Construction", "Civil Engineering")),
    5: (3, ("Academy", "Learning"), ("Education", "E-Learning Providers")),
    6: (7, ("Capital", "Finance", "Fintech"), ("Financial Services", "Investment Management")),
    7: (4, ("Health", "Medical", "Care"), ("Hospitals and Health Care", "Medical Practices")),
    8: (4, ("Telecom", "Mobile", "Communications"), ("Telecommunications", "Wireless Services")),
    9: (7, ("Industries", "Robotics", "Works"),
        ("Manufacturing", "Industrial Machinery Manufacturing")),
    10: (3, ("Publishing", "Press", "Studios"),
         ("Book and Periodical Publishing", "Online Audio and Video Media")),
    11: (4, ("Retail", "Goods", "Stores"), ("Retail", "Online and Mail Order Retail")),
    12: (5, ("Logistics", "Freight", "Transport"),
         ("Transportation, Logistics, Supply Chain and Storage",
          "Freight and Package Transportation")),
    13: (3, ("Energy", "Power", "Solar"), ("Utilities", "Renewable Energy Power Generation")),
    14: (2, ("Legal", "Law"), ("Law Practice", "Legal Services")),
    15: (2, ("Properties", "Realty"), ("Real Estate", "Leasing Non-residential Real Estate")),
    16: (8, ("Consulting", "Advisors", "Partners"),
         ("Business Consulting and Services", "Strategic Management Services")),
    17: (1, ("Public Services",), ("Government Administration",)),
    18: (2, ("Hotels", "Travel"), ("Hospitality", "Hotels and Motels")),
    19: (1, ("Foundation", "Alliance"), ("Non-profit Organizations",)),
    20: (15, ("Software", "Labs", "Cloud", "Data", "Technologies"),
         ("Technology, Information and Internet", "Software Development")),
}
FIRST_WORDS = (
    "Apex", "Atlas", "Aurora", "Blue", "Bright", "Cedar", "Copper", "Crimson", "Delta", "Echo",
    "Evergreen", "Falcon", "Fjord", "Glacier", "Granite", "Harbor", "Helix", "Highland",
    "Indigo", "Ironwood", "Juniper", "Kestrel", "Keystone", "Lakeside", "Lighthouse", "Lumen",
    "Maple", "Meridian", "Mosaic", "Nimbus", "Nordic", "North", "Northwind", "Oak", "Onyx",
    "Orbit", "Pinnacle", "Pioneer", "Polar", "Quantum", "Redwood", "River", "Sapphire",
    "Silver", "Stone", "Summit", "Tidal", "Tundra", "Union", "Vantage", "Vertex", "Willow",
    "Zenith", "Arctic", "Beacon", "Cobalt", "Ember", "Horizon", "Lynx", "Sterling",
)
# Employee bands as the API's employees_range shows them (None: no upper bound), by weight.
EMPLOYEE_BANDS: tuple[tuple[int, int | None, int], ...] = (
    (1, 10, 10), (11, 50, 22), (51, 200, 25), (201, 500, 16), (501, 1000, 10),
    (1001, 5000, 10), (5001, 10000, 4), (10001, None, 3),
)
# fmt: on


@dataclass(frozen=True)
class _DemoCompany:
    company: Company
    country: _Country
    home: int  # index of its head office in country.places


@dataclass(frozen=True)
class _DemoLead:
    id: str
    company: _DemoCompany
    location: Location
    zone: ZoneInfo
    visitors: list[_Visitor]


@dataclass(frozen=True)
class _Visitor:
    lf_client_id: str
    ga_client_ids: list[str]
    adobe_cookies: list[dict[str, str]] | None
    device_type: str


def _digits(rng: random.Random, template: str) -> str:
    return "".join(str(rng.randrange(10)) if ch == "#" else ch for ch in template)


def _company_names(rng: random.Random) -> Iterator[tuple[str, int, _Country]]:
    """Unique names such as "Polar Logistics", each with an industry code and a country."""
    codes = list(INDUSTRY_PROFILES)
    weights = [INDUSTRY_PROFILES[code][0] for code in codes]
    seen: set[str] = set()
    while len(seen) < COMPANY_COUNT:
        code = rng.choices(codes, weights)[0]
        name = f"{rng.choice(FIRST_WORDS)} {rng.choice(INDUSTRY_PROFILES[code][1])}"
        country = rng.choices(COUNTRIES, [c.weight for c in COUNTRIES])[0]
        if name not in seen:
            seen.add(name)
            yield name, code, country


def _company(rng: random.Random, base: str, code: int, country: _Country) -> _DemoCompany:
    words = base.split()
    slug = "".join(words).lower()
    camel = "".join(words)
    low, high, _ = rng.choices(EMPLOYEE_BANDS, [band[2] for band in EMPLOYEE_BANDS])[0]
    employees = rng.randint(low, high if high is not None else 80_000)
    revenue = employees * rng.randint(60_000, 260_000)
    dealfront_id = base58(rng.randbytes(8))[:10]
    company = Company(
        id=str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        name=f"{base} {country.suffix}",
        domain=f"{slug}.{country.tld}",
        website_url=f"https://www.{slug}.{country.tld}",
        industry=INDUSTRIES[code],
        industry_code=code,
        industries=list(INDUSTRY_PROFILES[code][2]),
        dealfront_id=dealfront_id,
        phone=_digits(rng, country.phone),
        linkedin_url=f"https://www.linkedin.com/company/{'-'.join(words).lower()}",
        twitter_handle=camel[:15],
        facebook_url=f"https://www.facebook.com/{camel}",
        logo_url=f"https://logos.example.com/{dealfront_id}.png",
        employee_count=employees,
        employees_min=low,
        employees_max=high,
        revenue=f"{country.currency} {float(revenue)}",
        business_id=_digits(rng, country.business_id),
    )
    return _DemoCompany(company, country, rng.randrange(len(country.places)))


def _location(country: _Country, place: int) -> tuple[Location, ZoneInfo]:
    region, city, state_code, zone = country.places[place]
    location = Location(
        id=location_id(country.code, region, city),
        country=country.name,
        country_code=country.code,
        region=region,
        region_code=None,  # the seed: "currently not used"
        city=city,
        state_code=state_code,
    )
    return location, ZoneInfo(zone)


def _visitor(rng: random.Random, first_seen: datetime) -> _Visitor:
    millis = int(first_seen.timestamp() * 1000)
    ga = [f"{rng.randint(10**8, 2 * 10**9)}.{millis // 1000}"] if rng.random() < 0.8 else []
    adobe = None
    if rng.random() < 0.05:
        adobe = [
            {
                "MCMID": _digits(rng, "#" * 38),
                "MCAAMB": base58(rng.randbytes(12)),
                "MCAAMLH": str(rng.choice((6, 7, 9, 11))),
            }
        ]
    device = rng.choices(("desktop", "smartphone", "tablet"), (68, 24, 8))[0]
    return _Visitor(f"LF1.1.{rng.randbytes(8).hex()}.{millis}", ga, adobe, device)


def _leads(rng: random.Random, companies: Sequence[_DemoCompany], today: date) -> list[_DemoLead]:
    """One lead per company at its head office; some large companies also visit from a
    second office, which the API shows as a second lead of the same company."""
    out = []
    # Visitors were first seen (got their cookie) up to a month before the demo's first visit.
    epoch = datetime.combine(today, time(), tzinfo=UTC) - timedelta(days=DAYS + 30)
    for demo in companies:
        places = [demo.home]
        employees = demo.company.employee_count or 0
        if employees > 1000 and len(demo.country.places) > 1 and rng.random() < 0.4:
            places.append((demo.home + 1) % len(demo.country.places))
        for place in places:
            location, zone = _location(demo.country, place)
            count = rng.choices((1, 2, 3), (60, 30, 10))[0]
            visitors = [
                _visitor(rng, epoch + timedelta(minutes=rng.randrange(30 * 24 * 60)))
                for _ in range(count)
            ]
            out.append(
                _DemoLead(lead_id(demo.company.id, location.id), demo, location, zone, visitors)
            )
    return out


# --- Visits -------------------------------------------------------------------------------

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
TRAFFIC = {"organic": 30, "direct": 22, "cpc": 15, "referral": 13, "social": 10, "email": 10}
LANDINGS = {
    "organic": [*BLOG_POSTS, "/", "/product/visitor-identification/", "/pricing/"],
    "direct": ["/", "/", "/pricing/", "/docs/api/", "/signup/", "/product/"],
    "cpc": ["/", "/pricing/", "/demo/"],
    "referral": ["/", "/pricing/", "/customers/", "/product/integrations/"],
    "social": [*BLOG_POSTS, "/customers/polar-logistics/", "/webinars/"],
    "email": [*BLOG_POSTS, "/webinars/", "/product/integrations/"],
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
REFERRERS = (
    ("g2.com", "https://www.g2.com/products/example-analytics/reviews"),
    ("capterra.com", "https://www.capterra.com/p/123456/Example-Analytics/"),
    ("news.ycombinator.com", "https://news.ycombinator.com/item?id=41234567"),
    ("medium.com", "https://medium.com/@growth/visitor-identification-tools-compared"),
    ("producthunt.com", "https://www.producthunt.com/products/example-analytics"),
)


def _slug(text: str) -> str:
    return text.lower().replace(" ", "-")


def _lead_visits(
    rng: random.Random, account: Account, lead: _DemoLead, number: int, today: date
) -> list[NewVisit]:
    """A lead's visits: a heavy-tailed count, spread from its first day until yesterday."""
    low, high = rng.choices(((1, 3), (4, 8), (9, 20), (21, 40), (41, 80)), (35, 30, 20, 12, 3))[0]
    count = rng.randint(low, high)
    first_offset = rng.randint(1, DAYS - 1)
    midnight = datetime.combine(today, time(), tzinfo=UTC)
    visits = []
    for index in range(count):
        offset = first_offset if index == 0 else rng.randint(1, first_offset)
        local_day = today - timedelta(days=offset)
        local = datetime.combine(
            local_day,
            time(rng.choices(range(24), HOURS)[0], rng.randrange(60), rng.randrange(60)),
            tzinfo=lead.zone,
        )
        started = local.astimezone(UTC)
        if started >= midnight:  # west of UTC, a late local "yesterday" can be today in UTC
            started -= timedelta(days=1)
        visitor = rng.choice(lead.visitors)
        visits.append(
            NewVisit(
                id=str(uuid.uuid5(_VISIT_IDS, f"{account.id}/{number}/{index}")),
                account_id=account.id,
                company_id=lead.company.company.id,
                location=lead.location,
                started_at=started,
                lf_client_id=visitor.lf_client_id,
                ga_client_ids=visitor.ga_client_ids,
                adobe_cookies=visitor.adobe_cookies,
                device_type=visitor.device_type,
                match_source="demo",
                match_reason="Generated by `openfeeder demo`.",
                **_traffic(rng),
            )
        )
    return visits


def _traffic(rng: random.Random) -> dict[str, Any]:
    """Source, medium, campaign, keyword and referrer of one visit, plus its route."""
    kind = rng.choices(list(TRAFFIC), list(TRAFFIC.values()))[0]
    landing = rng.choice(LANDINGS[kind])
    out: dict[str, Any] = {}
    query = ""
    match kind:
        case "organic":
            out = {"source": "Google", "medium": "organic", "keyword": rng.choice(KEYWORDS)}
            out["referring_url"] = "https://www.google.com/"
        case "cpc":
            campaign = rng.choice(CAMPAIGNS)
            out = {"source": "Google", "medium": "cpc", "campaign": campaign}
            out |= {"keyword": rng.choice(KEYWORDS), "query_term": rng.choice(QUERY_TERMS)}
            query = f"?utm_source=google&utm_medium=cpc&utm_campaign={_slug(campaign)}"
        case "social":
            out = {"source": "LinkedIn", "medium": "social"}
            out["referring_url"] = "https://www.linkedin.com/"
        case "email":
            campaign = rng.choice(EMAIL_CAMPAIGNS)
            out = {"source": "Newsletter", "medium": "email", "campaign": campaign}
            query = f"?utm_source=newsletter&utm_medium=email&utm_campaign={_slug(campaign)}"
        case "referral":
            source, url = rng.choice(REFERRERS)
            out = {"source": source, "medium": "referral", "referring_url": url}
        case _:
            out = {"source": "(direct)", "medium": "(none)"}
    out["route"] = _route(rng, landing, query)
    return out


def _route(rng: random.Random, landing: str, query: str) -> list[RouteStep]:
    depth = 1 if rng.random() < 0.35 else rng.choices(range(2, 10), (25, 20, 15, 10, 8, 6, 4, 2))[0]
    paths = [landing]
    while len(paths) < depth:
        here = paths[-1]
        if here.startswith("/blog/") and rng.random() < 0.5:
            choices = [post for post in BLOG_POSTS if post != here]
            paths.append(rng.choice(choices))
            continue
        options = [(path, weight) for path, weight in NEXT_PAGES.items() if path != here]
        paths.append(rng.choices([p for p, _ in options], [w for _, w in options])[0])
    steps = []
    for position, path in enumerate(paths):
        title, typical = PAGES[path]
        last = position == len(paths) - 1
        # Like the seed (and analytics tools), the exit page's time is unknown: 0 seconds.
        seconds = 0 if last else max(3, int(rng.gauss(typical, typical / 2)))
        url = f"https://{HOST}{path}{query if position == 0 else ''}"
        steps.append(route_step(url, title, seconds))
    return steps


# --- Annotations, hits and feeds ----------------------------------------------------------

ASSIGNEES = ("anna.lindqvist@example.com", "ben.carter@example.com", DEMO_EMAIL)
TAGS = ("hot", "enterprise", "partner", "competitor", "existing customer", "nurture")


def _notes(rng: random.Random, leads: Sequence[_DemoLead]) -> list[dict[str, Any]]:
    """What a sales team would have added: assignees, tags, CRM ids, forwarded emails."""
    notes = []
    for lead in leads:
        crm = rng.random() < 0.1
        note = {
            "lead_id": lead.id,
            "assignee": rng.choice(ASSIGNEES) if rng.random() < 0.15 else None,
            "tags": rng.sample(TAGS, rng.randint(1, 2)) if rng.random() < 0.2 else [],
            "crm_lead_id": rng.randint(1_000, 99_999) if crm else None,
            "crm_organization_id": rng.randint(100, 9_999) if crm and rng.random() < 0.6 else None,
            "emailed_to": (
                ",".join(rng.sample(ASSIGNEES, rng.randint(1, 2))) if rng.random() < 0.08 else None
            ),
        }
        if note["assignee"] or note["tags"] or crm or note["emailed_to"]:
            notes.append(note)
    return notes


def _hits(rng: random.Random, account: Account, today: date) -> list[dict[str, Any]]:
    """Pageviews the tracker delivered yesterday and the pipeline has not processed yet."""
    start = datetime.combine(today - timedelta(days=1), time(9), tzinfo=UTC)
    rows = []
    for visitor in range(3):
        client = f"LF1.1.{rng.randbytes(8).hex()}.{int(start.timestamp() * 1000)}"
        ip = f"198.51.100.{rng.randint(2, 254)}"  # TEST-NET-2: never a real company
        at = start + timedelta(hours=visitor * 3)
        for path in rng.sample(list(PAGES), 4):
            at += timedelta(seconds=rng.randint(20, 180))
            event_id = rng.randbytes(8).hex()
            payload = {
                "event": "tracking-event",
                "context": {
                    "library": {"name": "lftracker", "version": "1.0.0"},
                    "pageUrl": f"https://{HOST}{path}",
                    "pageTitle": PAGES[path][0],
                    "referrer": "",
                },
                "clientEventId": event_id,
                "clientTimestamp": at.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
                "clientTimezone": "Europe/London",
                "scriptId": account.script_hash,
                "cookiesEnabled": True,
                "anonymizeIp": False,
                "lfClientId": client,
                "gaTrackingIds": [],
                "gaClientIds": [],
                "foreignCookies": [],
                "properties": {},
            }
            rows.append(
                {
                    "account_id": account.id,
                    "client_event_id": event_id,
                    "received_at": at,
                    "ip": ip,
                    "user_agent": "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 "
                    "(KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36",
                    "accept_language": "en-GB,en;q=0.9",
                    "payload": payload,
                    "visitor_key": client,
                    "shard": visitor,
                    "processed_at": None,
                }
            )
    return rows


def _criterion(
    kind: str, value: Any, display: Any = None, excluded: bool = False
) -> dict[str, Any]:
    return {
        "criterion_type": kind,
        "search_value": value,
        "excluded": excluded,
        "display_value": value if display is None else display,
    }


def _feeds(
    user: User, sample: Account, website: Account, another: Account
) -> list[tuple[Account, str, list[dict[str, Any]]]]:
    """Custom feeds; the website's feeds together use every criterion type."""
    c = _criterion
    nordics = [("FI", "Finland"), ("SE", "Sweden"), ("NO", "Norway"), ("DK", "Denmark")]
    return [
        (sample, "Canada", [c("country_code", "CA", "Canada")]),
        (another, "Blog", [c("page_url", "/blog/")]),
        (website, "Canada", [c("country_code", "CA", "Canada")]),
        (website, "Blog", [c("page_url", "/blog/")]),
        (website, "Nordics", [c("country_code", code, name) for code, name in nordics]),
        (website, "California", [c("region", "California")]),
        (website, "Helsinki", [c("city", "Helsinki")]),
        (
            website,
            "Software, 51–500 employees",
            [
                c("industry_code", 20, INDUSTRIES[20]),
                c("industry_code", 3, INDUSTRIES[3]),
                c("employee_count", "51-500", "51–500"),
            ],
        ),
        (
            website,
            "Enterprises outside telecom",
            [
                c("employee_count", "1001-", "1001+"),
                c("industry_code", 8, INDUSTRIES[8], excluded=True),
            ],
        ),
        (website, "Tech in the name", [c("company_name", "tech")]),
        (website, "Hot leads", [c("tag", "hot")]),
        (website, "Without competitors", [c("tag", "competitor", excluded=True)]),
        (website, "Assigned to me", [c("assignee", DEMO_EMAIL, user.name)]),
        (
            website,
            "Unassigned returning visitors",
            [c("assignee", 0, "Any assignee", excluded=True), c("visits", 3)],
        ),
        (website, "Followed by me", [c("followed", str(user.id), user.name)]),
        (website, "Pricing readers", [c("page_url", "/pricing/"), c("pageviews", 5)]),
        (website, "Google Ads", [c("source", "Google"), c("medium", "cpc")]),
        (website, "Brand campaigns", [c("campaign", "Brand EU"), c("campaign", "Brand US")]),
        (website, "LinkedIn", [c("source", "LinkedIn")]),
        (website, "Newsletter readers", [c("medium", "email")]),
        (website, "Mobile", [c("device_type", "smartphone"), c("device_type", "tablet")]),
    ]
