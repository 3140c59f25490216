"""One typed model per resource type of the API: its attributes exactly as the seed shows
them (names, order, types, nulls, descriptions) and how a record becomes one. The API, the
export files and the OpenAPI document all render through these models (``domain.resource``
says what a model does: resource objects, sparse fieldsets, JSON Schema).

Each model is a msgspec ``Struct`` of the attributes object (``bench/models.py`` measured it
against pydantic and against plain dicts; BENCHMARKS.md has the ratios). Field order is wire
order, and the order sparse fieldsets and the document list the names in; a field typed
``… | UnsetType`` is left out of the object when ``UNSET`` (``quality`` of a single lead,
``adobe_cookies`` of a visit without them), and such fields come last, where the renderers
before the models appended them. Nested values (industries, the employee range, route steps,
criteria) are ``TypedDict``s: plain dicts on the hot path, typed for mypy and for the schema.
No I/O: records in, objects ready for a JSON encoder out.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Annotated, ClassVar, Literal, TypedDict, cast

from msgspec import UNSET, Meta, UnsetType

from openfeeder.domain import feeds
from openfeeder.domain.models import ExportStatus, Lead, Location, Subscription, TrackingStatus
from openfeeder.domain.models import Visit as VisitRecord
from openfeeder.domain.resource import EXTENSION, Resource, Schema

__all__ = [
    "EXPORT_LEAD_FIELDS",
    "SPARSE_FIELDSET_MODELS",
    "AccountAttributes",
    "CustomFeedAttributes",
    "ExportRequestAttributes",
    "IpEnrichmentAttributes",
    "LeadAttributes",
    "LocationAttributes",
    "VisitAttributes",
    "WebsiteTrackingScriptAttributes",
    "industry_name",
]

_EXTENSION = {EXTENSION: True}
_URI = {"format": "uri"}
_DATE = "yyyy-mm-dd"
# A constraint applies to a type, not to a union with None: ``Annotated[Count | None, …]``.
Count = Annotated[int, Meta(ge=0)]


# ── locations ─────────────────────────────────────────────────────────────────────────────


class LocationAttributes(Resource):
    """A lead's location."""

    TYPE: ClassVar[str] = "locations"

    country: Annotated[str | None, Meta(description="Country name in English.")]
    country_code: Annotated[
        str | None, Meta(description="Two letter country code (ISO 3166-1 alpha-2).")
    ]
    region: Annotated[str | None, Meta(description="Name of the region.")]
    region_code: Annotated[str | None, Meta(description="Currently not used (null).")]
    city: Annotated[str | None, Meta(description="Name of the city.")]
    state_code: Annotated[str | None, Meta(description="Two letter state code (US only).")]

    @classmethod
    def of(cls, location: Location) -> LocationAttributes:
        return cls(
            country=location.country,
            country_code=location.country_code,
            region=location.region,
            region_code=location.region_code,
            city=location.city,
            state_code=location.state_code,
        )


# ── companies, as leads and IP enrichments show them ──────────────────────────────────────


class Industry(TypedDict):
    name: str


class EmployeesRange(TypedDict):
    """Latest employee count range; min 10001 with max null means more than 10 000
    employees, both null means unknown."""

    min: Annotated[Count | None, Meta(description="Lower bound; null when unknown.")]
    max: Annotated[Count | None, Meta(description="Upper bound; null when open or unknown.")]


def industry_name(industry: str | None) -> str:
    """A lead's legacy industry name as shown: ``N/A`` when unknown."""
    return industry or "N/A"


CompanyName = Annotated[str, Meta(description="Company name.")]
IndustryName = Annotated[
    str, Meta(description="Name of industry (legacy industry classification); N/A when unknown.")
]
Industries = Annotated[
    list[Industry], Meta(description="Industries (updated industry classification).")
]
WebsiteUrl = Annotated[str | None, Meta(description="Company webpage address.")]
Phone = Annotated[str | None, Meta(description="Company phone number.")]
LinkedinUrl = Annotated[str | None, Meta(description="Address of the company's LinkedIn profile.")]
TwitterHandle = Annotated[str | None, Meta(description="Company's Twitter user handle.")]
FacebookUrl = Annotated[str | None, Meta(description="Company's Facebook page address.")]
EmployeeCount = Annotated[Count | None, Meta(description="Estimated number of employees.")]
LogoUrl = Annotated[str | None, Meta(description="URL of the company logo.")]
BusinessId = Annotated[str | None, Meta(description="Company business ID.")]
Revenue = Annotated[str | None, Meta(description="Company revenue estimate, e.g. EUR 395752792.0.")]
DealfrontId = Annotated[str | None, Meta(description="ID of the company in Dealfront.")]


