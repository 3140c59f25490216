"""Plain records passed between the store, the services and the renderers."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Literal

Subscription = Literal["lite", "premium"]
TrackingStatus = Literal["not_installed", "reporting", "ok"]
ExportStatus = Literal["pending", "processed", "failed"]


@dataclass(frozen=True)
class User:
    id: int
    email: str
    name: str


@dataclass(frozen=True)
class Account:
    id: int
    name: str
    subscription: Subscription
    on_trial: bool
    subscription_addons: list[str]
    timezone: str
    script_hash: str

    @property
    def premium_features(self) -> bool:
        """Leads, visits and exports need premium or a trial (the seed's 402)."""
        return self.subscription == "premium" or self.on_trial


@dataclass(frozen=True)
class Location:
    id: str
    country: str | None
    country_code: str | None
    region: str | None
    region_code: str | None
    city: str | None
    state_code: str | None


@dataclass(frozen=True)
class Company:
    id: str
    name: str
    domain: str | None = None
    website_url: str | None = None
    industry: str | None = None
    industry_code: int | None = None
    industries: list[str] = field(default_factory=list)
    dealfront_id: str | None = None
    phone: str | None = None
    linkedin_url: str | None = None
    twitter_handle: str | None = None
    facebook_url: str | None = None
    logo_url: str | None = None
    employee_count: int | None = None
    employees_min: int | None = None
    employees_max: int | None = None
    revenue: str | None = None
    business_id: str | None = None


@dataclass(frozen=True)
class WebSession:
    """A dashboard sign-in. ``id_hash`` is the SHA-256 of the cookie's token."""

    id_hash: str
    user: User
    csrf: str
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime
    ip: str | None
    user_agent: str | None


@dataclass(frozen=True)
class Lead:
    pk: int
    id: str
    account_id: int
    company: Company
    location: Location
    assignee: str | None
    emailed_to: str | None
    crm_lead_id: int | None
    crm_organization_id: int | None
    tags: list[str]
    first_visit_date: date | None
    last_visit_date: date | None
    visits: int  # in the interval for lists, lifetime for a single lead
    quality: int | None  # None where no interval applies
    hidden: bool = False  # its company is hidden in this account: in no lead list or export

    @property
    def status(self) -> Literal["new", "handled"]:
        return lead_status(self.assignee, self.emailed_to, self.crm_lead_id)


def lead_status(
    assignee: str | None, emailed_to: str | None, crm_lead_id: int | None
) -> Literal["new", "handled"]:
    """[Deprecated in the API, still served] handled once assigned, emailed or in the CRM."""
    handled = assignee or emailed_to or crm_lead_id is not None
    return "handled" if handled else "new"


@dataclass(frozen=True)
class RouteStep:
    """One pageview as the visit route shows it."""

    hostname: str
    page_path: str
    page_title: str
    page_url: str
    time_on_page: int


@dataclass(frozen=True)
class Visit:
    id: str
    lead_id: str
    location: Location
    started_at: datetime
    date: date
    hour: int
    source: str | None
    medium: str | None
    campaign: str | None
    keyword: str | None
    query_term: str | None
    referring_url: str | None
    page_depth: int
    visit_length: int
    visit_route: list[dict[str, Any]]
    lf_client_id: str | None
    ga_client_ids: list[str]
    adobe_cookies: list[dict[str, str]] | None
    country_code: str | None
    device_type: str | None
    match_source: str | None
    match_reason: str | None


@dataclass(frozen=True)
class ExportRequest:
    id: str
    account_id: int
    user_id: int
    feed_id: str
    start_date: date
    end_date: date
    status: ExportStatus
    attempts: int
    error: str | None
    file_name: str | None
    created_at: datetime
    expires_at: datetime | None
    # The base URL of the API request that asked for it (None on requests made before it
    # was recorded): the export file's links are built from it.
    request_base_url: str | None = None


@dataclass(frozen=True)
class Page:
    """One page of a list, and how many results the whole list has (after any cap)."""

    items: list[Any]
    total: int


@dataclass(frozen=True)
class NewVisit:
    """A finished (or growing) visit to record: what the demo and the pipeline hand over.

    Recording the same ``id`` again replaces the visit, so a pipeline may re-record a visit
    as more hits extend it; statistics are recomputed from the stored visits each time.
    """

    id: str
    account_id: int
    company_id: str
    location: Location
    started_at: datetime
    route: list[RouteStep]
    source: str | None = None
    medium: str | None = None
    campaign: str | None = None
    keyword: str | None = None
    query_term: str | None = None
    referring_url: str | None = None
    lf_client_id: str | None = None
    ga_client_ids: list[str] = field(default_factory=list)
    adobe_cookies: list[dict[str, str]] | None = None
    device_type: str | None = None
    match_source: str | None = None
    match_reason: str | None = None
