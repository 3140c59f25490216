"""What the pipeline tests share: a complete table-driven identifier, browsers that send
tracker events through the real ingest, a small world (account, two companies, identifier,
ingestor) and readers of the store."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from ipaddress import ip_address, ip_network
from typing import Any

import sqlalchemy as sa

from openfeeder.config import Settings
from openfeeder.domain.drops import DropReason
from openfeeder.domain.models import Account, Company, Location
from openfeeder.ingest.append import IncomingHit, Ingestor
from openfeeder.pipeline import STEPS, Pipeline, make_pipeline
from openfeeder.pipeline.steps import Step
from openfeeder.services import accounts as accounts_service
from openfeeder.store import schema as t
from openfeeder.store.db import Database
from tests.support.factories import BOSTON, HELSINKI, Builder

CHROME = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0.0.0 Safari/537.36"
)
IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
)
GOOGLEBOT = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
SITE = "https://www.example.com"
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
ACME_IP = "192.0.2.10"  # TEST-NET-1: ACME's office
GLOBEX_IP = "192.0.2.140"  # TEST-NET-1: Globex's office
NOBODY_IP = "203.0.113.9"  # TEST-NET-3: no company


# --- A complete identifier, answering from a table of networks ------------------------------


@dataclass(frozen=True)
class Answer:
    company_id: str | None = None
    match_source: str | None = None
    match_reason: str | None = None
    drop_reason: DropReason | None = None
    location: Location | None = None


@dataclass
class TableIdentifier:
    """Answers like the resolver chain would, from ``networks``; records every call."""

    networks: dict[str, Answer]
    calls: list[tuple[int, list[str]]] = field(default_factory=list)
    closed: bool = False
    slow: bool = False  # nothing here asks over the network, so batches are not pre-warmed

    def identify_many(
        self, conn: sa.Connection, account_id: int, ips: list[str], *, websites: bool = True
    ) -> dict[str, Answer]:
        self.calls.append((account_id, list(ips)))
        return {ip: self._answer(ip) for ip in ips}

    def _answer(self, ip: str) -> Answer:
        for network, answer in self.networks.items():
            if ip_address(ip) in ip_network(network):
                return answer
        return Answer()

    def close(self) -> None:
        self.closed = True


def company_answer(company: Company, location: Location = HELSINKI) -> Answer:
    return Answer(company.id, "company_range", f"in {company.name}'s range", None, location)


# --- Browsers --------------------------------------------------------------------------------


class Browser:
    """Builds tracker events the way the tracker sends them and appends them through ingest."""

    def __init__(self, ingestor: Ingestor, account: Account, number: int, **defaults: Any) -> None:
        self.ingestor = ingestor
        self.account = account
        self.client_id = defaults.pop("client_id", f"LF1.1.{number:016x}.1767225600000")
        self.defaults = {"ip": ACME_IP, "user_agent": CHROME} | defaults
        self._events = 0
        self.number = number

    def hit(
        self,
        path: str,
        at: datetime,
        *,
        event: str = "tracking-event",
        referrer: str = "",
        request_meta: dict[str, str] | None = None,
        **overrides: Any,
    ) -> IncomingHit:
        self._events += 1
        options = self.defaults | overrides
        payload: dict[str, Any] = {
            "event": event,
            "context": {
                "library": {"name": "lftracker", "version": "1.0.0"},
                "pageUrl": f"{SITE}{path}",
                "pageTitle": f"Title of {path}",
                "referrer": referrer,
            },
            "clientEventId": f"{self.number:08x}{self._events:08x}",
            "clientTimestamp": at.isoformat(),
            "clientTimezone": "Europe/Helsinki",
            "scriptId": self.account.script_hash,
            "cookiesEnabled": True,
            "anonymizeIp": False,
            "lfClientId": options.pop("client_id", self.client_id),
            "gaTrackingIds": [],
            "gaClientIds": options.pop("ga_client_ids", []),
            "foreignCookies": options.pop("foreign_cookies", []),
            "properties": {},
        }
        return IncomingHit(
            account_id=self.account.id,
            event=payload,
            ip=options["ip"],
            user_agent=options["user_agent"],
            accept_language="en-GB,en;q=0.9",
            request_meta=request_meta or {},
            received_at=at,
        )


@dataclass
class World:
    settings: Settings
    db: Database
    account: Account
    acme: Company
    globex: Company
    identifier: TableIdentifier
    ingestor: Ingestor
    _browsers: int = 0

    def browser(self, **defaults: Any) -> Browser:
        self._browsers += 1
        return Browser(self.ingestor, self.account, self._browsers, **defaults)

    def send(self, hits: Sequence[IncomingHit]) -> int:
        return self.ingestor.append_many(hits)

    def pipeline(
        self, *, batch_size: int = 500, steps: Sequence[Step] = STEPS, **changes: Any
    ) -> Pipeline:
        settings = self.settings.model_copy(update={"pipeline_batch_size": batch_size} | changes)
        return make_pipeline(settings, self.db, identifier=self.identifier, steps=steps)


def make_world(settings: Settings, db: Database, builder: Builder) -> World:
    account = builder.account(timezone="Europe/Helsinki")
    acme, globex = builder.companies(2)
    identifier = TableIdentifier(
        {"192.0.2.0/25": company_answer(acme), "192.0.2.128/25": company_answer(globex, BOSTON)}
    )
    return World(settings, db, account, acme, globex, identifier, Ingestor(settings, db))


# --- Reading the store ----------------------------------------------------------------------


def visits(db: Database) -> list[dict[str, Any]]:
    with db.read() as conn:
        rows = conn.execute(sa.select(t.visits).order_by(t.visits.c.started_at, t.visits.c.id))
        return [dict(row._mapping) for row in rows]


def hits(db: Database) -> list[dict[str, Any]]:
    with db.read() as conn:
        return [dict(row._mapping) for row in conn.execute(sa.select(t.hits).order_by(t.hits.c.id))]


def count(db: Database, table: sa.Table) -> int:
    with db.read() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())


def paths(visit: dict[str, Any]) -> list[str]:
    return [step["page_path"] for step in visit["visit_route"]]


def status(db: Database, account: Account) -> str:
    return accounts_service.views(db, [account])[0].tracking_status


def unprocessed(db: Database) -> int:
    with db.read() as conn:
        query = sa.select(sa.func.count()).where(t.hits.c.processed_at.is_(None))
        return int(conn.execute(query).scalar_one())