# ── leads ─────────────────────────────────────────────────────────────────────────────────

# The export file's lead objects carry this subset, in this order (the seed's sample report);
# services/exports/report.py renders them (tests/domain/test_representation.py holds it here).
EXPORT_LEAD_FIELDS = (
    "first_visit_date",
    "industry",
    "last_visit_date",
    "name",
    "status",
    "website_url",
    "linkedin_url",
    "twitter_handle",
    "facebook_url",
)


class LeadAttributes(Resource, kw_only=True):
    """A lead in a list: visits and quality are for the interval."""

    TYPE: ClassVar[str] = "leads"
    RELATIONSHIPS: ClassVar[Mapping[str, str]] = {"location": "locations"}
    LISTED_ONLY: ClassVar[tuple[str, ...]] = ("quality",)
    SINGLE_DESCRIPTION: ClassVar[str | None] = "A single lead: visits is the lifetime total."

    name: CompanyName
    industry: IndustryName
    industries: Industries
    first_visit_date: Annotated[dt.date | None, Meta(description=f"Date of first visit ({_DATE}).")]
    status: Annotated[
        Literal["new", "handled"],
        Meta(
            description="[Deprecated] handled when assignee, emailed_to or crm_lead_id is set, "
            "else new."
        ),
    ]
    dealfront_id: DealfrontId
    last_visit_date: Annotated[dt.date | None, Meta(description=f"Date of last visit ({_DATE}).")]
    website_url: WebsiteUrl
    phone: Phone
    linkedin_url: LinkedinUrl
    twitter_handle: TwitterHandle
    facebook_url: FacebookUrl
    employee_count: EmployeeCount
    employees_range: EmployeesRange
    crm_lead_id: Annotated[int | None, Meta(description="ID of the lead in the CRM.")]
    crm_organization_id: Annotated[
        int | None,
        Meta(
            description="ID of the account/organization in the CRM (integer or null; the "
            'seed\'s single-lead example shows "").'
        ),
    ]
    tags: Annotated[list[str], Meta(description="Lead tags.")]
    logo_url: LogoUrl
    assignee: Annotated[str | None, Meta(description="Email of the user assigned to the lead.")]
    business_id: BusinessId
    revenue: Revenue
    emailed_to: Annotated[
        str | None, Meta(description="Comma separated list of emails the lead has been sent to.")
    ]
    view_in_leadfeeder: Annotated[
        str, Meta(description="Link to the lead in the dashboard.", extra_json_schema=_URI)
    ]
    visits: Annotated[
        int,
        Meta(
            ge=0,
            description="Visits in the selected interval (lists); lifetime total (single lead).",
        ),
    ]
    quality: (
        Annotated[
            int,
            Meta(
                ge=0,
                le=10,
                description="Lead quality 0–10 for the selected interval. Present on lead "
                "lists only.",
            ),
        ]
        | UnsetType
    ) = UNSET

    @classmethod
    def of(cls, lead: Lead, app_url: str) -> LeadAttributes:
        """``quality`` only where an interval applies (lists, exports)."""
        company = lead.company
        return cls(
            name=company.name,
            industry=industry_name(company.industry),
            industries=[{"name": name} for name in company.industries],
            first_visit_date=lead.first_visit_date,
            status=lead.status,
            dealfront_id=company.dealfront_id,
            last_visit_date=lead.last_visit_date,
            website_url=company.website_url,
            phone=company.phone,
            linkedin_url=company.linkedin_url,
            twitter_handle=company.twitter_handle,
            facebook_url=company.facebook_url,
            employee_count=company.employee_count,
            employees_range={"min": company.employees_min, "max": company.employees_max},
            crm_lead_id=lead.crm_lead_id,
            crm_organization_id=lead.crm_organization_id,
            tags=list(lead.tags),
            logo_url=company.logo_url,
            assignee=lead.assignee,
            business_id=company.business_id,
            revenue=company.revenue,
            emailed_to=lead.emailed_to,
            view_in_leadfeeder=f"{app_url.rstrip('/')}/app/{lead.account_id}/leads/{lead.id}",
            visits=lead.visits,
            quality=UNSET if lead.quality is None else lead.quality,
        )


# ── visits ────────────────────────────────────────────────────────────────────────────────


class VisitRouteStep(TypedDict):
    hostname: Annotated[str, Meta(description="Hostname of the visited page.")]
    page_path: Annotated[str, Meta(description="Path (and query) of the visited page.")]
    previous_page_path: Annotated[str, Meta(description="Path of the previous page or (entrance).")]
    time_on_page: Annotated[int, Meta(ge=0, description="Time spent on the page in seconds.")]
    page_title: Annotated[str, Meta(description="Title of the visited page.")]
    page_url: Annotated[str, Meta(description="Full URL of the visited page.")]
    display_page_name: Annotated[str, Meta(description="Page name as displayed.")]


