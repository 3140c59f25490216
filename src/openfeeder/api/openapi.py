"""The OpenAPI 3.1 document of the public API (served at ``/openapi.json``).

Attribute schemas are keyed by the attribute tuples the renderers use (``domain.representation``
and ``api.resources``): a rendered attribute without a schema, or a schema for an attribute
that is never rendered, fails when the document is built, so the document cannot drift from
the code. ``tests/test_openapi.py`` validates real responses against it.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from typing import Any, get_args

from openfeeder import __version__
from openfeeder.api.enrich import IP_ENRICHMENT_FIELDS
from openfeeder.api.resources import (
    ACCOUNT_FIELDS,
    EXPORT_FIELDS,
    FEED_FIELDS,
    SCRIPT_FIELDS,
    TYPES,
)
from openfeeder.domain.feeds import Criterion
from openfeeder.domain.models import ExportStatus, Subscription, TrackingStatus
from openfeeder.domain.representation import (
    EXPORT_LEAD_FIELDS,
    LEAD_FIELDS,
    LOCATION_FIELDS,
    VISIT_FIELDS,
)

__all__ = ["JSONAPI", "openapi_document"]

Schema = dict[str, Any]

JSONAPI = "application/vnd.api+json"
EXTENSION = "x-openfeeder-extension"  # marks what openfeeder adds to the seed's contract


def _ref(name: str, kind: str = "schemas") -> Schema:
    return {"$ref": f"#/components/{kind}/{name}"}


def _typed(type_: str | list[str], description: str, **extra: Any) -> Schema:
    return {"type": type_, "description": description, **extra}


def _string(description: str, **extra: Any) -> Schema:
    return _typed("string", description, **extra)


def _nullable(type_: str, description: str, **extra: Any) -> Schema:
    return _typed([type_, "null"], description, **extra)


def _integer(description: str, **extra: Any) -> Schema:
    return _typed("integer", description, **extra)


def _array(items: Schema, description: str) -> Schema:
    return {"type": "array", "items": items, "description": description}


def _object(
    properties: Mapping[str, Schema],
    required: Iterable[str] = (),
    description: str | None = None,
) -> Schema:
    out: Schema = {"type": "object"}
    if description:
        out["description"] = description
    out["properties"] = dict(properties)
    if required := list(required):
        out["required"] = required
    out["additionalProperties"] = False
    return out


def _attributes(
    names: tuple[str, ...], table: Mapping[str, Schema], description: str, omit: Iterable[str] = ()
) -> Schema:
    """The attributes object of one type: the renderer's names, each with its schema.

    No attribute is ``required``: a sparse fieldset (``fields[<type>]``) may leave any out.
    """
    missing, unused = set(names) - set(table), set(table) - set(names)
    if missing or unused:
        raise LookupError(f"attribute schemas out of step: missing {missing}, unused {unused}")
    skip = set(omit)
    properties = {name: table[name] for name in names if name not in skip}
    return _object(properties, description=description)


# --- Attribute tables (types and wording from the seed; nullable where the seed shows null) ---

_LOCATION = {
    "country": _nullable("string", "Country name in English."),
    "country_code": _nullable("string", "Two letter country code (ISO 3166-1 alpha-2)."),
    "region": _nullable("string", "Name of the region."),
    "region_code": _nullable("string", "Currently not used (null)."),
    "city": _nullable("string", "Name of the city."),
    "state_code": _nullable("string", "Two letter state code (US only)."),
}

_DATE = "yyyy-mm-dd"
_LEAD = {
    "name": _string("Company name."),
    "industry": _string(
        "Name of industry (legacy industry classification); N/A when unknown.",
    ),
    "industries": _array(_ref("Industry"), "Industries (updated industry classification)."),
    "first_visit_date": _nullable("string", f"Date of first visit ({_DATE}).", format="date"),
    "status": _string(
        "[Deprecated] handled when assignee, emailed_to or crm_lead_id is set, else new.",
        enum=["new", "handled"],
    ),
    "dealfront_id": _nullable("string", "ID of the company in Dealfront."),
    "last_visit_date": _nullable("string", f"Date of last visit ({_DATE}).", format="date"),
    "website_url": _nullable("string", "Company webpage address."),
    "phone": _nullable("string", "Company phone number."),
    "linkedin_url": _nullable("string", "Address of the company's LinkedIn profile."),
    "twitter_handle": _nullable("string", "Company's Twitter user handle."),
    "facebook_url": _nullable("string", "Company's Facebook page address."),
    "employee_count": _nullable("integer", "Estimated number of employees.", minimum=0),
    "employees_range": _ref("EmployeesRange"),
    "crm_lead_id": _nullable("integer", "ID of the lead in the CRM."),
    "crm_organization_id": _nullable(
        "integer",
        "ID of the account/organization in the CRM (integer or null; the seed's single-lead "
        'example shows "").',
    ),
    "tags": _array({"type": "string"}, "Lead tags."),
    "logo_url": _nullable("string", "URL of the company logo."),
    "assignee": _nullable("string", "Email of the user assigned to the lead."),
    "business_id": _nullable("string", "Company business ID."),
    "revenue": _nullable("string", "Company revenue estimate, e.g. EUR 395752792.0."),
    "emailed_to": _nullable("string", "Comma separated list of emails the lead has been sent to."),
    "view_in_leadfeeder": _string("Link to the lead in the dashboard.", format="uri"),
    "quality": _integer(
        "Lead quality 0–10 for the selected interval. Present on lead lists only.",
        minimum=0,
        maximum=10,
    ),
    "visits": _integer(
        "Visits in the selected interval (lists); lifetime total (single lead).", minimum=0
    ),
}

_VISIT = {
    "source": _nullable("string", "Referrer traffic source (e.g. Google)."),
    "medium": _nullable("string", "Referrer traffic medium (e.g. cpc)."),
    "referring_url": _nullable("string", "Referrer URL."),
    "page_depth": _integer("Number of page views the visit contains.", minimum=0),
    "visit_route": _array(_ref("VisitRouteStep"), "The pages of the visit, in order."),
    "keyword": _nullable("string", "Referrer keyword (search engine search phrase)."),
    "query_term": _nullable("string", "[Deprecated] Search query triggering the AdWords campaign."),
    "visit_length": _integer("Duration of the visit in seconds.", minimum=0),
    "started_at": _string(
        "When the visit started: UTC, ISO 8601, rounded to the minute, with milliseconds "
        "and Z (2018-04-13T06:23:00.000Z).",
        format="date-time",
        pattern=r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:00\.000Z$",
    ),
    "campaign": _nullable("string", "utm_campaign or AdWords campaign name."),
    "date": _string(
        f"[Deprecated] Date of the visit in the account's timezone ({_DATE}).", format="date"
    ),
    "hour": _integer(
        "[Deprecated] Wall-clock hour of the visit in the account's timezone.",
        minimum=0,
        maximum=23,
    ),
    "lf_client_id": _nullable("string", "The visitor's ID as seen by the tracker."),
    "ga_client_ids": _array({"type": "string"}, "Visitor IDs as seen by Google Analytics."),
    "adobe_cookies": _array(
        _ref("AdobeCookies"),
        "The visitor's Adobe cookies. Present only when the visit has them.",
    ),
    "country_code": _nullable("string", "[Deprecated] ISO 3166-1 alpha-2 country code."),
    "device_type": _nullable("string", "Identified device type (e.g. smartphone)."),
    "lead_id": _string("ID of the lead this visit belongs to."),
    "match_source": _nullable(
        "string",
        "Which resolver identified the company: company_range, asn, reverse_dns or enrichment.",
        **{EXTENSION: True},
    ),
    "match_reason": _nullable("string", "Why the resolver matched, in words.", **{EXTENSION: True}),
}

_ACCOUNT = {
    "name": _string("The name of the account."),
    "subscription": _string("The subscription type.", enum=list(get_args(Subscription))),
    "timezone": _string("The account's timezone (IANA name, e.g. Europe/Helsinki)."),
    "website_tracking_status": _string(
        "not_installed: no tracker hit ever; reporting: hits arrive, none processed yet; "
        "ok: processed visits exist.",
        enum=list(get_args(TrackingStatus)),
    ),
    "on_trial": _typed(
        "boolean", "Whether the account is on a trial (premium features).", **{EXTENSION: True}
    ),
    "subscription_addons": {
        **_array({"type": "string"}, "Add-ons of the subscription."),
        EXTENSION: True,
    },
}

_FEED = {
    "name": _string("Name of the feed."),
    "criteria": _array(
        _ref("FeedCriterion"),
        "Criteria of the same type are OR-ed, different types AND-ed; excluded negates.",
    ),
}

_EXPORT = {
    "status": _string("Status of the export.", enum=list(get_args(ExportStatus))),
    "created_at": _string("When the request was created (UTC).", format="date-time"),
    "status_url": _string("URL for requesting the status.", format="uri"),
    "download_url": _nullable(
        "string",
        "Capability URL of the finished report (no token needed; expires). "
        "null unless status is processed.",
        format="uri",
    ),
}

_SCRIPT = {
    "script_hash": _string("A unique identifier for the script."),
    "script_html": _string("The HTML to insert in every tracked page."),
    "timezone": _string("The account's timezone."),
}


_MATCH_SOURCES = ["company_range", "asn", "reverse_dns", "enrichment"]
_IP_ENRICHMENT = {
    "ip": _string("The address asked about, in canonical form."),
    "company_id": _string("ID of the company in the company database."),
    "name": _LEAD["name"],
    "domain": _nullable("string", "The company's main domain."),
    "website_url": _LEAD["website_url"],
    "industry": _LEAD["industry"],
    "industries": _LEAD["industries"],
    "employee_count": _LEAD["employee_count"],
    "employees_range": _LEAD["employees_range"],
    "revenue": _LEAD["revenue"],
    "phone": _LEAD["phone"],
    "linkedin_url": _LEAD["linkedin_url"],
    "twitter_handle": _LEAD["twitter_handle"],
    "facebook_url": _LEAD["facebook_url"],
    "logo_url": _LEAD["logo_url"],
    "business_id": _LEAD["business_id"],
    "dealfront_id": _LEAD["dealfront_id"],
    "match_source": _string("Which resolver identified the company.", enum=_MATCH_SOURCES),
    "match_reason": _string(
        "Why it matched, in words (e.g. 203.0.113.7 is in 203.0.113.0/24 (Acme Oy))."
    ),
}


def _identifier(type_: str) -> Schema:
    return _object(
        {"id": {"type": "string"}, "type": {"const": type_}},
        ["id", "type"],
        description=f"A reference to a {type_} resource.",
    )


def _relationship(type_: str) -> Schema:
    return _object({"data": _identifier(type_)}, ["data"])


def _resource(
    type_: str, attributes: str, relationships: Mapping[str, str] | None = None, **id_: Any
) -> Schema:
    properties: dict[str, Schema] = {
        "id": {"type": "string", **id_},
        "type": {"const": type_},
        "attributes": _ref(attributes),
    }
    required = ["id", "type", "attributes"]
    if relationships:
        properties["relationships"] = _object(
            {name: _relationship(rel_type) for name, rel_type in relationships.items()},
            relationships,
        )
        required.append("relationships")
    return _object(properties, required)


def _document(data: Schema, *, included: str | None = None, paged: bool = False) -> Schema:
    properties: dict[str, Schema] = {"data": data}
    if included:
        properties["included"] = _array(_ref(included), f"The {included} resources referred to.")
    if paged:
        properties["links"] = _ref("PaginationLinks")
        properties["meta"] = _ref("ListMeta")
    return _object(properties, properties)


def _error_document(status: str | None = None) -> Schema:
    """JSON:API errors; with ``status``, every error object carries exactly that status."""
    if status is None:
        return _ref("ErrorDocument")
    return {
        "allOf": [_ref("ErrorDocument")],
        "properties": {"errors": {"items": {"properties": {"status": {"const": status}}}}},
    }


def _schemas() -> dict[str, Schema]:
    date_schema = {"type": "string", "format": "date", "description": _DATE}
    return {
        "Location": _resource("locations", "LocationAttributes"),
        "LocationAttributes": _attributes(LOCATION_FIELDS, _LOCATION, "A lead's location."),
        "Lead": _resource("leads", "LeadAttributes", {"location": "locations"}),
        "LeadAttributes": _attributes(
            LEAD_FIELDS, _LEAD, "A single lead: visits is the lifetime total.", omit=["quality"]
        ),
        "ListedLead": _resource("leads", "ListedLeadAttributes", {"location": "locations"}),
        "ListedLeadAttributes": _attributes(
            LEAD_FIELDS, _LEAD, "A lead in a list: visits and quality are for the interval."
        ),
        "Industry": _object({"name": {"type": "string"}}, ["name"]),
        "EmployeesRange": _object(
            {
                "min": _nullable("integer", "Lower bound; null when unknown.", minimum=0),
                "max": _nullable("integer", "Upper bound; null when open or unknown.", minimum=0),
            },
            ["min", "max"],
            description="Latest employee count range; min 10001 with max null means more "
            "than 10 000 employees, both null means unknown.",
        ),
        "Visit": _resource("visits", "VisitAttributes", {"location": "locations"}),
        "VisitAttributes": _attributes(VISIT_FIELDS, _VISIT, "One visit (session)."),
        "VisitRouteStep": _object(
            {
                "hostname": _string("Hostname of the visited page."),
                "page_path": _string("Path (and query) of the visited page."),
                "previous_page_path": _string("Path of the previous page or (entrance)."),
                "time_on_page": _integer("Time spent on the page in seconds.", minimum=0),
                "page_title": _string("Title of the visited page."),
                "page_url": _string("Full URL of the visited page."),
                "display_page_name": _string("Page name as displayed."),
            },
            [
                "hostname",
                "page_path",
                "previous_page_path",
                "time_on_page",
                "page_title",
                "page_url",
                "display_page_name",
            ],
        ),
        "AdobeCookies": {
            "type": "object",
            "description": "Adobe Experience Cloud ids (MCMID, MCAAMB, MCAAMLH).",
            "properties": {name: {"type": "string"} for name in ("MCMID", "MCAAMB", "MCAAMLH")},
            "additionalProperties": {"type": "string"},
        },
        "Account": _resource("accounts", "AccountAttributes", pattern="^[0-9]+$"),
        "AccountAttributes": _attributes(ACCOUNT_FIELDS, _ACCOUNT, "An account (website)."),
        "CustomFeed": _resource("custom_feeds", "CustomFeedAttributes"),
        "CustomFeedAttributes": _attributes(FEED_FIELDS, _FEED, "A feed of leads."),
        "FeedCriterion": _object(
            {
                "criterion_type": {"type": "string", "enum": [c.value for c in Criterion]},
                "search_value": _typed(
                    ["string", "integer"],
                    "The value to match; 0 on industry_code or assignee means any.",
                ),
                "excluded": _typed("boolean", "Negates the criterion."),
                "display_value": _typed(["string", "integer"], "The value as displayed."),
            },
            ["search_value", "excluded", "criterion_type", "display_value"],
        ),
        "ExportRequest": _resource("export_requests", "ExportRequestAttributes"),
        "ExportRequestAttributes": _attributes(EXPORT_FIELDS, _EXPORT, "A feed export."),
        "WebsiteTrackingScript": _resource(
            "website-tracking-scripts", "WebsiteTrackingScriptAttributes"
        ),
        "WebsiteTrackingScriptAttributes": _attributes(
            SCRIPT_FIELDS, _SCRIPT, "The account's tracking script."
        ),
        "TimelineRow": _resource("timeline_rows", "TimelineRowAttributes", {"lead": "leads"}),
        "TimelineRowAttributes": _object(
            {
                "keywords": _array({"type": "string"}, "Search terms used to find the site."),
                "quality": _integer("Lead quality for the interval.", minimum=0, maximum=10),
                "stats": _object(
                    {
                        "bounces": _integer("Single-page visits.", minimum=0),
                        "last_visit": {**date_schema, "description": "Last visit in interval."},
                        "pageviews": _integer("Pageviews in the interval.", minimum=0),
                        "visits": _integer("Visits in the interval.", minimum=0),
                    },
                    ["bounces", "last_visit", "pageviews", "visits"],
                ),
            },
            ["keywords", "quality", "stats"],
        ),
        "ExportLead": _resource("leads", "ExportLeadAttributes", {"location": "locations"}),
        "ExportLeadAttributes": _attributes(
            EXPORT_LEAD_FIELDS,
            {name: _LEAD[name] for name in EXPORT_LEAD_FIELDS},
            "The lead attributes an export file carries.",
        ),
        "ExportReport": _object(
            {
                "data": _array(_ref("TimelineRow"), "One row per lead, no 10 000 cap."),
                "included": _array(
                    {"oneOf": [_ref("ExportLead"), _ref("Location")]},
                    "The leads of the rows and their locations.",
                ),
            },
            ["data", "included"],
            description="The export file (the seed's sample report format).",
        ),
        "ExportRequestParameters": _object(
            {
                "account_id": _typed(
                    ["string", "integer"], "The account to export.", pattern="^[0-9]+$"
                ),
                "custom_feed_id": _string("The feed to export (e.g. all_leads)."),
                "start_date": {**date_schema, "description": f"Start date ({_DATE})."},
                "end_date": {**date_schema, "description": f"End date ({_DATE})."},
            },
            description="Each parameter may come from the body or the query string; all four "
            "are required.",
        ),
        "PaginationLinks": _object(
            {
                name: _string(text, format="uri")
                for name, text in (
                    ("self", "This page."),
                    ("first", "The first page."),
                    ("last", "The last page (lead lists stop at 10 000 results)."),
                    ("prev", "The previous page; absent on page 1."),
                    ("next", "The next page; absent on the last page."),
                )
            },
            ["self", "first", "last"],
            description="Absolute URLs, with page%5Bnumber%5D and page%5Bsize%5D encoded.",
        ),
        "ListMeta": _object(
            {
                "total_count": _integer(
                    "Results in the whole list (lead lists: at most 10 000).",
                    minimum=0,
                    **{EXTENSION: True},
                )
            },
            ["total_count"],
        ),
        "LeadList": _document(_array(_ref("ListedLead"), "Leads"), included="Location", paged=True),
        "LeadDocument": _document(_ref("Lead"), included="Location"),
        "VisitList": _document(_array(_ref("Visit"), "Visits"), included="Location", paged=True),
        "AccountList": _document(_array(_ref("Account"), "Accounts")),
        "AccountDocument": _document(_ref("Account")),
        "CustomFeedList": _document(_array(_ref("CustomFeed"), "Feeds, built-in ones first")),
        "CustomFeedDocument": _document(_ref("CustomFeed")),
        "ExportRequestDocument": _document(_ref("ExportRequest")),
        "WebsiteTrackingScriptDocument": _document(_ref("WebsiteTrackingScript")),
        "IpEnrichment": _resource(
            "ip_enrichments", "IpEnrichmentAttributes", {"location": "locations"}
        ),
        "IpEnrichmentAttributes": _attributes(
            IP_ENRICHMENT_FIELDS, _IP_ENRICHMENT, "The company behind an IP address."
        ),
        "IpEnrichmentDocument": _document(_ref("IpEnrichment"), included="Location"),
        "ErrorDocument": _object(
            {"errors": {"type": "array", "minItems": 1, "items": _ref("Error")}},
            ["errors"],
            description="A JSON:API error document.",
        ),
        "Error": _object(
            {
                "status": _string("The HTTP status code.", pattern="^[45][0-9]{2}$"),
                "title": _string("Short summary of the problem."),
                "detail": _string("What exactly went wrong."),
                "source": _object(
                    {"parameter": _string("The query or body parameter at fault.")},
                    ["parameter"],
                ),
            },
            ["status", "title"],
        ),
        "RateLimitDocument": _object(
            {
                "errors": {
                    "type": "array",
                    "minItems": 1,
                    "items": _object(
                        {
                            "title": _string("Which limit was exceeded."),
                            "links": _object({"about": _string("Docs.", format="uri")}, ["about"]),
                        },
                        ["title", "links"],
                    ),
                }
            },
            ["errors"],
            description="The seed's 429 body, to the letter.",
        ),
    }


# --- Parameters, headers and shared responses ---

_PATH_PARAMETERS = {
    "AccountId": ("account_id", "ID of the account (digits).", {"pattern": "^[0-9]+$"}),
    "CustomFeedId": ("custom_feed_id", "ID of the custom feed (e.g. all_leads, 9999383).", {}),
    "LeadId": ("lead_id", "ID of the lead (<company>_<location>).", {}),
    "ExportRequestId": ("id", "ID of the export request.", {}),
    "FileName": ("file_name", "The unique file name from download_url.", {}),
}


def _fieldset_name(type_: str) -> str:
    return f"fields-{type_}"


def _parameters() -> dict[str, Schema]:
    out: dict[str, Schema] = {
        key: {
            "name": name,
            "in": "path",
            "required": True,
            "description": text,
            "schema": {"type": "string", **extra},
        }
        for key, (name, text, extra) in _PATH_PARAMETERS.items()
    }
    for key, name in (("StartDate", "start_date"), ("EndDate", "end_date")):
        out[key] = {
            "name": name,
            "in": "query",
            "required": True,
            "description": f"First or last day of the interval ({_DATE}, in the account's "
            "timezone); start_date ≤ end_date.",
            "schema": {"type": "string", "format": "date"},
            "example": "2015-09-01" if name == "start_date" else "2015-09-15",
        }
    out["PageNumber"] = {
        "name": "page[number]",
        "in": "query",
        "description": "Page number, from 1.",
        "schema": {"type": "integer", "minimum": 1, "default": 1},
    }
    out["PageSize"] = {
        "name": "page[size]",
        "in": "query",
        "description": "Results per page, 1–100.",
        "schema": {"type": "integer", "minimum": 1, "maximum": 100, "default": 10},
    }
    out["Ip"] = {
        "name": "ip",
        "in": "query",
        "required": True,
        "description": "An IPv4 or IPv6 address.",
        "schema": {"type": "string"},
        "example": "203.0.113.7",
    }
    out["CustomFeedIdQuery"] = {
        "name": "custom_feed_id",
        "in": "query",
        "description": "Limit leads to a custom feed. Default: all_leads.",
        "schema": {"type": "string"},
    }
    for type_, names in TYPES.items():
        out[_fieldset_name(type_)] = {
            "name": f"fields[{type_}]",
            "in": "query",
            "description": f"Sparse fieldset: the {type_} attributes to return, comma "
            "separated. An unknown name is a 400 naming the valid ones; relationships stay.",
            "style": "form",
            "explode": False,
            "schema": {"type": "array", "items": {"type": "string", "enum": list(names)}},
        }
    return out


def _headers() -> dict[str, Schema]:
    def header(text: str, **schema: Any) -> Schema:
        return {"description": text, "required": True, "schema": {"type": "integer", **schema}}

    return {
        "X-RateLimit-Limit": header("Requests allowed in the current UTC minute.", minimum=1),
        "X-RateLimit-Remaining": header("Requests left in the current UTC minute.", minimum=0),
        "X-RateLimit-Reset": header(
            "When the window resets: epoch seconds of the next UTC minute.", multipleOf=60
        ),
        "Retry-After": header("Seconds until the window resets.", minimum=1),
        "Location": {
            "description": "The export request's status URL.",
            "required": True,
            "schema": {"type": "string", "format": "uri"},
        },
    }


_RATE_HEADERS = ("X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset")


def _header_refs(*names: str) -> dict[str, Schema]:
    return {name: _ref(name, "headers") for name in names}


def _json(schema: Schema, media_type: str = JSONAPI) -> dict[str, Schema]:
    return {media_type: {"schema": schema}}


_ERRORS = {
    "400": ("BadRequest", "Wrong or badly formatted parameters; source.parameter names the one."),
    "401": ("Unauthorized", "The API token is missing or not valid."),
    "402": ("PremiumRequired", "The account has no Premium subscription or active trial."),
    "403": (
        "Forbidden",
        "The token is disabled, or its user may not see the account (whether or not it exists).",
    ),
    "404": ("NotFound", "The resource (or route) was not found."),
}


def _responses() -> dict[str, Schema]:
    headers = _headers()
    # Errors raised before a request is counted against its token's limit (an unreadable
    # body, a token that is not valid) carry no rate-limit headers, so errors do not promise them.
    maybe = {
        name: headers[name]
        | {"required": False, "description": headers[name]["description"] + " Not on every error."}
        for name in _RATE_HEADERS
    }
    out: dict[str, Schema] = {
        name: {"description": text, "headers": maybe, "content": _json(_error_document(status))}
        for status, (name, text) in _ERRORS.items()
    }
    out["TooManyRequests"] = {
        "description": "Over the per-minute limit (100 requests per token, or per client IP "
        "without a valid token; POST /export-requests also 5 per token). The body is the "
        "seed's, to the letter.",
        "headers": _header_refs(*_RATE_HEADERS, "Retry-After"),
        "content": _json(_ref("RateLimitDocument")),
    }
    out["Error"] = {
        "description": "Any other error (405 wrong method, 413 body too large, 500) as a "
        "JSON:API error document, never with a stack trace.",
        "content": _json(_error_document()),
    }
    return out


# --- Operations ---

_RESPONSE_NAMES = {status: name for status, (name, _) in _ERRORS.items()} | {
    "429": "TooManyRequests"
}


def _operation(
    operation_id: str,
    tag: str,
    summary: str,
    ok: Schema,
    *,
    parameters: Iterable[str] = (),
    errors: Iterable[str] = ("400", "401", "403", "429"),
    description: str | None = None,
    public: bool = False,
    body: Schema | None = None,
) -> Schema:
    op: Schema = {"operationId": operation_id, "tags": [tag], "summary": summary}
    if description:
        op["description"] = description
    if public:
        op["security"] = []
    op["parameters"] = [_ref(name, "parameters") for name in parameters]
    if body:
        op["requestBody"] = body
    responses = dict(ok)
    for status in sorted(errors):
        responses[status] = _ref(_RESPONSE_NAMES[status], "responses")
    responses["default"] = _ref("Error", "responses")
    op["responses"] = responses
    return op


def _ok(
    schema: str, description: str, *, status: str = "200", headers: Iterable[str] = ()
) -> Schema:
    return {
        status: {
            "description": description,
            "headers": _header_refs(*_RATE_HEADERS, *headers),
            "content": _json(_ref(schema)),
        }
    }


_INTERVAL = ("StartDate", "EndDate", "PageNumber", "PageSize")
_LEAD_FIELDS = (_fieldset_name("leads"), _fieldset_name("locations"))
_VISIT_FIELDS = (_fieldset_name("visits"), _fieldset_name("locations"))
_LEAD_LIST_TEXT = (
    "Leads with at least one visit in the interval (dates in the account's timezone); visits "
    "and quality are for the interval. Order: last visit date desc, quality desc, id. The list "
    "stops at 10 000 leads. Lite accounts get 402."
)
_PREMIUM_ERRORS = ("400", "401", "402", "403", "404", "429")


def _feed_leads(operation_id: str, summary: str) -> Schema:
    return {
        "get": _operation(
            operation_id,
            "Leads",
            summary,
            _ok("LeadList", "A page of leads."),
            parameters=("AccountId", "CustomFeedId", *_INTERVAL, *_LEAD_FIELDS),
            errors=_PREMIUM_ERRORS,
            description=_LEAD_LIST_TEXT,
        )
    }


def _feed(operation_id: str, summary: str) -> Schema:
    return {
        "get": _operation(
            operation_id,
            "Custom feeds",
            summary,
            _ok("CustomFeedDocument", "The feed."),
            parameters=("AccountId", "CustomFeedId", _fieldset_name("custom_feeds")),
            errors=("400", "401", "403", "404", "429"),
        )
    }


def _export_status(operation_id: str, summary: str) -> Schema:
    return {
        "get": _operation(
            operation_id,
            "Exports",
            summary,
            _ok("ExportRequestDocument", "The export request."),
            parameters=("ExportRequestId", _fieldset_name("export_requests")),
            errors=("400", "401", "403", "404", "429"),
            description="Status is pending, then processed (with download_url) or failed. "
            "Only the user who requested the export sees it.",
        )
    }


def _export_body() -> Schema:
    params = _ref("ExportRequestParameters")
    wrapped = _object(
        {"data": _object({"type": {"const": "export_requests"}, "attributes": params})},
        ["data"],
        description="The same parameters as a JSON:API document's data.attributes.",
    )
    as_json = {"oneOf": [params, wrapped]}
    return {
        "required": False,
        "description": "Form, JSON or JSON:API body; query parameters work too.",
        "content": {
            "application/x-www-form-urlencoded": {"schema": params},
            "multipart/form-data": {"schema": params},
            "application/json": {"schema": as_json},
            JSONAPI: {"schema": as_json},
        },
    }


def _export_query() -> dict[str, Schema]:
    return {
        f"Export{name.title().replace('_', '')}": {
            "name": name,
            "in": "query",
            "description": f"{name}, when not in the body.",
            "schema": {"type": "string", **({"format": "date"} if "date" in name else {})},
        }
        for name in ("account_id", "custom_feed_id", "start_date", "end_date")
    }


def _paths() -> dict[str, Schema]:
    account = "AccountId"
    return {
        "/accounts": {
            "get": _operation(
                "listAccounts",
                "Accounts",
                "Accounts the token's user can access",
                _ok("AccountList", "The accounts."),
                parameters=(_fieldset_name("accounts"),),
            )
        },
        "/accounts/{account_id}": {
            "get": _operation(
                "getAccount",
                "Accounts",
                "One account",
                _ok("AccountDocument", "The account."),
                parameters=(account, _fieldset_name("accounts")),
            )
        },
        "/accounts/{account_id}/custom-feeds": {
            "get": _operation(
                "listCustomFeeds",
                "Custom feeds",
                "Custom feeds of an account",
                _ok("CustomFeedList", "The built-in feeds, then the account's own."),
                parameters=(account, _fieldset_name("custom_feeds")),
                description="Built-in: all_leads, new_leads, recommended_leads, "
                "followed_companies (followed by the token's user).",
            )
        },
        "/accounts/{account_id}/custom-feeds/{custom_feed_id}": _feed(
            "getCustomFeed", "One custom feed"
        ),
        "/accounts/{account_id}/custom-feed/{custom_feed_id}": _feed(
            "getCustomFeedAlias", "One custom feed (alias: the seed's example spells it so)"
        ),
        "/accounts/{account_id}/leads": {
            "get": _operation(
                "listLeads",
                "Leads",
                "Leads of an account in an interval",
                _ok("LeadList", "A page of leads."),
                parameters=(account, *_INTERVAL, "CustomFeedIdQuery", *_LEAD_FIELDS),
                errors=_PREMIUM_ERRORS,
                description=_LEAD_LIST_TEXT,
            )
        },
        "/accounts/{account_id}/custom-feeds/{custom_feed_id}/leads": _feed_leads(
            "listCustomFeedLeads", "Leads of a custom feed in an interval"
        ),
        "/accounts/{account_id}/custom-feed/{custom_feed_id}/leads": _feed_leads(
            "listCustomFeedLeadsAlias", "Leads of a custom feed (alias path)"
        ),
        "/accounts/{account_id}/leads/{lead_id}": {
            "get": _operation(
                "getLead",
                "Leads",
                "One lead",
                _ok("LeadDocument", "The lead, with its location included."),
                parameters=(account, "LeadId", *_LEAD_FIELDS),
                errors=_PREMIUM_ERRORS,
                description="visits is the lifetime total; quality is not present.",
            )
        },
        "/accounts/{account_id}/leads/{lead_id}/visits": {
            "get": _operation(
                "listLeadVisits",
                "Visits",
                "Visits of one lead in an interval",
                _ok("VisitList", "A page of visits, newest first."),
                parameters=(account, "LeadId", *_INTERVAL, *_VISIT_FIELDS),
                errors=_PREMIUM_ERRORS,
            )
        },
        "/accounts/{account_id}/visits": {
            "get": _operation(
                "listVisits",
                "Visits",
                "Visits of all leads in an interval",
                _ok("VisitList", "A page of visits, newest first."),
                parameters=(account, *_INTERVAL, *_VISIT_FIELDS),
                errors=("400", "401", "402", "403", "429"),
            )
        },
        "/accounts/{account_id}/website-tracking-script": {
            "get": _operation(
                "getWebsiteTrackingScript",
                "Website tracking script",
                "The tracking script of an account",
                _ok("WebsiteTrackingScriptDocument", "The script to embed."),
                parameters=(account, _fieldset_name("website-tracking-scripts")),
            )
        },
        "/export-requests": {
            "post": _operation(
                "createExportRequest",
                "Exports",
                "Request a feed export",
                _ok(
                    "ExportRequestDocument",
                    "Accepted; status is pending.",
                    status="201",
                    headers=["Location"],
                ),
                parameters=(*_export_query(), _fieldset_name("export_requests")),
                errors=_PREMIUM_ERRORS,
                description="account_id, custom_feed_id, start_date and end_date as a form, "
                "JSON or query parameters. Limited to 5 per minute per token besides the "
                "general limit.",
                body=_export_body(),
            )
        },
        "/export-requests/{id}": _export_status("getExportRequest", "Status of a feed export"),
        "/export-feed/{id}": _export_status(
            "getExportFeed", "Status of a feed export (alias: the status_url form)"
        ),
        "/download/{file_name}": {
            "get": _operation(
                "downloadExport",
                "Exports",
                "Download a finished export",
                {
                    "200": {
                        "description": "The report.",
                        "headers": _header_refs(*_RATE_HEADERS),
                        "content": _json(_ref("ExportReport"), "application/json"),
                    }
                },
                parameters=("FileName",),
                errors=("404", "429"),
                description="No token: the URL is an unguessable capability that "
                "expires (7 days by default). Limited per client IP.",
                public=True,
            )
        },
        "/ip-enrich": {
            "get": {
                **_operation(
                    "enrichIp",
                    "Identification",
                    "The company behind an IP address",
                    _ok("IpEnrichmentDocument", "The company, with its location included."),
                    parameters=("Ip", _fieldset_name("locations")),
                    errors=("400", "401", "403", "404", "429"),
                    description="Runs the resolver chain (company ranges, ASN, reverse DNS, "
                    "enrichment provider) for one address and says which resolver matched "
                    "and why. 404 when nothing identifies a company, with the reason when an "
                    "ISP, mobile or hosting network excludes it. No account's traffic rules "
                    "apply.",
                ),
                EXTENSION: True,
            }
        },
        "/openapi.json": {
            "get": _operation(
                "getOpenAPIDocument",
                "Meta",
                "This OpenAPI document",
                {
                    "200": {
                        "description": "The OpenAPI 3.1 document.",
                        "headers": _header_refs(*_RATE_HEADERS),
                        "content": _json({"type": "object"}, "application/json"),
                    }
                },
                errors=("429",),
                public=True,
            )
        },
    }


_DESCRIPTION = """\
A Leadfeeder-compatible API: the same paths, parameters and JSON:API documents, so clients
written for the Leadfeeder API work against an openfeeder base URL.

