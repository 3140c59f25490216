"""The demo: three sample accounts, a few hundred companies with full firmographics and IP
ranges, thousands of visits over the last 90 days, annotated and followed leads, custom feeds
using every criterion type, and one account that has tracker hits but no visits yet.

The visits are not written directly: the website's traffic is generated as tracker events
(``demo.traffic``), appended through ingest and turned into visits by the pipeline,
which identifies each company by the IP ranges the company import loaded and locates it with
the City database the demo writes under ``<data_dir>/demo`` (beside an ASN database that
tells home broadband, phones and cloud servers apart). So a new user sees the whole path
work, drops included.

Everything is drawn from ``random.Random(SEED)`` and placed relative to ``today``, so two
loads on the same day into empty stores hold the same data.
"""

from __future__ import annotations

import json
import random
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, time, timedelta
from ipaddress import IPv4Network
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from openfeeder.config import Settings
from openfeeder.demo import traffic
from openfeeder.domain.feeds import INDUSTRIES
from openfeeder.domain.ids import base58, lead_id, location_id
from openfeeder.domain.models import Account, Company, Location, User
from openfeeder.identify.companies import import_companies
from openfeeder.identify.mmdb import CityEntry
from openfeeder.ingest.append import IncomingHit, Ingestor
from openfeeder.pipeline import make_pipeline
from openfeeder.services import admin
from openfeeder.services.feeds import create_feed
from openfeeder.store import accounts as accounts_store
from openfeeder.store.admin import annotate_leads, follow_leads
from openfeeder.store.db import Database

SEED = 6002
DEMO_EMAIL = "demo@example.com"
DEMO_NAME = "Sample User"
COMPANY_COUNT = 330
APPEND_CHUNK = 5000  # hits per ingest transaction: few commits, bounded statement size


@dataclass(frozen=True)
class DemoResult:
    user: User
    token: str
    accounts: list[Account]
    created: bool  # False when the demo was already there and only a token was added


def load_demo(db: Database, settings: Settings, today: date | None = None) -> DemoResult:
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
    leads = _leads(rng, companies, day)
    files = settings.data_dir / "demo"
    files.mkdir(parents=True, exist_ok=True)
    import_companies(db, _company_file(files / "demo-companies.jsonl", companies, leads))
    asn, city = traffic.write_databases(files, [_city_entry(lead) for lead in leads])

    hits = [
        hit
        for lead in leads
        for visit in traffic.plan_visits(rng, lead.visitors, lead.zone, day)
        for hit in traffic.visit_hits(rng, website, visit)
    ]
    hits += traffic.noise(rng, website, day)
    ingestor = Ingestor(settings, db)
    _append(ingestor, hits)
    _process(db, settings, asn, city)
    with db.write() as conn:
        annotate_leads(conn, website.id, _notes(rng, leads))
    # Appended once the pipeline is done, so they wait: the account shows "reporting".
    _append(ingestor, traffic.waiting_hits(rng, another, day))

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


def _append(ingestor: Ingestor, hits: list[IncomingHit]) -> None:
    """Through ingest, in the order the tracker would have delivered them."""
    ordered = sorted(hits, key=lambda hit: hit.received_at)
    for start in range(0, len(ordered), APPEND_CHUNK):
        ingestor.append_many(ordered[start : start + APPEND_CHUNK])


def _process(db: Database, settings: Settings, asn: Path, city: Path) -> None:
    """Run the pipeline until no hit is left, identifying with the demo's own data only
    (no reverse DNS or enrichment: the demo's addresses are not on the internet)."""
    demo_settings = settings.model_copy(
        update={
            "asn_mmdb": asn,
            "city_mmdb": city,
            "reverse_dns": False,
            "enrichment_url": None,
            "pipeline_batch_size": APPEND_CHUNK,
        }
    )
    pipeline = make_pipeline(demo_settings, db)
    try:
        while pipeline.run_once():
            pass
    finally:
        pipeline.close()


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
    network: IPv4Network  # the office's addresses, in the company's ranges
    visitors: list[traffic.Visitor]


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


def _leads(rng: random.Random, companies: Sequence[_DemoCompany], today: date) -> list[_DemoLead]:
    """One lead per company at its head office; some large companies also visit from a
    second office, which the API shows as a second lead of the same company. Each office
    has its own network, so the City database places its visitors there."""
    out = []
    networks = traffic.office_networks()
    # Visitors were first seen (got their cookie) up to a month before the demo's first visit.
    epoch = datetime.combine(today, time(), tzinfo=UTC) - timedelta(days=traffic.DAYS + 30)
    for demo in companies:
        places = [demo.home]
        employees = demo.company.employee_count or 0
        if employees > 1000 and len(demo.country.places) > 1 and rng.random() < 0.4:
            places.append((demo.home + 1) % len(demo.country.places))
        for place in places:
            location, zone = _location(demo.country, place)
            network = next(networks)
            count = rng.choices((1, 2, 3), (60, 30, 10))[0]
            visitors = [
                traffic.new_visitor(
                    rng, epoch + timedelta(minutes=rng.randrange(30 * 24 * 60)), network
                )
                for _ in range(count)
            ]
            lead = lead_id(demo.company.id, location.id)
            out.append(_DemoLead(lead, demo, location, zone, network, visitors))
    return out


def _company_file(
    path: Path, companies: Sequence[_DemoCompany], leads: Sequence[_DemoLead]
) -> Path:
    """The companies as a company-import file (JSON lines), with their offices' ranges."""
    ranges: dict[str, list[str]] = {}
    for lead in leads:
        ranges.setdefault(lead.company.company.id, []).append(str(lead.network))
    lines = [
        json.dumps(asdict(demo.company) | {"ranges": ranges[demo.company.id]}, ensure_ascii=False)
        for demo in companies
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _city_entry(lead: _DemoLead) -> CityEntry:
    place = lead.location
    return CityEntry(
        str(lead.network),
        place.country_code or "",
        place.country or "",
        place.region,
        place.state_code,
        place.city,
    )


# --- Annotations and feeds ----------------------------------------------------------------

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
