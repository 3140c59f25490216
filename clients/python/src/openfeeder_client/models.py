"""Typed resources built from JSON:API documents: accounts, custom feeds, leads, visits,
locations, export requests and export rows.

Each attribute the API documents is a typed field (``None`` when the server left it out, as
sparse fieldsets do); any other attribute the server sends is kept in ``extra``, so a newer
server's additions are never dropped. Related locations are resolved from ``included``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

__all__ = [
    "Account",
    "Criterion",
    "CustomFeed",
    "EmployeesRange",
    "ExportRequest",
    "ExportRow",
    "ExportStats",
    "Included",
    "Lead",
    "Location",
    "RouteStep",
    "TrackingScript",
    "Visit",
]

JSON = Mapping[str, Any]


class Included:
    """The ``included`` resources of a document, looked up by relationship."""

    def __init__(self, resources: Iterable[JSON] = ()) -> None:
        self._by_key: dict[tuple[str, str], JSON] = {}
        for resource in resources:
            self._by_key[(str(resource.get("type")), str(resource.get("id")))] = resource

    def related(self, resource: JSON, name: str) -> JSON | None:
        """The included resource that ``resource``'s relationship ``name`` points at."""
        relationship = (resource.get("relationships") or {}).get(name) or {}
        linkage = relationship.get("data")
        if not isinstance(linkage, dict):
            return None
        return self._by_key.get((str(linkage.get("type")), str(linkage.get("id"))))


def _attributes(resource: JSON) -> dict[str, Any]:
    attributes = resource.get("attributes")
    return dict(attributes) if isinstance(attributes, Mapping) else {}


def _extra(attributes: Mapping[str, Any], known: Iterable[str]) -> dict[str, Any]:
    names = set(known)
    return {name: value for name, value in attributes.items() if name not in names}


def _str(value: Any) -> str | None:
    return None if value is None else str(value)


def _int(value: Any) -> int | None:
    # The seed shows "" for an unknown crm_organization_id; its table says Integer.
    if value is None or value == "":
        return None
    return int(value)


def _date(value: Any) -> dt.date | None:
    return dt.date.fromisoformat(value) if value else None


def _datetime(value: Any) -> dt.datetime | None:
    return dt.datetime.fromisoformat(value) if value else None


def _strings(value: Any) -> list[str]:
    return [str(item) for item in value] if isinstance(value, list) else []


@dataclass(frozen=True, kw_only=True)
class Location:
    TYPE: ClassVar[str] = "locations"
    FIELDS: ClassVar[tuple[str, ...]] = (
        "country", "country_code", "region", "region_code", "city", "state_code",
    )  # fmt: skip

    id: str
    country: str | None = None
    country_code: str | None = None
    region: str | None = None
    region_code: str | None = None
    city: str | None = None
    state_code: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_resource(cls, resource: JSON) -> Location:
        a = _attributes(resource)
        return cls(
            id=str(resource["id"]),
            **{name: _str(a.get(name)) for name in cls.FIELDS},
            extra=_extra(a, cls.FIELDS),
        )


def _location(resource: JSON, included: Included) -> Location | None:
    related = included.related(resource, "location")
    return Location.from_resource(related) if related is not None else None


@dataclass(frozen=True, kw_only=True)
class Account:
    TYPE: ClassVar[str] = "accounts"
    FIELDS: ClassVar[tuple[str, ...]] = (
        "name", "subscription", "timezone", "website_tracking_status", "on_trial",
        "subscription_addons",
    )  # fmt: skip

    id: str
    name: str | None = None
    subscription: str | None = None  # "lite" or "premium"
    timezone: str | None = None
    website_tracking_status: str | None = None  # "not_installed", "reporting" or "ok"
    on_trial: bool | None = None
    subscription_addons: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_resource(cls, resource: JSON, included: Included | None = None) -> Account:
        a = _attributes(resource)
        trial = a.get("on_trial")
        return cls(
            id=str(resource["id"]),
            name=_str(a.get("name")),
            subscription=_str(a.get("subscription")),
            timezone=_str(a.get("timezone")),
            website_tracking_status=_str(a.get("website_tracking_status")),
            on_trial=None if trial is None else bool(trial),
            subscription_addons=_strings(a.get("subscription_addons")),
            extra=_extra(a, cls.FIELDS),
        )