* **Authentication:** `Authorization: Token token=<token>` (also `Token token="<token>"` and
  `Bearer <token>`). Missing or unknown token: 401; disabled token: 403.
* **Rate limits:** 100 requests per token per UTC minute (per client IP without a valid token);
  `POST /export-requests` also 5 per minute. Headers `X-RateLimit-Limit`,
  `X-RateLimit-Remaining`, `X-RateLimit-Reset`; `Retry-After` on 429.
* **Errors:** JSON:API error objects with `status`, `title`, `detail` and `source.parameter`.
* **Sparse fieldsets:** `fields[<type>]=a,b` for every type.
* Properties marked `x-openfeeder-extension` are additions to the Leadfeeder contract.
"""


def openapi_document(server_url: str | None = None) -> dict[str, Any]:
    """The whole document; ``server_url`` (the public base URL) becomes its only server."""
    document: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {
            "title": "openfeeder API",
            "version": __version__,
            "description": _DESCRIPTION,
            "license": {"name": "MIT", "identifier": "MIT"},
        },
    }
    if server_url:
        document["servers"] = [{"url": server_url.rstrip("/")}]
    document["security"] = [{"token": []}, {"bearer": []}]
    document["tags"] = [
        {"name": name}
        for name in (
            "Accounts",
            "Custom feeds",
            "Leads",
            "Visits",
            "Exports",
            "Website tracking script",
            "Identification",
            "Meta",
        )
    ]
    document["paths"] = _paths()
    document["components"] = {
        "securitySchemes": {
            "token": {
                "type": "apiKey",
                "in": "header",
                "name": "Authorization",
                "description": 'The value is `Token token=<token>` (or `Token token="<token>"`).',
            },
            "bearer": {
                "type": "http",
                "scheme": "bearer",
                "description": "`Authorization: Bearer <token>` is accepted as well.",
            },
        },
        "parameters": _parameters() | _export_query(),
        "headers": _headers(),
        "responses": _responses(),
        "schemas": _schemas(),
    }
    # The attribute tables are shared module data; callers get a document of their own.
    return copy.deepcopy(document)
