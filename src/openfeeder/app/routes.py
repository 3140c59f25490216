"""Every route of the application, in one table: path, methods, surface, authentication and,
for the API and document routes, what the OpenAPI document says of each (built from it).

A route cannot be served without being declared here (``surfaces.build_router`` builds the
router from this table and nothing else, and a test walks the app's routes against it).
"""

from __future__ import annotations

from starlette.responses import Response

from openfeeder.api import accounts, enrich, exports, hooks, leads
from openfeeder.api.context import Context
from openfeeder.api.jsonapi import JSONAPIResponse
from openfeeder.api.openapi import openapi_document
from openfeeder.app import operations
from openfeeder.config import Settings
from openfeeder.dashboard import alerts, digests, overview, pages, people, reset, unsubscribe
from openfeeder.domain.alerts import HookAttributes
from openfeeder.domain.events import SCRIPT_ID
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
from openfeeder.ingest.metrics import OUTCOMES
from openfeeder.routing import (
    DOCUMENTED,
    JSONAPI,
    Answer,
    Auth,
    Endpoint,
    Operation,
    Parameter,
    RawOperation,
    Reply,
    Surface,
)

API, DOCUMENTS, TRACKER, OPERATIONS, DASHBOARD = (
    Surface.API,
    Surface.DOCUMENTS,
    Surface.TRACKER,
    Surface.OPERATIONS,
    Surface.DASHBOARD,
)
TOKEN, PUBLIC, OPERATOR, SESSION = Auth.TOKEN, Auth.PUBLIC, Auth.OPERATOR, Auth.SESSION
CAPABILITY = Auth.CAPABILITY


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


# The tracker surface, as strict as its handlers (``ingest/http.py``, ``domain/events.py``).
_MAX_EVENT = Settings.model_fields["tracker_max_body"].default
_WIRE = tracker.wire_limit(_MAX_EVENT)
_EVENT_TEXT = (
    f"The event: base64 (standard or URL-safe, padding optional) of a UTF-8 JSON object of at "
    f"most {_MAX_EVENT} bytes (OPENFEEDER_TRACKER_MAX_BODY), as docs/tracking.md describes it."
)
_SID = Parameter(
    "sid",
    "query",
    "The account's script hash; without it, the event's scriptId names the account.",
    {"type": "string", "pattern": f"^{SCRIPT_ID.pattern}$"},
)
_EVENT = {"type": "string", "pattern": tracker.BASE64, "maxLength": _WIRE}
_TRACKER_ERROR = {
    "type": "object",
    "description": "Why the tracker refused a request; error is also its /metrics counter.",
    "properties": {
        "error": {"enum": [o for o in OUTCOMES if o not in ("accepted", "duplicate")]},
        "detail": {"type": "string"},
    },
    "required": ["error"],
    "additionalProperties": False,
}
_OPEN = ("Access-Control-Allow-Origin", "Cache-Control")
_HIT_ERRORS = tuple(
    Answer(status, text, {"application/json": "TrackerError"}, _OPEN + extra, maybe)
    for status, text, extra, maybe in (
        (400, "The event is not one the tracker takes (error names why).", (), ()),
        (404, "No account has this script hash (sid, or the event's scriptId).", (), ()),
        (413, "The event is larger than the limit.", (), ()),
        (
            429,
            "More hits from this client address in this UTC minute than the flood limit.",
            ("X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset", "Retry-After"),
            (),
        ),
        (503, "The hit could not be stored; the browser sends it again.", (), ("Retry-After",)),
    )
)
_HIT_TEXT = (
    "Answered only once the hit is committed to the store (durable group commit): a success "
    "means it is stored, and a repeated clientEventId is a success too. No token; any origin."
)


def _hit(operation_id: str, summary: str, success: Answer, *, beacon: bool) -> RawOperation:
    data = Parameter(
        "data",
        "query",
        _EVENT_TEXT + (" Instead of the body." if beacon else ""),
        _EVENT,
        required=not beacon,
    )
    return RawOperation(
        operation_id,
        "Tracker",
        summary,
        (success, *_HIT_ERRORS),
        _HIT_TEXT,
        (_SID, data),
        body={"text/plain": _EVENT | {"description": _EVENT_TEXT}} if beacon else None,
        schemas={"TrackerError": _TRACKER_ERROR},
    )