@dataclass(frozen=True, kw_only=True)
class Criterion:
    """One rule of a custom feed; ``display_value`` is only for people."""

    FIELDS: ClassVar[tuple[str, ...]] = (
        "criterion_type", "search_value", "excluded", "display_value",
    )  # fmt: skip

    criterion_type: str
    search_value: str | int | None = None
    excluded: bool = False
    display_value: str | int | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_json(cls, raw: JSON) -> Criterion:
        return cls(
            criterion_type=str(raw.get("criterion_type")),
            search_value=raw.get("search_value"),
            excluded=bool(raw.get("excluded")),
            display_value=raw.get("display_value"),
            extra=_extra(raw, cls.FIELDS),
        )

    def __str__(self) -> str:
        shown = self.display_value if self.display_value is not None else self.search_value
        return f"{'not ' if self.excluded else ''}{self.criterion_type}: {shown}"


@dataclass(frozen=True, kw_only=True)
class CustomFeed:
    TYPE: ClassVar[str] = "custom_feeds"
    FIELDS: ClassVar[tuple[str, ...]] = ("name", "criteria")

    id: str
    name: str | None = None
    criteria: list[Criterion] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_resource(cls, resource: JSON, included: Included | None = None) -> CustomFeed:
        a = _attributes(resource)
        criteria = a.get("criteria")
        return cls(
            id=str(resource["id"]),
            name=_str(a.get("name")),
            criteria=[Criterion.from_json(c) for c in (criteria or []) if isinstance(c, Mapping)],
            extra=_extra(a, cls.FIELDS),
        )


@dataclass(frozen=True, kw_only=True)
class EmployeesRange:
    """Both bounds ``None``: unknown; ``max`` ``None`` alone: more than ``min``."""

    min: int | None = None
    max: int | None = None


@dataclass(frozen=True, kw_only=True)
class Lead:
    TYPE: ClassVar[str] = "leads"
    FIELDS: ClassVar[tuple[str, ...]] = (
        "name", "industry", "industries", "first_visit_date", "status", "dealfront_id",
        "last_visit_date", "website_url", "phone", "linkedin_url", "twitter_handle",
        "facebook_url", "employee_count", "employees_range", "crm_lead_id", "crm_organization_id",
        "tags", "logo_url", "assignee", "business_id", "revenue", "emailed_to",
        "view_in_leadfeeder", "quality", "visits",
    )  # fmt: skip

    id: str
    name: str | None = None
    industry: str | None = None
    industries: list[str] = field(default_factory=list)  # the industries' names
    first_visit_date: dt.date | None = None
    status: str | None = None  # "new" or "handled" (deprecated by Leadfeeder)
    dealfront_id: str | None = None
    last_visit_date: dt.date | None = None
    website_url: str | None = None
    phone: str | None = None
    linkedin_url: str | None = None
    twitter_handle: str | None = None
    facebook_url: str | None = None
    employee_count: int | None = None
    employees_range: EmployeesRange | None = None
    crm_lead_id: int | None = None
    crm_organization_id: int | None = None
    tags: list[str] = field(default_factory=list)
    logo_url: str | None = None
    assignee: str | None = None
    business_id: str | None = None
    revenue: str | None = None
    emailed_to: str | None = None  # comma-separated emails
    view_in_leadfeeder: str | None = None
    quality: int | None = None  # 0–10, for the listed interval (lists and exports only)
    visits: int | None = None  # in the interval for lists, lifetime for a single lead
    location: Location | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_resource(cls, resource: JSON, included: Included | None = None) -> Lead:
        a = _attributes(resource)
        span = a.get("employees_range")
        industries = a.get("industries")
        return cls(
            id=str(resource["id"]),
            industries=[
                str(i.get("name")) if isinstance(i, Mapping) else str(i) for i in (industries or [])
            ],
            first_visit_date=_date(a.get("first_visit_date")),
            last_visit_date=_date(a.get("last_visit_date")),
            employee_count=_int(a.get("employee_count")),
            employees_range=(
                EmployeesRange(min=_int(span.get("min")), max=_int(span.get("max")))
                if isinstance(span, Mapping)
                else None
            ),
            crm_lead_id=_int(a.get("crm_lead_id")),
            crm_organization_id=_int(a.get("crm_organization_id")),
            tags=_strings(a.get("tags")),
            quality=_int(a.get("quality")),
            visits=_int(a.get("visits")),
            location=_location(resource, included or Included()),
            extra=_extra(a, cls.FIELDS),
            **{name: _str(a.get(name)) for name in _LEAD_TEXT},
        )


