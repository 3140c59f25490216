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
import secrets
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, time, timedelta
from ipaddress import IPv4Network
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from openfeeder.config import Settings
from openfeeder.demo import firmographics, traffic
from openfeeder.demo.firmographics import DemoCompany
from openfeeder.domain.feeds import INDUSTRIES
from openfeeder.domain.ids import lead_id
from openfeeder.domain.models import Account, Location, User
from openfeeder.identify.companies import import_companies
from openfeeder.identify.mmdb import CityEntry
from openfeeder.ingest.append import IncomingHit, Ingestor
from openfeeder.pipeline import make_pipeline
from openfeeder.services import admin, signin
from openfeeder.services.feeds import create_feed
from openfeeder.store import accounts as accounts_store
from openfeeder.store.admin import annotate_leads, follow_leads
from openfeeder.store.db import Database

SEED = 6002
DEMO_EMAIL = "demo@example.com"
DEMO_NAME = "Sample User"
APPEND_CHUNK = 5000  # hits per ingest transaction: few commits, bounded statement size


@dataclass(frozen=True)
class DemoResult:
    user: User
    token: str
    password: str  # the demo user's dashboard password, new on every run
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
        return DemoResult(existing, token, _new_password(db), accounts, created=False)

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
    companies = [firmographics.company(rng, *named) for named in firmographics.company_names(rng)]
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
    return DemoResult(user, token, _new_password(db), [sample, website, another], created=True)


def _new_password(db: Database) -> str:
    """A fresh random dashboard password for the demo user (a fixed one would be known to
    everyone who read this code, on a demo that may listen on a public address)."""
    password = secrets.token_urlsafe(12)
    signin.set_password(db, DEMO_EMAIL, password)
    return password


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


# --- Leads ------------------------------------------------------------------------------


@dataclass(frozen=True)
class _DemoLead:
    id: str
    company: DemoCompany
    location: Location
    zone: ZoneInfo
    network: IPv4Network  # the office's addresses, in the company's ranges
    visitors: list[traffic.Visitor]


def _leads(rng: random.Random, companies: Sequence[DemoCompany], today: date) -> list[_DemoLead]:
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
            location, zone = firmographics.location(demo.country, place)
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


def _company_file(path: Path, companies: Sequence[DemoCompany], leads: Sequence[_DemoLead]) -> Path:
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
