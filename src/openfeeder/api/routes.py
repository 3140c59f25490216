"""Every route in one table, grouped by surface; a route cannot exist without its auth.

Each handler is plain synchronous code (parse → one service call → render) run in the
thread pool; the wrapper here reads the body, authenticates, applies rate limits and turns
any ``OpenfeederError`` into a JSON:API error, so handlers never deal with any of that.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from openfeeder.api import accounts, enrich, exports, leads
from openfeeder.api.admission import Auth, admit
from openfeeder.api.context import Context, Services
from openfeeder.api.errors import error_response
from openfeeder.api.jsonapi import ALL_FIELDS, Fieldsets, JSONAPIResponse
from openfeeder.api.openapi import openapi_document
from openfeeder.api.resources import TYPES
from openfeeder.domain.errors import BadRequest, OpenfeederError, PayloadTooLarge
from openfeeder.ingest.http import metrics_route, tracker_routes

MAX_BODY = 64 * 1024


@dataclass(frozen=True)
class Endpoint:
    path: str
    handler: Callable[..., Response]
    auth: Auth
    method: str = "GET"
    export_limited: bool = False


PUBLIC_API = [
    Endpoint("/accounts", accounts.list_accounts, Auth.TOKEN),
    Endpoint("/accounts/{account_id}", accounts.get_account, Auth.TOKEN),
    Endpoint("/accounts/{account_id}/custom-feeds", accounts.list_feeds, Auth.TOKEN),
    Endpoint("/accounts/{account_id}/custom-feeds/{feed_id}", accounts.get_feed, Auth.TOKEN),
    Endpoint("/accounts/{account_id}/custom-feed/{feed_id}", accounts.get_feed, Auth.TOKEN),
    Endpoint("/accounts/{account_id}/leads", leads.list_leads, Auth.TOKEN),
    Endpoint("/accounts/{account_id}/custom-feeds/{feed_id}/leads", leads.list_leads, Auth.TOKEN),
    Endpoint("/accounts/{account_id}/custom-feed/{feed_id}/leads", leads.list_leads, Auth.TOKEN),
    Endpoint("/accounts/{account_id}/leads/{lead_id}", leads.get_lead, Auth.TOKEN),
    Endpoint("/accounts/{account_id}/leads/{lead_id}/visits", leads.list_visits, Auth.TOKEN),
    Endpoint("/accounts/{account_id}/visits", leads.list_visits, Auth.TOKEN),
    Endpoint(
        "/accounts/{account_id}/website-tracking-script", accounts.tracking_script, Auth.TOKEN
    ),
    Endpoint("/export-requests", exports.create_export, Auth.TOKEN, "POST", export_limited=True),
    Endpoint("/export-requests/{export_id}", exports.get_export, Auth.TOKEN),
    Endpoint("/export-feed/{export_id}", exports.get_export, Auth.TOKEN),
    Endpoint("/download/{file_name}", exports.download, Auth.PUBLIC),
    Endpoint("/ip-enrich", enrich.ip_enrich, Auth.TOKEN),
]


def _openapi(ctx: Context) -> Response:
    return JSONAPIResponse(openapi_document(ctx.base_url), media_type="application/json")


DOCUMENTS = [Endpoint("/openapi.json", _openapi, Auth.PUBLIC)]


async def _body_params(request: Request) -> dict[str, str]:
    if request.method not in ("POST", "PUT", "PATCH"):
        return {}
    body = await request.body()
    if len(body) > MAX_BODY:
        raise PayloadTooLarge(f"The request body is larger than {MAX_BODY} bytes.")
    if not body:
        return {}
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type.endswith("json"):
        try:
            parsed = orjson.loads(body)
        except orjson.JSONDecodeError:
            raise BadRequest("The request body is not valid JSON.") from None
        if isinstance(parsed, dict) and isinstance(parsed.get("data"), dict):
            parsed = parsed["data"].get("attributes", parsed["data"])  # a JSON:API document
        if not isinstance(parsed, dict):
            raise BadRequest("The JSON body must be an object.")
        return {str(k): str(v) for k, v in parsed.items() if v is not None}
    form = await request.form()
    return {k: v for k, v in form.items() if isinstance(v, str)}


def _run(endpoint: Endpoint, request: Request, body: dict[str, str] | OpenfeederError) -> Response:
    services: Services = request.app.state.services
    headers: dict[str, str] = {}
    try:
        user, headers = admit(
            services, request, endpoint.auth, export_limited=endpoint.export_limited
        )
        if isinstance(body, OpenfeederError):
            raise body  # an unreadable body still counted against the rate limit above
        query = dict(request.query_params)
        ctx = Context(
            request=request,
            services=services,
            user_or_none=user,
            params=query | body,
            fields=Fieldsets.parse(query, TYPES) if endpoint.auth is Auth.TOKEN else ALL_FIELDS,
        )
        response = endpoint.handler(ctx, **request.path_params)
    except OpenfeederError as error:
        return error_response(error, headers)
    response.headers.update(headers)
    return response


def _asgi(endpoint: Endpoint) -> Callable[[Request], Any]:
    async def asgi_endpoint(request: Request) -> Response:
        body: dict[str, str] | OpenfeederError
        try:
            body = await _body_params(request)
        except OpenfeederError as error:
            body = error
        return await run_in_threadpool(_run, endpoint, request, body)

    asgi_endpoint.__name__ = endpoint.handler.__name__
    return asgi_endpoint


def routes() -> list[BaseRoute]:
    """The public API and documents from the tables above, then the tracker surface (its own
    handlers: no token, a per-IP flood limit, group-committed appends) and /metrics."""
    api = [Route(e.path, _asgi(e), methods=[e.method]) for e in PUBLIC_API + DOCUMENTS]
    return api + tracker_routes() + [metrics_route()]