_LEAD_TEXT = (
    "name", "industry", "status", "dealfront_id", "website_url", "phone", "linkedin_url",
    "twitter_handle", "facebook_url", "logo_url", "assignee", "business_id", "revenue",
    "emailed_to", "view_in_leadfeeder",
)  # fmt: skip


@dataclass(frozen=True, kw_only=True)
class RouteStep:
    """One pageview of a visit's route."""

    FIELDS: ClassVar[tuple[str, ...]] = (
        "hostname", "page_path", "previous_page_path", "time_on_page", "page_title", "page_url",
        "display_page_name",
    )  # fmt: skip

    hostname: str | None = None
    page_path: str | None = None
    previous_page_path: str | None = None  # "(entrance)" for the first page
    time_on_page: int | None = None  # seconds
    page_title: str | None = None
    page_url: str | None = None
    display_page_name: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_json(cls, raw: JSON) -> RouteStep:
        return cls(
            time_on_page=_int(raw.get("time_on_page")),
            extra=_extra(raw, cls.FIELDS),
            **{name: _str(raw.get(name)) for name in cls.FIELDS if name != "time_on_page"},
        )


@dataclass(frozen=True, kw_only=True)
class Visit:
    TYPE: ClassVar[str] = "visits"
    FIELDS: ClassVar[tuple[str, ...]] = (
        "source", "medium", "referring_url", "page_depth", "visit_route", "keyword",
        "query_term", "visit_length", "started_at", "campaign", "date", "hour", "lf_client_id",
        "ga_client_ids", "adobe_cookies", "country_code", "device_type", "lead_id",
        "match_source", "match_reason",
    )  # fmt: skip

    id: str
    lead_id: str | None = None
    started_at: dt.datetime | None = None  # UTC, rounded to the minute
    date: dt.date | None = None  # in the account's timezone
    hour: int | None = None  # in the account's timezone
    source: str | None = None
    medium: str | None = None
    campaign: str | None = None
    keyword: str | None = None
    query_term: str | None = None
    referring_url: str | None = None
    page_depth: int | None = None
    visit_length: int | None = None  # seconds
    visit_route: list[RouteStep] = field(default_factory=list)
    lf_client_id: str | None = None
    ga_client_ids: list[str] = field(default_factory=list)
    adobe_cookies: list[dict[str, Any]] | None = None  # only on visits that have them
    country_code: str | None = None
    device_type: str | None = None
    match_source: str | None = None
    match_reason: str | None = None
    location: Location | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_resource(cls, resource: JSON, included: Included | None = None) -> Visit:
        a = _attributes(resource)
        route = a.get("visit_route")
        cookies = a.get("adobe_cookies")
        return cls(
            id=str(resource["id"]),
            started_at=_datetime(a.get("started_at")),
            date=_date(a.get("date")),
            hour=_int(a.get("hour")),
            page_depth=_int(a.get("page_depth")),
            visit_length=_int(a.get("visit_length")),
            visit_route=[RouteStep.from_json(s) for s in (route or []) if isinstance(s, Mapping)],
            ga_client_ids=_strings(a.get("ga_client_ids")),
            adobe_cookies=[dict(c) for c in cookies] if isinstance(cookies, list) else None,
            location=_location(resource, included or Included()),
            extra=_extra(a, cls.FIELDS),
            **{name: _str(a.get(name)) for name in _VISIT_TEXT},
        )


