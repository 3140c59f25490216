"""The one place exceptions become JSON:API error responses (no stack trace ever leaves)."""

from __future__ import annotations

import logging

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from openfeeder.api.admission import admit
from openfeeder.api.jsonapi import JSONAPIResponse
from openfeeder.domain.errors import (
    MethodNotAllowed,
    NotFound,
    OpenfeederError,
    RateLimited,
)
from openfeeder.routing import Auth

log = logging.getLogger(__name__)


def error_response(error: OpenfeederError, headers: dict[str, str] | None = None) -> Response:
    headers = (headers or {}) | error.headers
    if isinstance(error, RateLimited):
        return JSONAPIResponse(error.body(), 429, headers=headers)
    body: dict[str, object] = {"status": str(error.status), "title": error.title}
    body["detail"] = error.detail
    if error.parameter:
        body["source"] = {"parameter": error.parameter}
    return JSONAPIResponse({"errors": [body]}, error.status, headers=headers)


async def http_exception(request: Request, exc: Exception) -> Response:
    """404 and 405 from routing. They count against the rate limit like any API request, so
    a client past its limit gets the 429 here too (the seed's own example is a POST /accounts)."""
    assert isinstance(exc, HTTPException)
    if exc.status_code in (404, 405):
        error: OpenfeederError = (
            NotFound("No such route.")
            if exc.status_code == 404
            else MethodNotAllowed("This method is not allowed on this path.")
        )
        error.headers.update(exc.headers or {})  # Allow, on a 405 (RFC 9110)
        return await run_in_threadpool(_limited_error, request, error)
    return JSONAPIResponse(
        {"errors": [{"status": str(exc.status_code), "title": exc.detail}]}, exc.status_code
    )


def _limited_error(request: Request, error: OpenfeederError) -> Response:
    auth = Auth.TOKEN if request.headers.get("authorization") else Auth.PUBLIC
    try:
        _user, headers = admit(request.app.state.services, request, auth)
    except RateLimited as limited:
        return error_response(limited)
    except OpenfeederError as auth_error:
        headers = auth_error.headers  # counted against the client IP
    return error_response(error, headers)


async def server_error(_request: Request, exc: Exception) -> Response:
    log.exception("unhandled error", exc_info=exc)
    # The server closes the connection after an unhandled error; say so, so a client with a
    # kept-alive connection does not send its next request into a closed socket.
    error = OpenfeederError("The server could not process the request.")
    error.headers["Connection"] = "close"
    return error_response(error)
