"""What the pipeline's steps hand along: the event made of one stored hit, the visit (session)
it belongs to, the typed reasons a hit is dropped, the outside parts the steps use, and the
state the steps of one batch share."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy import Connection

from openfeeder.domain.drops import DropReason
from openfeeder.domain.models import Location, NewVisit
from openfeeder.services.visits import route_step
from openfeeder.store.pipeline import HitRow, SessionRow

if TYPE_CHECKING:
    from crawlerdetect import CrawlerDetect

    from openfeeder.domain.events import TrackerEvent
    from openfeeder.identify.chain import Locator

# A visit ends after this long without a hit (the common analytics definition).
VISIT_IDLE = timedelta(minutes=30)
# A visit ends after this many pageviews: a page that reloads itself every few minutes would
# otherwise make one visit that never ends and a session state that grows without bound.
MAX_PAGES = 500


class TransientError(Exception):
    """A failure of something outside (the identifier's services), not of the hits: the
    batch is rolled back and retried later instead of its hits being set aside."""


class Identification(Protocol):
    """What the identify package answers for one IP (read-only view)."""

    @property
    def company_id(self) -> str | None: ...
    @property
    def match_source(self) -> str | None: ...
    @property
    def match_reason(self) -> str | None: ...
    @property
    def drop_reason(self) -> DropReason | None: ...
    @property
    def location(self) -> Location | None: ...


class Identifier(Protocol):
    """The identify package's resolver chain, as the pipeline uses it."""

    def identify_many(
        self, conn: Connection, account_id: int, ips: list[str], *, websites: bool = True
    ) -> Mapping[str, Identification]: ...

    @property
    def slow(self) -> bool:
        """Whether some resolver asks over the network (reverse DNS, enrichment)."""

    def close(self) -> None: ...


@dataclass
class Tools:
    """The outside parts the steps use, opened once per pipeline."""

    identifier: Identifier
    city: Locator | None
    crawlers: CrawlerDetect
    owns_identifier: bool = True  # False when shared (with the API): its owner closes it
    app_url: str = ""  # the service's public base URL, for links in alert events


@dataclass(frozen=True)
class Attribution:
    """Where a visit came from. ``explicit`` marks campaign parameters (UTM or a click id):
    a pageview carrying a different explicit campaign starts a new visit."""

    source: str | None
    medium: str | None
    campaign: str | None = None
    keyword: str | None = None
    query_term: str | None = None
    referring_url: str | None = None
    explicit: bool = False

    @property
    def campaign_key(self) -> tuple[str | None, str | None, str | None] | None:
        return (self.source, self.medium, self.campaign) if self.explicit else None

    def to_json(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "medium": self.medium,
            "campaign": self.campaign,
            "keyword": self.keyword,
            "query_term": self.query_term,
            "referring_url": self.referring_url,
            "explicit": self.explicit,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Attribution:
        return cls(
            source=data.get("source"),
            medium=data.get("medium"),
            campaign=data.get("campaign"),
            keyword=data.get("keyword"),
            query_term=data.get("query_term"),
            referring_url=data.get("referring_url"),
            explicit=bool(data.get("explicit")),
        )


DIRECT = Attribution("(direct)", "(none)")


@dataclass(frozen=True)
class PageView:
    url: str
    title: str
    at: datetime


@dataclass
class Session:
    """A visitor's visit in progress, kept in ``visitor_sessions`` between batches.

    A session the identification step dropped keeps its drop reason (so later hits are dropped
    without asking again) and no pages.
    """

    account_id: int
    visitor_key: str
    visit_id: str
    started_at: datetime
    last_hit_at: datetime
    attribution: Attribution
    lf_client_id: str | None = None
    ga_client_ids: list[str] = field(default_factory=list)
    adobe_cookies: list[dict[str, str]] | None = None
    pages: list[PageView] = field(default_factory=list)
    device_type: str | None = None
    company_id: str | None = None
    match_source: str | None = None
    match_reason: str | None = None
    location: Location | None = None
    drop: DropReason | None = None

    @property
    def key(self) -> tuple[int, str]:
        return (self.account_id, self.visitor_key)

    def to_row(self) -> SessionRow:
        state = {
            "attribution": self.attribution.to_json(),
            "lf_client_id": self.lf_client_id,
            "ga_client_ids": self.ga_client_ids,
            "adobe_cookies": self.adobe_cookies,
            "pages": [[p.url, p.title, p.at.timestamp()] for p in self.pages],
            "device_type": self.device_type,
            "company_id": self.company_id,
            "match_source": self.match_source,
            "match_reason": self.match_reason,
            "location": None if self.location is None else _location_json(self.location),
            "drop": None if self.drop is None else self.drop.value,
        }
        return SessionRow(
            self.account_id,
            self.visitor_key,
            self.visit_id,
            self.started_at,
            self.last_hit_at,
            state,
        )

    @classmethod
    def from_row(cls, row: SessionRow) -> Session:
        state = row.state
        location = state.get("location")
        drop = state.get("drop")
        return cls(
            account_id=row.account_id,
            visitor_key=row.visitor_key,
            visit_id=row.visit_id,
            started_at=row.started_at,
            last_hit_at=row.last_hit_at,
            attribution=Attribution.from_json(state.get("attribution") or {}),
            lf_client_id=state.get("lf_client_id"),
            ga_client_ids=list(state.get("ga_client_ids") or []),
            adobe_cookies=state.get("adobe_cookies"),
            pages=[
                PageView(url, title, datetime.fromtimestamp(at, UTC))
                for url, title, at in state.get("pages") or []
            ],
            device_type=state.get("device_type"),
            company_id=state.get("company_id"),
            match_source=state.get("match_source"),
            match_reason=state.get("match_reason"),
            location=None if location is None else Location(**location),
            drop=None if drop is None else DropReason(drop),
        )

    def to_new_visit(self) -> NewVisit:
        """The visit as recorded so far. A page's time is until the next pageview, or until
        the visit's last hit (a download or form on it) for the exit page."""
        if self.company_id is None or self.location is None:
            raise ValueError(f"visit {self.visit_id} is not identified")
        route = []
        for index, page in enumerate(self.pages):
            until = self.pages[index + 1].at if index + 1 < len(self.pages) else self.last_hit_at
            seconds = max(0, int((until - page.at).total_seconds()))
            route.append(route_step(page.url, page.title, seconds))
        a = self.attribution
        return NewVisit(
            id=self.visit_id,
            account_id=self.account_id,
            company_id=self.company_id,
            location=self.location,
            started_at=self.started_at,
            route=route,
            source=a.source,
            medium=a.medium,
            campaign=a.campaign,
            keyword=a.keyword,
            query_term=a.query_term,
            referring_url=a.referring_url,
            lf_client_id=self.lf_client_id,
            ga_client_ids=self.ga_client_ids,
            adobe_cookies=self.adobe_cookies,
            device_type=self.device_type,
            match_source=self.match_source,
            match_reason=self.match_reason,
        )


def _location_json(location: Location) -> dict[str, Any]:
    # Its fields are flat text, so no deep copy (``asdict``) is needed.
    return {name: getattr(location, name) for name in _LOCATION_FIELDS}


_LOCATION_FIELDS = tuple(f.name for f in fields(Location))


@dataclass
class Event:
    """One hit on its way through the steps; each step fills in what it knows."""

    hit: HitRow
    tracker: TrackerEvent | None = None  # visitor step: the validated payload
    visitor_key: str = ""  # visitor step
    attribution: Attribution | None = None  # attribution step
    session: Session | None = None  # sessions step
    starts_visit: bool = False  # sessions step

    @property
    def event(self) -> TrackerEvent:
        assert self.tracker is not None, "step ordered before the visitor step"
        return self.tracker

    @property
    def visit(self) -> Session:
        assert self.session is not None, "step ordered before the sessions step"
        return self.session

    @property
    def is_pageview(self) -> bool:
        return self.event.type == "tracking-event"


@dataclass
class Batch:
    """What the steps of one batch share: its transaction, its clock, the outside parts and
    the state built up over the batch's hits."""

    conn: Connection
    now: datetime
    tools: Tools
    salts: dict[date, str] = field(default_factory=dict)
    sessions: dict[tuple[int, str], Session] = field(default_factory=dict)
    identifications: dict[tuple[int, str], Identification] = field(default_factory=dict)
    locations: dict[str, Location | None] = field(default_factory=dict)
    visits: dict[str, Session] = field(default_factory=dict)  # visits to (re-)record
