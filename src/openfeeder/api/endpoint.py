"""How the API and document surfaces call their handlers.

Each handler is plain synchronous code (parse → one service call → render) run in the
thread pool; the wrapper here reads the body, authenticates, applies rate limits and turns
any ``OpenfeederError`` into a JSON:API error, so handlers never deal with any of that.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from openfeeder.api import params
from openfeeder.api.admission import admit
from openfeeder.api.context import Context
from openfeeder.api.errors import error_response
from openfeeder.api.jsonapi import ALL_FIELDS, Fieldsets
from openfeeder.api.resources import TYPES
from openfeeder.domain.errors import BadRequest, OpenfeederError, PayloadTooLarge
from openfeeder.routing import Auth, Endpoint
from openfeeder.services.container import Services

MAX_BODY = 64 * 1024


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
        params.refuse_control_characters(request.path_params)
        params.refuse_control_characters(query)
        params.refuse_control_characters(body)
        ctx = Context(
            request=request,
            services=services,
            user_or_none=user,
            params=query | body,
            fields=Fieldsets.parse(query, TYPES) if endpoint.auth is Auth.TOKEN else ALL_FIELDS,
        )
        response: Response = endpoint.handler(ctx, **request.path_params)
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


def route(endpoint: Endpoint) -> Route:
    """The Starlette route of an API or document endpoint."""
    return Route(endpoint.path, _asgi(endpoint), methods=list(endpoint.methods))
