"""The demo's firmographic tables: the countries its companies are in (with their legal
forms, phone and business-id formats, offices and time zones), industry profiles, employee
bands, and how a company is drawn from them."""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from openfeeder.domain.feeds import INDUSTRIES
from openfeeder.domain.ids import base58, location_id
from openfeeder.domain.models import Company, Location

COMPANY_COUNT = 330


@dataclass(frozen=True)
class Country:
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
    Country("United States", "US", 30, "com", "USD", "Inc.", "+1##########", "EIN ##-#######", (
        ("New York", "New York", "NY", "America/New_York"),
        ("California", "San Francisco", "CA", "America/Los_Angeles"),
        ("California", "Los Angeles", "CA", "America/Los_Angeles"),
        ("Massachusetts", "Boston", "MA", "America/New_York"),
        ("Texas", "Austin", "TX", "America/Chicago"),
        ("Illinois", "Chicago", "IL", "America/Chicago"),
        ("Washington", "Seattle", "WA", "America/Los_Angeles"))),
    Country("United Kingdom", "GB", 12, "co.uk", "GBP", "Ltd", "+4420########",
             "Company No. ########", (
        ("England", "London", None, "Europe/London"),
        ("England", "Manchester", None, "Europe/London"),
        ("Scotland", "Edinburgh", None, "Europe/London"))),
    Country("Germany", "DE", 10, "de", "EUR", "GmbH", "+4930#######", "HRB ######", (
        ("Berlin", "Berlin", None, "Europe/Berlin"),
        ("Bavaria", "Munich", None, "Europe/Berlin"),
        ("Hamburg", "Hamburg", None, "Europe/Berlin"))),
    Country("Finland", "FI", 10, "fi", "EUR", "Oy", "+3589########", "Y-tunnus #######-#", (
        ("Uusimaa", "Helsinki", None, "Europe/Helsinki"),
        ("Uusimaa", "Espoo", None, "Europe/Helsinki"),
        ("Pirkanmaa", "Tampere", None, "Europe/Helsinki"),
        ("Southwest Finland", "Turku", None, "Europe/Helsinki"))),
    Country("Netherlands", "NL", 7, "nl", "EUR", "B.V.", "+3120#######", "KVK Number ########", (
        ("North Holland", "Amsterdam", None, "Europe/Amsterdam"),
        ("South Holland", "Rotterdam", None, "Europe/Amsterdam"))),
    Country("Sweden", "SE", 6, "se", "SEK", "AB", "+468########", "Org.nr 556###-####", (
        ("Stockholm County", "Stockholm", None, "Europe/Stockholm"),
        ("Västra Götaland County", "Gothenburg", None, "Europe/Stockholm"))),
    Country("Canada", "CA", 6, "ca", "CAD", "Ltd.", "+1416#######", "BN #########", (
        ("Ontario", "Toronto", None, "America/Toronto"),
        ("British Columbia", "Vancouver", None, "America/Vancouver"),
        ("Quebec", "Montreal", None, "America/Toronto"))),
    Country("France", "FR", 5, "fr", "EUR", "SAS", "+331########", "SIREN ### ### ###", (
        ("Île-de-France", "Paris", None, "Europe/Paris"),
        ("Auvergne-Rhône-Alpes", "Lyon", None, "Europe/Paris"))),
    Country("Australia", "AU", 5, "com.au", "AUD", "Pty Ltd", "+612########",
             "ABN ## ### ### ###", (
        ("New South Wales", "Sydney", None, "Australia/Sydney"),
        ("Victoria", "Melbourne", None, "Australia/Melbourne"))),
    Country("Spain", "ES", 3, "es", "EUR", "S.L.", "+3491#######", "CIF B########", (
        ("Community of Madrid", "Madrid", None, "Europe/Madrid"),
        ("Catalonia", "Barcelona", None, "Europe/Madrid"))),
    Country("Norway", "NO", 3, "no", "NOK", "AS", "+4722######", "Org.nr 9## ### ###", (
        ("Oslo", "Oslo", None, "Europe/Oslo"),)),
    Country("Denmark", "DK", 3, "dk", "DKK", "ApS", "+4533######", "CVR ########", (
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
class DemoCompany:
    company: Company
    country: Country
    home: int  # index of its head office in country.places


def digits(rng: random.Random, template: str) -> str:
    return "".join(str(rng.randrange(10)) if ch == "#" else ch for ch in template)


def company_names(
    rng: random.Random, count: int = COMPANY_COUNT
) -> Iterator[tuple[str, int, Country]]:
    """Unique names such as "Polar Logistics", each with an industry code and a country."""
    codes = list(INDUSTRY_PROFILES)
    weights = [INDUSTRY_PROFILES[code][0] for code in codes]
    seen: set[str] = set()
    while len(seen) < count:
        code = rng.choices(codes, weights)[0]
        name = f"{rng.choice(FIRST_WORDS)} {rng.choice(INDUSTRY_PROFILES[code][1])}"
        country = rng.choices(COUNTRIES, [c.weight for c in COUNTRIES])[0]
        if name not in seen:
            seen.add(name)
            yield name, code, country


def company(rng: random.Random, base: str, code: int, country: Country) -> DemoCompany:
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
        phone=digits(rng, country.phone),
        linkedin_url=f"https://www.linkedin.com/company/{'-'.join(words).lower()}",
        twitter_handle=camel[:15],
        facebook_url=f"https://www.facebook.com/{camel}",
        logo_url=f"https://logos.example.com/{dealfront_id}.png",
        employee_count=employees,
        employees_min=low,
        employees_max=high,
        revenue=f"{country.currency} {float(revenue)}",
        business_id=digits(rng, country.business_id),
    )
    return DemoCompany(company, country, rng.randrange(len(country.places)))


def location(country: Country, place: int) -> tuple[Location, ZoneInfo]:
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
