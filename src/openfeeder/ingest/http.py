"""The tracker surface's handlers: ``/tr`` (pixel GET and beacon POST, open to every origin,
no token) and the script at ``/lftracker_v1_<hash>.js``. They answer CORS themselves (the
surface has no CORS middleware), including the 24-hour preflight of ``/tr``.

``/tr`` only reads the request into an ``IncomingHit`` — client address, flood limit, size,
decoding, the account of the script — and hands it to the ingestor, which answers once the
hit is on disk. Nothing slow (DNS, GeoIP, identification) happens here; the pipeline does it.
"""

from __future__ import annotations

import base64
import re
from typing import Final

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from openfeeder.domain import events
from openfeeder.domain.errors import RateLimited
from openfeeder.domain.ids import whole_number
from openfeeder.ingest import script
from openfeeder.ingest.append import IncomingHit, Ingestor, IngestUnavailable
from openfeeder.ratelimit import MemoryCounter, RateLimiter
from openfeeder.services.urls import public_base_url

PIXEL: Final = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")
CORS: Final = {"Access-Control-Allow-Origin": "*"}
NO_STORE: Final = {"Cache-Control": "no-store"}
PREFLIGHT: Final = CORS | {
    "Access-Control-Allow-Methods": "GET, POST, OPTIONS",
    "Access-Control-Allow-Headers": "Content-Type",
    "Access-Control-Max-Age": "86400",
}
# Request headers the pipeline needs: prefetch markers (a prefetched page was not seen) and
# client hints (device type when the user agent is reduced).
META_HEADERS: Final = (
    "sec-purpose",
    "purpose",
    "x-purpose",
    "x-moz",
    "sec-ch-ua",
    "sec-ch-ua-mobile",
    "sec-ch-ua-platform",
)
MAX_USER_AGENT: Final = 1024  # real ones are a few hundred characters; the rest is noise
SCRIPT_NAME: Final = re.compile(r"([0-9A-Za-z]{1,32})(?:_[0-9A-Za-z]{1,64})?\.js")


class Refused(Exception):
    """A tracker request we answer with an error; ``reason`` is also its counter's name."""

    def __init__(
        self, status: int, reason: str, detail: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.reason = reason
        self.detail = detail
        self.headers = headers or {}


def _ingestor(request: Request) -> Ingestor:
    ingest = request.app.state.services.ingest
    if ingest is None:
        raise Refused(503, "unavailable", "this process does not accept tracker hits")
    assert isinstance(ingest, Ingestor)
    return ingest


def _wire_limit(max_event: int) -> int:
    # base64 of the largest event we take, plus room for padding and stray blanks.
    return (max_event + 2) // 3 * 4 + 16


async def _event_data(request: Request, max_event: int) -> str | bytes:
    """The base64 event: ``data`` in the query string, or the POST body."""
    limit = _wire_limit(max_event)
    too_large = Refused(413, "too_large", f"the event is larger than {max_event} bytes")
    data = request.query_params.get("data")
    if request.method == "POST" and not data:
        declared = whole_number(request.headers.get("content-length", ""))
        if declared is not None and declared > limit:
            raise too_large
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > limit:
                raise too_large
        return bytes(body)
    if data and len(data) > limit:
        raise too_large
    return data or ""


async def _check_flood(limiter: RateLimiter, ingest: Ingestor, ip: str) -> None:
    try:
        if isinstance(limiter.counter, MemoryCounter):
            limiter.check(f"ip:{ip}", ingest.flood_limit)
        else:  # Redis: a network round trip, kept off the event loop
            await run_in_threadpool(limiter.check, f"ip:{ip}", ingest.flood_limit)
    except RateLimited as limited:
        raise Refused(429, "flood", limited.detail, limited.headers) from None


async def read_hit(request: Request, ingest: Ingestor) -> IncomingHit:
    """Turn a ``/tr`` request into a hit, or raise Refused."""
    peer = request.client.host if request.client else None
    ip = ingest.addresses.resolve(peer, request.headers.getlist("x-forwarded-for"))
    await _check_flood(request.app.state.services.limiter, ingest, ip)
    max_event = ingest.settings.tracker_max_body
    data = await _event_data(request, max_event)
    sid = request.query_params.get("sid") or None
    try:
        event = events.parse(data, sid, max_event)
    except events.BadEvent as bad:
        status = 413 if bad.reason == "too_large" else 400
        raise Refused(status, bad.reason, bad.detail) from None
    script_hash = sid or event.script_id
    account_id = None
    if script_hash and events.SCRIPT_ID.fullmatch(script_hash):
        account_id = await ingest.sites.account_id(script_hash)
    if account_id is None:
        raise Refused(404, "unknown_script", "no account has this tracking script")
    headers = request.headers
    return IncomingHit(
        account_id=account_id,
        event=dict(event.raw),
        ip=ip,
        user_agent=(headers.get("user-agent") or "")[:MAX_USER_AGENT] or None,
        accept_language=(headers.get("accept-language") or "")[:200] or None,
        request_meta={name: headers[name][:500] for name in META_HEADERS if name in headers},
        received_at=request.app.state.services.clock.now(),
    )


async def track(request: Request) -> Response:
    """``GET /tr?sid=…&data=…`` (pixel) and ``POST /tr?sid=…`` (beacon, base64 body)."""
    try:
        ingest = _ingestor(request)
        try:
            hit = await read_hit(request, ingest)
        except Refused as refused:
            ingest.metrics.count(refused.reason)
            raise
        try:
            await ingest.append(hit)  # a duplicate is a success too: the hit is stored
        except IngestUnavailable as error:  # counted by the ingestor
            raise Refused(503, "unavailable", str(error), {"Retry-After": "5"}) from None
    except Refused as refused:
        return JSONResponse(
            {"error": refused.reason, "detail": refused.detail},
            refused.status,
            headers=CORS | NO_STORE | refused.headers,
        )
    if request.method == "GET":
        return Response(PIXEL, media_type="image/gif", headers=CORS | NO_STORE)
    return Response(status_code=204, headers=CORS | NO_STORE)


async def preflight(_request: Request) -> Response:
    return Response(status_code=204, headers=PREFLIGHT)


async def tracker_script(request: Request) -> Response:
    """``/lftracker_v1_<hash>.js`` (or ``…_<variant>.js``): the tracker for that account."""
    match = SCRIPT_NAME.fullmatch(request.path_params["name"])
    account_id = None
    try:
        ingest = _ingestor(request)
        if match:
            account_id = await ingest.sites.account_id(match[1])
    except Refused as refused:
        return JSONResponse({"error": refused.reason}, refused.status)
    if match is None or account_id is None:
        return JSONResponse(
            {"error": "unknown_script", "detail": "no account has this tracking script"},
            404,
            headers=NO_STORE,
        )
    base = public_base_url(ingest.settings, str(request.base_url))
    rendered = script.render(script.TrackerConfig(script_id=match[1], endpoint=base + "/tr"))
    headers = CORS | {
        # Short: a changed setting reaches visitors within minutes; ETag makes rechecks cheap.
        "Cache-Control": "public, max-age=300",
        "ETag": rendered.etag,
        "Vary": "Accept-Encoding",
    }
    if rendered.etag in request.headers.get("if-none-match", ""):
        return Response(status_code=304, headers=headers)
    media_type = "application/javascript; charset=utf-8"
    if "gzip" in request.headers.get("accept-encoding", "").lower():
        headers["Content-Encoding"] = "gzip"
        return Response(rendered.gzipped, media_type=media_type, headers=headers)
    return Response(rendered.body, media_type=media_type, headers=headers)
