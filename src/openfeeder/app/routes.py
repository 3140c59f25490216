"""Every route of the application, in one table: path, methods, surface and authentication.

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
from openfeeder.ingest import http as tracker
from openfeeder.routing import Auth, Endpoint, Surface

API, DOCUMENTS, TRACKER, OPERATIONS = (
    Surface.API,
    Surface.DOCUMENTS,
    Surface.TRACKER,
    Surface.OPERATIONS,
)
TOKEN, PUBLIC, OPERATOR = Auth.TOKEN, Auth.PUBLIC, Auth.OPERATOR


def _openapi(ctx: Context) -> Response:
    return JSONAPIResponse(openapi_document(ctx.base_url), media_type="application/json")


ROUTES: tuple[Endpoint, ...] = (
    # ── the Leadfeeder-compatible API ──
    Endpoint("/accounts", accounts.list_accounts, API, TOKEN),
    Endpoint("/accounts/{account_id}", accounts.get_account, API, TOKEN),
    Endpoint("/accounts/{account_id}/custom-feeds", accounts.list_feeds, API, TOKEN),
    Endpoint("/accounts/{account_id}/custom-feeds/{feed_id}", accounts.get_feed, API, TOKEN),
    Endpoint("/accounts/{account_id}/custom-feed/{feed_id}", accounts.get_feed, API, TOKEN),
    Endpoint("/accounts/{account_id}/leads", leads.list_leads, API, TOKEN),
    Endpoint("/accounts/{account_id}/custom-feeds/{feed_id}/leads", leads.list_leads, API, TOKEN),
    Endpoint("/accounts/{account_id}/custom-feed/{feed_id}/leads", leads.list_leads, API, TOKEN),
    Endpoint("/accounts/{account_id}/leads/{lead_id}", leads.get_lead, API, TOKEN),
    Endpoint("/accounts/{account_id}/leads/{lead_id}/visits", leads.list_visits, API, TOKEN),
    Endpoint("/accounts/{account_id}/visits", leads.list_visits, API, TOKEN),
    Endpoint(
        "/accounts/{account_id}/website-tracking-script", accounts.tracking_script, API, TOKEN
    ),
    Endpoint("/export-requests", exports.create_export, API, TOKEN, ("POST",), export_limited=True),
    Endpoint("/export-requests/{export_id}", exports.get_export, API, TOKEN),
    Endpoint("/export-feed/{export_id}", exports.get_export, API, TOKEN),
    Endpoint("/download/{file_name}", exports.download, API, PUBLIC),
    Endpoint("/ip-enrich", enrich.ip_enrich, API, TOKEN),
    # ── documents ──
    Endpoint("/openapi.json", _openapi, DOCUMENTS, PUBLIC),
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
