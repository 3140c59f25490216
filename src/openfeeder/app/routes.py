"""Every route of the application, in one table: path, methods, surface, authentication and,
for the API and document routes, what the OpenAPI document says of each (built from it).

A route cannot be served without being declared here (``surfaces.build_router`` builds the
router from this table and nothing else, and a test walks the app's routes against it).
"""

from __future__ import annotations

from starlette.responses import Response

from openfeeder.api import accounts, enrich, exports, leads
from openfeeder.api.context import Context
from openfeeder.api.jsonapi import JSONAPIResponse
from openfeeder.api.openapi import openapi_document
from openfeeder.app import operations
from openfeeder.domain.representation import (
    AccountAttributes,
    CustomFeedAttributes,
    ExportRequestAttributes,
    IpEnrichmentAttributes,
    LeadAttributes,
    VisitAttributes,
    WebsiteTrackingScriptAttributes,
)
from openfeeder.ingest import http as tracker
from openfeeder.routing import DOCUMENTED, Auth, Endpoint, Operation, Reply, Surface

API, DOCUMENTS, TRACKER, OPERATIONS = (
    Surface.API,
    Surface.DOCUMENTS,
    Surface.TRACKER,
    Surface.OPERATIONS,
)
TOKEN, PUBLIC, OPERATOR = Auth.TOKEN, Auth.PUBLIC, Auth.OPERATOR


def _openapi(ctx: Context) -> Response:
    document = openapi_document(documented(), ctx.base_url)
    return JSONAPIResponse(document, media_type="application/json")


# What the document says of each operation (summaries and descriptions are the document's).
_LEAD_LIST_TEXT = (
    "Leads with at least one visit in the interval (dates in the account's timezone); visits "
    "and quality are for the interval. Order: last visit time desc, quality desc, id. The list "
    "stops at 10 000 leads. Lite accounts get 402."
)
_INTERVAL = ("start_date", "end_date")
_LEADS_PAGE = Reply("A page of leads.", LeadAttributes, many=True, paged=True)
_VISITS_PAGE = Reply("A page of visits, newest first.", VisitAttributes, many=True, paged=True)
_FEED = Reply("The feed.", CustomFeedAttributes)
_EXPORT = Reply("The export request.", ExportRequestAttributes)
_EXPORT_STATUS_TEXT = (
    "Status is pending, then processed (with download_url) or failed. Only the user who "
    "requested the export sees it."
)


def _feed_leads(operation_id: str, summary: str) -> Operation:
    return Operation(
        operation_id,
        "Leads",
        summary,
        _LEADS_PAGE,
        _LEAD_LIST_TEXT,
        query=_INTERVAL,
        premium=True,
        errors=(404,),
    )


def _feed(operation_id: str, summary: str) -> Operation:
    return Operation(operation_id, "Custom feeds", summary, _FEED, errors=(404,))


def _export_status(operation_id: str, summary: str) -> Operation:
    return Operation(operation_id, "Exports", summary, _EXPORT, _EXPORT_STATUS_TEXT, errors=(404,))