_SCRIPT_NAME = "^[0-9A-Za-z]{1,32}(_[0-9A-Za-z]{1,64})?\\.js$"
_SCRIPT = RawOperation(
    "getTrackerScript",
    "Tracker",
    "The tracking script of an account",
    (
        Answer(
            200,
            "The script, configured for the account.",
            {"application/javascript": {"type": "string"}},
            ("Access-Control-Allow-Origin", "Cache-Control", "ETag", "Vary"),
            ("Content-Encoding",),
        ),
        Answer(
            304,
            "Not modified: If-None-Match holds the script's ETag.",
            None,
            ("Access-Control-Allow-Origin", "Cache-Control", "ETag", "Vary"),
        ),
        Answer(
            404,
            "No account has this script hash, or the name is no script's (a name with a "
            "slash is no tracker path at all: the API's 404 document).",
            {"application/json": "TrackerError", JSONAPI: "ErrorDocument"},
            (),
            ("Cache-Control",),
        ),
        Answer(503, "This process serves no tracker.", {"application/json": "TrackerError"}),
    ),
    "What the snippet of GET /accounts/{account_id}/website-tracking-script loads: "
    "lftracker_v1_<script hash>.js, or lftracker_v1_<script hash>_<variant>.js.",
    (
        Parameter(
            "name",
            "path",
            "<script hash>.js or <script hash>_<variant>.js.",
            {"type": "string", "pattern": _SCRIPT_NAME},
        ),
        Parameter("If-None-Match", "header", "The ETag of a copy held.", {"type": "string"}),
        Parameter(
            "Accept-Encoding", "header", "With gzip, the script comes gzipped.", {"type": "string"}
        ),
    ),
    schemas={"TrackerError": _TRACKER_ERROR},
)

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
    Endpoint(
        "/hooks",
        hooks.create_hook,
        API,
        TOKEN,
        ("POST",),
        doc=Operation(
            "createHook",
            "Hooks",
            "Subscribe a URL to an account's alert events",
            Reply(
                "The hook, with its signing secret (shown this once).",
                HookAttributes,
                status=201,
                headers=("Location",),
            ),
            "REST hooks for automation platforms: each event of the type about a lead of the "
            "feed (all_leads by default) is POSTed to target_url, signed as Standard Webhooks "
            "(docs/alerts.md), retried for about a day. account_id, target_url and event as "
            "a form or JSON; days (lead.returning, 7), pattern (lead.page_visit, required) and "
            "quality (lead.quality, 5) tune the trigger.",
            body="HookParameters",
            extension=True,
        ),
    ),
    Endpoint(
        "/hooks/{hook_id}",
        hooks.delete_hook,
        API,
        TOKEN,
        ("DELETE",),
        doc=Operation(
            "deleteHook",
            "Hooks",
            "Unsubscribe a REST hook",
            Reply("The hook, now removed.", HookAttributes),
            "Only the user who subscribed it can remove it; 404 for any other id.",
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
    Endpoint(
        "/tr",
        tracker.track,
        TRACKER,
        PUBLIC,
        doc=_hit(
            "trackPixel",
            "A tracker hit as an image request",
            Answer(
                200,
                "Stored: a 1×1 transparent GIF.",
                {"image/gif": {"type": "string", "contentMediaType": "image/gif"}},
                _OPEN,
            ),
            beacon=False,
        ),
    ),
    Endpoint(
        "/tr",
        tracker.track,
        TRACKER,
        PUBLIC,
        ("POST",),
        doc=_hit(
            "trackBeacon",
            "A tracker hit as a beacon (navigator.sendBeacon)",
            Answer(204, "Stored.", None, _OPEN),
            beacon=True,
        ),
    ),
    Endpoint("/tr", tracker.preflight, TRACKER, PUBLIC, ("OPTIONS",)),
    Endpoint("/lftracker_v1_{name}", tracker.tracker_script, TRACKER, PUBLIC, doc=_SCRIPT),
    # ── operations ──
    Endpoint("/healthz", operations.healthz, OPERATIONS, PUBLIC),
    Endpoint("/readyz", operations.readyz, OPERATIONS, PUBLIC),
    Endpoint("/metrics", operations.metrics, OPERATIONS, OPERATOR),
    # ── the dashboard: pages for the people who work the leads ──
    Endpoint("/app/static/{name}", pages.static, DASHBOARD, PUBLIC),
    Endpoint("/app/login", pages.login_page, DASHBOARD, PUBLIC),
    Endpoint("/app/login", pages.login, DASHBOARD, PUBLIC, ("POST",)),
    Endpoint("/app/logout", pages.logout, DASHBOARD, SESSION, ("POST",)),
    # A digest's unsubscribe link: the token in the path is its credential, and its POST is
    # also RFC 8058's one-click unsubscribe, sent by mail clients without any CSRF token.
    Endpoint("/app/unsubscribe/{token}", unsubscribe.unsubscribe_page, DASHBOARD, CAPABILITY),
    Endpoint("/app/unsubscribe/{token}", unsubscribe.unsubscribe, DASHBOARD, CAPABILITY, ("POST",)),
    # A forgotten password: ask for a link by email; the token in the link is its credential.
    Endpoint("/app/reset", reset.request_page, DASHBOARD, PUBLIC),
    Endpoint("/app/reset", reset.request_reset, DASHBOARD, PUBLIC, ("POST",)),
    Endpoint("/app/reset/{token}", reset.reset_page, DASHBOARD, PUBLIC),
    Endpoint("/app/reset/{token}", reset.reset, DASHBOARD, PUBLIC, ("POST",)),
    Endpoint("/app", pages.home, DASHBOARD, SESSION),
    Endpoint("/app/{account_id}/overview", overview.overview_page, DASHBOARD, SESSION),
    Endpoint("/app/{account_id}/leads", pages.feed_view, DASHBOARD, SESSION),
    Endpoint("/app/{account_id}/leads.csv", pages.feed_csv, DASHBOARD, SESSION),
    Endpoint("/app/{account_id}/settings/tracking", pages.tracking_settings, DASHBOARD, SESSION),
    Endpoint(
        "/app/{account_id}/settings/tracking/check",
        pages.check_installation,
        DASHBOARD,
        SESSION,
        ("POST",),
    ),
    Endpoint("/app/{account_id}/settings/rules", pages.rules_settings, DASHBOARD, SESSION),
    Endpoint("/app/{account_id}/settings/rules", pages.add_rule, DASHBOARD, SESSION, ("POST",)),
    Endpoint(
        "/app/{account_id}/settings/rules/{rule_id}/delete",
        pages.delete_rule,
        DASHBOARD,
        SESSION,
        ("POST",),
    ),
    Endpoint("/app/{account_id}/feeds/new", pages.new_feed, DASHBOARD, SESSION),
    Endpoint("/app/{account_id}/feeds/count", pages.feed_count, DASHBOARD, SESSION),
    Endpoint("/app/{account_id}/feeds", pages.save_feed, DASHBOARD, SESSION, ("POST",)),
    Endpoint("/app/{account_id}/feeds/{feed_id}/edit", pages.edit_feed, DASHBOARD, SESSION),
    Endpoint("/app/{account_id}/feeds/{feed_id}", pages.update_feed, DASHBOARD, SESSION, ("POST",)),
    Endpoint(
        "/app/{account_id}/feeds/{feed_id}/delete",
        pages.delete_feed,
        DASHBOARD,
        SESSION,
        ("POST",),
    ),
    # people: members and invitations, API tokens, the account (admins); one's own page
    Endpoint("/app/{account_id}/settings/members", people.members_page, DASHBOARD, SESSION),
    Endpoint("/app/{account_id}/settings/members", people.invite, DASHBOARD, SESSION, ("POST",)),
    Endpoint(
        "/app/{account_id}/settings/members/{user_id}/role",
        people.set_role,
        DASHBOARD,
        SESSION,
        ("POST",),
    ),
    Endpoint(
        "/app/{account_id}/settings/members/{user_id}/remove",
        people.remove_member,
        DASHBOARD,
        SESSION,
        ("POST",),
    ),
    Endpoint(
        "/app/{account_id}/settings/invitations/{invitation_id}/revoke",
        people.revoke_invitation,
        DASHBOARD,
        SESSION,
        ("POST",),
    ),
    Endpoint("/app/{account_id}/settings/tokens", people.tokens_page, DASHBOARD, SESSION),
    Endpoint(
        "/app/{account_id}/settings/tokens", people.create_token, DASHBOARD, SESSION, ("POST",)
    ),
    Endpoint(
        "/app/{account_id}/settings/tokens/{token_id}/disable",
        people.disable_token,
        DASHBOARD,
        SESSION,
        ("POST",),
    ),
    Endpoint("/app/{account_id}/settings/account", people.account_page, DASHBOARD, SESSION),
    Endpoint(
        "/app/{account_id}/settings/account", people.save_account, DASHBOARD, SESSION, ("POST",)
    ),
    # alerts: endpoints, rules and the delivery log (admins)
    Endpoint("/app/{account_id}/settings/alerts", alerts.alerts_page, DASHBOARD, SESSION),
    Endpoint(
        "/app/{account_id}/settings/alerts/endpoints",
        alerts.create_endpoint,
        DASHBOARD,
        SESSION,
        ("POST",),
    ),
    Endpoint(
        "/app/{account_id}/settings/alerts/endpoints/{endpoint_id}/test",
        alerts.send_test_event,
        DASHBOARD,
        SESSION,
        ("POST",),
    ),
    Endpoint(
        "/app/{account_id}/settings/alerts/endpoints/{endpoint_id}/enable",
        alerts.enable_endpoint,
        DASHBOARD,
        SESSION,
        ("POST",),
    ),
    Endpoint(
        "/app/{account_id}/settings/alerts/endpoints/{endpoint_id}/disable",
        alerts.disable_endpoint,
        DASHBOARD,
        SESSION,
        ("POST",),
    ),
    Endpoint(
        "/app/{account_id}/settings/alerts/endpoints/{endpoint_id}/rotate",
        alerts.rotate_secret,
        DASHBOARD,
        SESSION,
        ("POST",),
    ),
    Endpoint(
        "/app/{account_id}/settings/alerts/endpoints/{endpoint_id}/delete",
        alerts.delete_endpoint,
        DASHBOARD,
        SESSION,
        ("POST",),
    ),
    Endpoint(
        "/app/{account_id}/settings/alerts/rules",
        alerts.create_rule,
        DASHBOARD,
        SESSION,
        ("POST",),
    ),
    Endpoint(
        "/app/{account_id}/settings/alerts/rules/{alert_rule_id}/enable",
        alerts.enable_rule,
        DASHBOARD,
        SESSION,
        ("POST",),
    ),
    Endpoint(
        "/app/{account_id}/settings/alerts/rules/{alert_rule_id}/disable",
        alerts.disable_rule,
        DASHBOARD,
        SESSION,
        ("POST",),
    ),
    Endpoint(
        "/app/{account_id}/settings/alerts/rules/{alert_rule_id}/delete",
        alerts.delete_rule,
        DASHBOARD,
        SESSION,
        ("POST",),
    ),
    Endpoint(
        "/app/{account_id}/settings/alerts/deliveries", alerts.deliveries_page, DASHBOARD, SESSION
    ),
    Endpoint(
        "/app/{account_id}/settings/alerts/deliveries/{delivery_id}",
        alerts.delivery_page,
        DASHBOARD,
        SESSION,
    ),
    Endpoint(
        "/app/{account_id}/settings/alerts/deliveries/{delivery_id}/replay",
        alerts.replay_delivery,
        DASHBOARD,
        SESSION,
        ("POST",),
    ),
    # A member's own digest subscriptions (an admin sees everyone's): dashboard/digests.py.
    Endpoint("/app/{account_id}/digests", digests.digests_page, DASHBOARD, SESSION),
    Endpoint("/app/{account_id}/digests", digests.add_digest, DASHBOARD, SESSION, ("POST",)),
    Endpoint(
        "/app/{account_id}/digests/{digest_id}/remove",
        digests.remove_digest,
        DASHBOARD,
        SESSION,
        ("POST",),
    ),
    Endpoint("/app/me", people.me_page, DASHBOARD, SESSION),
    Endpoint("/app/me/password", people.change_password, DASHBOARD, SESSION, ("POST",)),
    Endpoint("/app/me/sessions/end", people.end_sessions, DASHBOARD, SESSION, ("POST",)),
    Endpoint("/app/invite/{token}", people.invite_page, DASHBOARD, PUBLIC),
    Endpoint("/app/invite/{token}", people.accept_invite, DASHBOARD, PUBLIC, ("POST",)),
    Endpoint("/app/{account_id}/leads/{lead_id}", pages.lead_page, DASHBOARD, SESSION),
    Endpoint(
        "/app/{account_id}/leads/{lead_id}/{action}",
        pages.lead_action,
        DASHBOARD,
        SESSION,
        ("POST",),
    ),
)


def on(surface: Surface) -> tuple[Endpoint, ...]:
    """The table's routes of one surface, in table order."""
    return tuple(endpoint for endpoint in ROUTES if endpoint.surface is surface)


def documented() -> tuple[Endpoint, ...]:
    """The routes the OpenAPI document describes (the API's, the documents' and the tracker's
    but its preflight), in table order."""
    return tuple(endpoint for endpoint in ROUTES if endpoint.surface in DOCUMENTED or endpoint.doc)