AdobeCookies = Annotated[
    dict[str, str],
    Meta(
        description="Adobe Experience Cloud ids (MCMID, MCAAMB, MCAAMLH).",
        extra_json_schema={
            "properties": {name: {"type": "string"} for name in ("MCMID", "MCAAMB", "MCAAMLH")}
        },
    ),
]


class VisitAttributes(Resource, kw_only=True):
    """One visit (session)."""

    TYPE: ClassVar[str] = "visits"
    RELATIONSHIPS: ClassVar[Mapping[str, str]] = {"location": "locations"}

    source: Annotated[str | None, Meta(description="Referrer traffic source (e.g. Google).")]
    medium: Annotated[str | None, Meta(description="Referrer traffic medium (e.g. cpc).")]
    referring_url: Annotated[str | None, Meta(description="Referrer URL.")]
    page_depth: Annotated[int, Meta(ge=0, description="Number of page views the visit contains.")]
    visit_route: Annotated[
        list[VisitRouteStep], Meta(description="The pages of the visit, in order.")
    ]
    keyword: Annotated[
        str | None, Meta(description="Referrer keyword (search engine search phrase).")
    ]
    query_term: Annotated[
        str | None, Meta(description="[Deprecated] Search query triggering the AdWords campaign.")
    ]
    visit_length: Annotated[int, Meta(ge=0, description="Duration of the visit in seconds.")]
    started_at: Annotated[
        str,
        Meta(
            pattern=r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:00\.000Z$",
            description="When the visit started: UTC, ISO 8601, rounded to the minute, with "
            "milliseconds and Z (2018-04-13T06:23:00.000Z).",
            extra_json_schema={"format": "date-time"},
        ),
    ]
    campaign: Annotated[str | None, Meta(description="utm_campaign or AdWords campaign name.")]
    date: Annotated[
        dt.date,
        Meta(description=f"[Deprecated] Date of the visit in the account's timezone ({_DATE})."),
    ]
    hour: Annotated[
        int,
        Meta(
            ge=0,
            le=23,
            description="[Deprecated] Wall-clock hour of the visit in the account's timezone.",
        ),
    ]
    lf_client_id: Annotated[
        str | None, Meta(description="The visitor's ID as seen by the tracker.")
    ]
    ga_client_ids: Annotated[
        list[str], Meta(description="Visitor IDs as seen by Google Analytics.")
    ]
    country_code: Annotated[
        str | None, Meta(description="[Deprecated] ISO 3166-1 alpha-2 country code.")
    ]
    device_type: Annotated[
        str | None, Meta(description="Identified device type (e.g. smartphone).")
    ]
    lead_id: Annotated[str, Meta(description="ID of the lead this visit belongs to.")]
    match_source: Annotated[
        str | None,
        Meta(
            description="Which resolver identified the company: company_range, asn, "
            "reverse_dns or enrichment.",
            extra_json_schema=_EXTENSION,
        ),
    ]
    match_reason: Annotated[
        str | None,
        Meta(description="Why the resolver matched, in words.", extra_json_schema=_EXTENSION),
    ]
    adobe_cookies: (
        Annotated[
            list[AdobeCookies],
            Meta(description="The visitor's Adobe cookies. Present only when the visit has them."),
        ]
        | UnsetType
    ) = UNSET

    @classmethod
    def of(cls, visit: VisitRecord) -> VisitAttributes:
        started = visit.started_at.replace(second=0, microsecond=0)
        return cls(
            source=visit.source,
            medium=visit.medium,
            referring_url=visit.referring_url,
            page_depth=visit.page_depth,
            # Stored as the service wrote them (services.visits.visit_route): passed through.
            visit_route=cast(list[VisitRouteStep], visit.visit_route),
            keyword=visit.keyword,
            query_term=visit.query_term,
            visit_length=visit.visit_length,
            started_at=started.strftime("%Y-%m-%dT%H:%M:00.000Z"),
            campaign=visit.campaign,
            date=visit.date,
            hour=visit.hour,
            lf_client_id=visit.lf_client_id,
            ga_client_ids=visit.ga_client_ids,
            country_code=visit.country_code,
            device_type=visit.device_type,
            lead_id=visit.lead_id,
            match_source=visit.match_source,
            match_reason=visit.match_reason,
            adobe_cookies=visit.adobe_cookies or UNSET,
        )


# ── accounts, feeds, exports, tracking scripts ────────────────────────────────────────────