ROUTES: tuple[Endpoint, ...] = (
    # ── the Leadfeeder-compatible API ──
    Endpoint(
        "/accounts",
        accounts.list_accounts,
        API,
        TOKEN,
        doc=Operation(
            "listAccounts",
            "Accounts",
            "Accounts the token's user can access",
            Reply("The accounts.", AccountAttributes, many=True),
        ),
    ),
    Endpoint(
        "/accounts/{account_id}",
        accounts.get_account,
        API,
        TOKEN,
        doc=Operation(
            "getAccount", "Accounts", "One account", Reply("The account.", AccountAttributes)
        ),
    ),
    Endpoint(
        "/accounts/{account_id}/custom-feeds",
        accounts.list_feeds,
        API,
        TOKEN,
        doc=Operation(
            "listCustomFeeds",
            "Custom feeds",
            "Custom feeds of an account",
            Reply("The built-in feeds, then the account's own.", CustomFeedAttributes, many=True),
            "Built-in: all_leads, new_leads, recommended_leads, followed_companies (followed "
            "by the token's user).",
        ),
    ),
    Endpoint(
        "/accounts/{account_id}/custom-feeds/{feed_id}",
        accounts.get_feed,
        API,
        TOKEN,
        doc=_feed("getCustomFeed", "One custom feed"),
    ),
    Endpoint(
        "/accounts/{account_id}/custom-feed/{feed_id}",
        accounts.get_feed,
        API,
        TOKEN,
        doc=_feed("getCustomFeedAlias", "One custom feed (alias: the seed's example spells it so)"),
    ),
    Endpoint(
        "/accounts/{account_id}/leads",
        leads.list_leads,
        API,
        TOKEN,
        doc=Operation(
            "listLeads",
            "Leads",
            "Leads of an account in an interval",
            _LEADS_PAGE,
            _LEAD_LIST_TEXT,
            query=(*_INTERVAL, "custom_feed_id"),
            premium=True,
            errors=(404,),
        ),
    ),
    Endpoint(
        "/accounts/{account_id}/custom-feeds/{feed_id}/leads",
        leads.list_leads,
        API,
        TOKEN,
        doc=_feed_leads("listCustomFeedLeads", "Leads of a custom feed in an interval"),
    ),
    Endpoint(
        "/accounts/{account_id}/custom-feed/{feed_id}/leads",
        leads.list_leads,
        API,
        TOKEN,
        doc=_feed_leads("listCustomFeedLeadsAlias", "Leads of a custom feed (alias path)"),
    ),
    Endpoint(
        "/accounts/{account_id}/leads/{lead_id}",
        leads.get_lead,
        API,
        TOKEN,
        doc=Operation(
            "getLead",
            "Leads",
            "One lead",
            Reply("The lead, with its location included.", LeadAttributes),
            "visits is the lifetime total; quality is not present.",
            premium=True,
            errors=(404,),
        ),
    ),
    Endpoint(
        "/accounts/{account_id}/leads/{lead_id}/visits",
        leads.list_visits,
        API,
        TOKEN,
        doc=Operation(
            "listLeadVisits",
            "Visits",
            "Visits of one lead in an interval",
            _VISITS_PAGE,
            query=_INTERVAL,
            premium=True,
            errors=(404,),
        ),
    ),
    Endpoint(
        "/accounts/{account_id}/visits",
        leads.list_visits,
        API,
        TOKEN,
        doc=Operation(
            "listVisits",
            "Visits",
            "Visits of all leads in an interval",
            _VISITS_PAGE,
            query=_INTERVAL,
            premium=True,
        ),
    ),
    Endpoint(
        "/accounts/{account_id}/website-tracking-script",
        accounts.tracking_script,
        API,
        TOKEN,
        doc=Operation(
            "getWebsiteTrackingScript",
            "Website tracking script",
            "The tracking script of an account",
            Reply("The script to embed.", WebsiteTrackingScriptAttributes),
        ),
    ),
    Endpoint(
        "/export-requests",
        exports.create_export,
        API,
        TOKEN,
        ("POST",),
        export_limited=True,
        doc=Operation(
            "createExportRequest",
            "Exports",
            "Request a feed export",
            Reply(
                "Accepted; status is pending.",
                ExportRequestAttributes,
                status=201,
                headers=("Location",),
            ),
            "account_id, custom_feed_id, start_date and end_date as a form, JSON or query "
            "parameters. Limited to 5 per minute per token besides the general limit.",
            query=("account_id", "custom_feed_id", *_INTERVAL),
            body="ExportRequestParameters",
            premium=True,
            errors=(404,),
        ),
    ),
    Endpoint(
        "/export-requests/{export_id}",
        exports.get_export,
        API,
        TOKEN,
        doc=_export_status("getExportRequest", "Status of a feed export"),
    ),
    Endpoint(
        "/export-feed/{export_id}",
        exports.get_export,
        API,
        TOKEN,
        doc=_export_status("getExportFeed", "Status of a feed export (alias: the status_url form)"),
    ),
    Endpoint(
        "/download/{file_name}",
        exports.download,
        API,
        PUBLIC,
        doc=Operation(
            "downloadExport",
            "Exports",
            "Download a finished export",
            Reply("The report.", schema="ExportReport", media_type="application/json"),
            "No token: the URL is an unguessable capability that expires (7 days by default). "
            "Limited per client IP.",
            errors=(404,),
        ),
    ),
    Endpoint(
        "/ip-enrich",
        enrich.ip_enrich,
        API,
        TOKEN,
        doc=Operation(
            "enrichIp",
            "Identification",
            "The company behind an IP address",
            Reply("The company, with its location included.", IpEnrichmentAttributes),
            "Runs the resolver chain (company ranges, ASN, reverse DNS, enrichment provider) "
            "for one address and says which resolver matched and why. 404 when nothing "
            "identifies a company, with the reason when an ISP, mobile or hosting network "
            "excludes it. No account's traffic rules apply.",
            query=("ip",),
            errors=(404,),
            extension=True,
        ),
    ),
    # ── documents ──
    Endpoint(
        "/openapi.json",
        _openapi,
        DOCUMENTS,
        PUBLIC,
        doc=Operation(
            "getOpenAPIDocument",
            "Meta",
            "This OpenAPI document",
            Reply("The OpenAPI 3.1 document.", media_type="application/json"),
        ),
    ),
    # ── the tracker: hits and the script site owners embed ──
    Endpoint("/tr", tracker.track, TRACKER, PUBLIC, ("GET", "POST")),
    Endpoint("/tr", tracker.preflight, TRACKER, PUBLIC, ("OPTIONS",)),
    Endpoint("/lftracker_v1_{name}", tracker.tracker_script, TRACKER, PUBLIC),
    # ── operations ──
    Endpoint("/metrics", operations.metrics, OPERATIONS, OPERATOR),
)


def on(surface: Surface) -> tuple[Endpoint, ...]:
    """The table's routes of one surface, in table order."""
    return tuple(endpoint for endpoint in ROUTES if endpoint.surface is surface)


def documented() -> tuple[Endpoint, ...]:
    """The routes the OpenAPI document describes (the API's and the documents'), in table
    order."""
    return tuple(endpoint for endpoint in ROUTES if endpoint.surface in DOCUMENTED)