_VISIT_TEXT = (
    "lead_id", "source", "medium", "campaign", "keyword", "query_term", "referring_url",
    "lf_client_id", "country_code", "device_type", "match_source", "match_reason",
)  # fmt: skip


@dataclass(frozen=True, kw_only=True)
class TrackingScript:
    TYPE: ClassVar[str] = "website-tracking-scripts"
    FIELDS: ClassVar[tuple[str, ...]] = ("script_hash", "script_html", "timezone")

    id: str
    script_hash: str | None = None
    script_html: str | None = None
    timezone: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_resource(cls, resource: JSON, included: Included | None = None) -> TrackingScript:
        a = _attributes(resource)
        return cls(
            id=str(resource["id"]),
            extra=_extra(a, cls.FIELDS),
            **{name: _str(a.get(name)) for name in cls.FIELDS},
        )


@dataclass(frozen=True, kw_only=True)
class ExportRequest:
    TYPE: ClassVar[str] = "export_requests"
    FIELDS: ClassVar[tuple[str, ...]] = ("status", "created_at", "status_url", "download_url")

    id: str
    status: str | None = None  # "pending", then "processed" or "failed"
    created_at: dt.datetime | None = None
    status_url: str | None = None
    download_url: str | None = None  # set once processed
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def finished(self) -> bool:
        """True once the server is done with it, either way."""
        return self.status in ("processed", "failed")

    @classmethod
    def from_resource(cls, resource: JSON, included: Included | None = None) -> ExportRequest:
        a = _attributes(resource)
        return cls(
            id=str(resource["id"]),
            status=_str(a.get("status")),
            created_at=_datetime(a.get("created_at")),
            status_url=_str(a.get("status_url")),
            download_url=_str(a.get("download_url")),
            extra=_extra(a, cls.FIELDS),
        )


@dataclass(frozen=True, kw_only=True)
class ExportStats:
    """A lead's activity in the exported interval."""

    FIELDS: ClassVar[tuple[str, ...]] = ("visits", "pageviews", "bounces", "last_visit")

    visits: int | None = None
    pageviews: int | None = None
    bounces: int | None = None  # one-page visits
    last_visit: dt.date | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_json(cls, raw: JSON) -> ExportStats:
        return cls(
            visits=_int(raw.get("visits")),
            pageviews=_int(raw.get("pageviews")),
            bounces=_int(raw.get("bounces")),
            last_visit=_date(raw.get("last_visit")),
            extra=_extra(raw, cls.FIELDS),
        )


@dataclass(frozen=True, kw_only=True)
class ExportRow:
    """One row of an export report (a ``timeline_rows`` resource) with its lead resolved."""

    TYPE: ClassVar[str] = "timeline_rows"
    FIELDS: ClassVar[tuple[str, ...]] = ("quality", "keywords", "stats")

    id: str
    lead: Lead
    quality: int | None = None
    keywords: list[str] = field(default_factory=list)
    stats: ExportStats = field(default_factory=ExportStats)
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_resource(cls, resource: JSON, included: Included | None = None) -> ExportRow:
        included = included or Included()
        a = _attributes(resource)
        lead = included.related(resource, "lead")
        stats = a.get("stats")
        return cls(
            id=str(resource["id"]),
            lead=(
                Lead.from_resource(lead, included)
                if lead is not None
                else Lead(id=str(resource["id"]))
            ),
            quality=_int(a.get("quality")),
            keywords=_strings(a.get("keywords")),
            stats=ExportStats.from_json(stats) if isinstance(stats, Mapping) else ExportStats(),
            extra=_extra(a, cls.FIELDS),
        )