class AccountAttributes(Resource):
    """An account (website)."""

    TYPE: ClassVar[str] = "accounts"
    ID_SCHEMA: ClassVar[Schema] = {"pattern": "^[0-9]+$"}

    name: Annotated[str, Meta(description="The name of the account.")]
    subscription: Annotated[Subscription, Meta(description="The subscription type.")]
    timezone: Annotated[
        str, Meta(description="The account's timezone (IANA name, e.g. Europe/Helsinki).")
    ]
    website_tracking_status: Annotated[
        TrackingStatus,
        Meta(
            description="not_installed: no tracker hit ever; reporting: hits arrive, none "
            "processed yet; ok: processed visits exist."
        ),
    ]
    on_trial: Annotated[
        bool,
        Meta(
            description="Whether the account is on a trial (premium features).",
            extra_json_schema=_EXTENSION,
        ),
    ]
    subscription_addons: Annotated[
        list[str],
        Meta(description="Add-ons of the subscription.", extra_json_schema=_EXTENSION),
    ]


class FeedCriterion(TypedDict):
    search_value: Annotated[
        str | int, Meta(description="The value to match; 0 on industry_code or assignee means any.")
    ]
    excluded: Annotated[bool, Meta(description="Negates the criterion.")]
    criterion_type: feeds.Criterion
    display_value: Annotated[str | int, Meta(description="The value as displayed.")]


class CustomFeedAttributes(Resource):
    """A feed of leads."""

    TYPE: ClassVar[str] = "custom_feeds"

    name: Annotated[str, Meta(description="Name of the feed.")]
    criteria: Annotated[
        list[FeedCriterion],
        Meta(
            description="Criteria of the same type are OR-ed, different types AND-ed; excluded "
            "negates."
        ),
    ]

    @classmethod
    def of(cls, name: str, criteria: list[feeds.FeedCriterion]) -> CustomFeedAttributes:
        objects = [cast(FeedCriterion, c.as_json()) for c in criteria]
        return cls(name=name, criteria=objects)


class ExportRequestAttributes(Resource):
    """A feed export."""

    TYPE: ClassVar[str] = "export_requests"

    status: Annotated[ExportStatus, Meta(description="Status of the export.")]
    created_at: Annotated[
        str,
        Meta(
            description="When the request was created (UTC).",
            extra_json_schema={"format": "date-time"},
        ),
    ]
    status_url: Annotated[
        str, Meta(description="URL for requesting the status.", extra_json_schema=_URI)
    ]
    download_url: Annotated[
        str | None,
        Meta(
            description="Capability URL of the finished report (no token needed; expires). "
            "null unless status is processed.",
            extra_json_schema=_URI,
        ),
    ]


class WebsiteTrackingScriptAttributes(Resource):
    """The account's tracking script."""

    TYPE: ClassVar[str] = "website-tracking-scripts"

    script_hash: Annotated[str, Meta(description="A unique identifier for the script.")]
    script_html: Annotated[str, Meta(description="The HTML to insert in every tracked page.")]
    timezone: Annotated[str, Meta(description="The account's timezone.")]


# ── IP enrichment (an openfeeder extension) ───────────────────────────────────────────────

MatchSource = Literal["company_range", "asn", "reverse_dns", "enrichment"]


class IpEnrichmentAttributes(Resource):
    """The company behind an IP address."""

    TYPE: ClassVar[str] = "ip_enrichments"
    RELATIONSHIPS: ClassVar[Mapping[str, str]] = {"location": "locations"}

    ip: Annotated[str, Meta(description="The address asked about, in canonical form.")]
    company_id: Annotated[str, Meta(description="ID of the company in the company database.")]
    name: CompanyName
    domain: Annotated[str | None, Meta(description="The company's main domain.")]
    website_url: WebsiteUrl
    industry: IndustryName
    industries: Industries
    employee_count: EmployeeCount
    employees_range: EmployeesRange
    revenue: Revenue
    phone: Phone
    linkedin_url: LinkedinUrl
    twitter_handle: TwitterHandle
    facebook_url: FacebookUrl
    logo_url: LogoUrl
    business_id: BusinessId
    dealfront_id: DealfrontId
    match_source: Annotated[MatchSource, Meta(description="Which resolver identified the company.")]
    match_reason: Annotated[
        str,
        Meta(
            description="Why it matched, in words (e.g. 203.0.113.7 is in 203.0.113.0/24 "
            "(Acme Oy))."
        ),
    ]


# The types a sparse fieldset may name (ip_enrichments is not one: the seed has no such type,
# and its one route takes fields[locations] only).
SPARSE_FIELDSET_MODELS: tuple[type[Resource], ...] = (
    AccountAttributes,
    CustomFeedAttributes,
    LeadAttributes,
    LocationAttributes,
    VisitAttributes,
    ExportRequestAttributes,
    WebsiteTrackingScriptAttributes,
)
