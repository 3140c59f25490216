"""The tracker surface's handlers: ``/tr`` (pixel GET and beacon POST, open to every origin,
no token), its 24-hour preflight, and the script at ``/lftracker_v1_<hash>.js``.

They are raw ASGI apps, called as ``handler(services, scope, receive, send)``: the hot path
reads the query string, headers and body straight from the ASGI messages and answers with
prepared header lists, with no request or response objects and no middleware (BENCHMARKS.md,
"Tracker over HTTP"). So they answer CORS themselves, and an unexpected failure is answered
here too (``guarded``): a JSON 500, never uvicorn's plain one.

``/tr`` only reads the request into an ``IncomingHit`` — client address, flood limit, size,
decoding, the account of the script — and hands it to the ingestor, which answers once the
hit is on disk. Nothing slow (DNS, GeoIP, identification) happens here; the pipeline does it.
"""

from __future__ import annotations

import base64
import json
import logging
import re
from collections.abc import Awaitable, Callable
from typing import Final
from urllib.parse import parse_qsl

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import URL
from starlette.types import Receive, Scope, Send

from openfeeder.domain import events
from openfeeder.domain.errors import RateLimited
from openfeeder.domain.ids import whole_number
from openfeeder.ingest import script
from openfeeder.ingest.append import IncomingHit, Ingestor, IngestUnavailable
from openfeeder.ratelimit import MemoryCounter, RateLimiter
from openfeeder.services.container import Services
from openfeeder.services.urls import public_base_url

log = logging.getLogger(__name__)

Headers = list[tuple[bytes, bytes]]
TrackerHandler = Callable[[Services, Scope, Receive, Send], Awaitable[None]]

PIXEL: Final = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")
CORS: Final[Headers] = [(b"access-control-allow-origin", b"*")]
NO_STORE: Final[Headers] = [(b"cache-control", b"no-store")]
PREFLIGHT: Final[Headers] = [
    *CORS,
    (b"access-control-allow-methods", b"GET, POST, OPTIONS"),
    (b"access-control-allow-headers", b"Content-Type"),
    (b"access-control-max-age", b"86400"),
]
_NO_CONTENT: Final[Headers] = [*CORS, *NO_STORE]
_GIF: Final[Headers] = [
    (b"content-length", str(len(PIXEL)).encode()),
    (b"content-type", b"image/gif"),
    *CORS,
    *NO_STORE,
]
_JS: Final = b"application/javascript; charset=utf-8"
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
_WANTED: Final = frozenset(
    name.encode() for name in (*META_HEADERS, "user-agent", "accept-language", "content-length")
)
MAX_USER_AGENT: Final = 1024  # real ones are a few hundred characters; the rest is noise
SCRIPT_NAME: Final = re.compile(r"([0-9A-Za-z]{1,32})(?:_[0-9A-Za-z]{1,64})?\.js")
# What ``data`` (or a beacon's body) may hold: base64, standard or URL-safe, padding optional.
BASE64: Final = r"^[A-Za-z0-9+/_-]+={0,2}$"


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


class Disconnected(Exception):
    """The client went away before its request was read: there is nobody to answer."""


# -- ASGI plumbing ---------------------------------------------------------------------


async def _answer(send: Send, status: int, headers: Headers, body: bytes = b"") -> None:
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def _json(content: dict[str, str]) -> bytes:
    # As Starlette's JSONResponse renders it, so error bodies are byte for byte what they were.
    return json.dumps(
        content, ensure_ascii=False, allow_nan=False, indent=None, separators=(",", ":")
    ).encode()


async def _error(
    send: Send,
    status: int,
    content: dict[str, str],
    headers: Headers | dict[str, str] | None = None,
) -> None:
    body = _json(content)
    extra = (
        [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]
        if isinstance(headers, dict)
        else list(headers or ())
    )
    head = [
        (b"content-length", str(len(body)).encode()),
        (b"content-type", b"application/json"),
        *extra,
    ]
    await _answer(send, status, head, body)


def guarded(handler: TrackerHandler) -> TrackerHandler:
    """``handler``, answering an unexpected failure with a JSON 500 (and a log line) the way
    the API's error handler does, since no Starlette middleware stands around the tracker."""

    async def app(services: Services, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await handler(services, scope, receive, send)
        except Disconnected:
            return
        except Exception:
            log.exception("unhandled error on %s %s", scope.get("method"), scope.get("path"))
            content = {"error": "server_error", "detail": "the request could not be processed"}
            # The connection is closed after it, so a kept-alive client does not reuse it.
            await _error(send, 500, content, [*CORS, *NO_STORE, (b"connection", b"close")])

    app.__name__ = app.__qualname__ = handler.__name__
    app.__doc__ = handler.__doc__
    return app


def _query(scope: Scope) -> dict[str, str]:
    # As Starlette's QueryParams reads it: latin-1, blanks kept, the last of repeated names.
    return dict(parse_qsl(scope["query_string"].decode("latin-1"), keep_blank_values=True))


def _read_headers(scope: Scope) -> tuple[dict[str, str], list[str]]:
    """The first value of each header ``/tr`` reads, and every X-Forwarded-For value."""
    wanted: dict[str, str] = {}
    forwarded: list[str] = []
    for raw_name, raw_value in scope["headers"]:
        if raw_name in _WANTED:
            name = raw_name.decode("latin-1")
            if name not in wanted:
                wanted[name] = raw_value.decode("latin-1")
        elif raw_name == b"x-forwarded-for":
            forwarded.append(raw_value.decode("latin-1"))
    return wanted, forwarded


def _header(scope: Scope, name: bytes) -> str:
    for raw_name, raw_value in scope["headers"]:
        if raw_name == name:
            return str(raw_value.decode("latin-1"))
    return ""


# -- /tr -------------------------------------------------------------------------------


def _ingestor(services: Services) -> Ingestor:
    ingest = services.ingest
    if ingest is None:
        raise Refused(503, "unavailable", "this process does not accept tracker hits")
    assert isinstance(ingest, Ingestor)
    return ingest


def wire_limit(max_event: int) -> int:
    """The longest ``data`` (or POST body) read for events of at most ``max_event`` bytes."""
    # base64 of the largest event we take, plus room for padding and stray blanks.
    return (max_event + 2) // 3 * 4 + 16


async def _event_data(
    scope: Scope, receive: Receive, query: dict[str, str], declared: str, max_event: int
) -> str | bytes:
    """The base64 event: ``data`` in the query string, or the POST body."""
    limit = wire_limit(max_event)
    data = query.get("data")
    if scope["method"] == "POST" and not data:
        length = whole_number(declared)
        if length is not None and length > limit:
            raise _too_large(max_event)
        body = b""
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise Disconnected
            body += message.get("body", b"")
            if len(body) > limit:
                raise _too_large(max_event)
            more = message.get("more_body", False)
        return body
    if data and len(data) > limit:
        raise _too_large(max_event)
    return data or ""


def _too_large(max_event: int) -> Refused:
    return Refused(413, "too_large", f"the event is larger than {max_event} bytes")


async def _check_flood(limiter: RateLimiter, ingest: Ingestor, ip: str) -> None:
    try:
        if isinstance(limiter.counter, MemoryCounter):
            limiter.check(f"ip:{ip}", ingest.flood_limit)
        else:  # Redis: a network round trip, kept off the event loop
            await run_in_threadpool(limiter.check, f"ip:{ip}", ingest.flood_limit)
    except RateLimited as limited:
        raise Refused(429, "flood", limited.detail, limited.headers) from None


async def read_hit(
    services: Services, ingest: Ingestor, scope: Scope, receive: Receive
) -> IncomingHit:
    """Turn a ``/tr`` request into a hit, or raise Refused."""
    headers, forwarded_for = _read_headers(scope)
    client = scope.get("client")
    ip = ingest.addresses.resolve(client[0] if client else None, forwarded_for)
    await _check_flood(services.limiter, ingest, ip)
    max_event = ingest.settings.tracker_max_body
    query = _query(scope)
    data = await _event_data(scope, receive, query, headers.get("content-length", ""), max_event)
    sid = query.get("sid") or None
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
    return IncomingHit(
        account_id=account_id,
        event=dict(event.raw),
        ip=ip,
        user_agent=headers.get("user-agent", "")[:MAX_USER_AGENT] or None,
        accept_language=headers.get("accept-language", "")[:200] or None,
        request_meta={name: headers[name][:500] for name in META_HEADERS if name in headers},
        received_at=services.clock.now(),
    )


@guarded
async def track(services: Services, scope: Scope, receive: Receive, send: Send) -> None:
    """``GET /tr?sid=…&data=…`` (pixel) and ``POST /tr?sid=…`` (beacon, base64 body)."""
    try:
        ingest = _ingestor(services)
        try:
            hit = await read_hit(services, ingest, scope, receive)
        except Refused as refused:
            ingest.metrics.count(refused.reason)
            raise
        try:
            await ingest.append(hit)  # a duplicate is a success too: the hit is stored
        except IngestUnavailable as error:  # counted by the ingestor
            raise Refused(503, "unavailable", str(error), {"Retry-After": "5"}) from None
    except Refused as refused:
        content = {"error": refused.reason, "detail": refused.detail}
        headers = {"Access-Control-Allow-Origin": "*", "Cache-Control": "no-store"}
        await _error(send, refused.status, content, headers | refused.headers)
        return
    if scope["method"] == "GET":
        await _answer(send, 200, _GIF, PIXEL)
    else:
        await _answer(send, 204, _NO_CONTENT)


@guarded
async def preflight(_services: Services, _scope: Scope, _receive: Receive, send: Send) -> None:
    await _answer(send, 204, PREFLIGHT)


# -- the script ------------------------------------------------------------------------


@guarded
async def tracker_script(services: Services, scope: Scope, _receive: Receive, send: Send) -> None:
    """``/lftracker_v1_<hash>.js`` (or ``…_<variant>.js``): the tracker for that account."""
    match = SCRIPT_NAME.fullmatch(scope["path_params"]["name"])
    account_id = None
    try:
        ingest = _ingestor(services)
        if match:
            account_id = await ingest.sites.account_id(match[1])
    except Refused as refused:
        await _error(send, refused.status, {"error": refused.reason})
        return
    if match is None or account_id is None:
        content = {"error": "unknown_script", "detail": "no account has this tracking script"}
        await _error(send, 404, content, NO_STORE)
        return
    base = public_base_url(ingest.settings, _base_url(scope))
    rendered = script.render(script.TrackerConfig(script_id=match[1], endpoint=base + "/tr"))
    headers: Headers = [
        *CORS,
        # Short: a changed setting reaches visitors within minutes; ETag makes rechecks cheap.
        (b"cache-control", b"public, max-age=300"),
        (b"etag", rendered.etag.encode()),
        (b"vary", b"Accept-Encoding"),
    ]
    if rendered.etag in _header(scope, b"if-none-match"):
        await _answer(send, 304, headers)
        return
    body = rendered.body
    if "gzip" in _header(scope, b"accept-encoding").lower():
        headers.append((b"content-encoding", b"gzip"))
        body = rendered.gzipped
    head = [(b"content-length", str(len(body)).encode()), (b"content-type", _JS), *headers]
    await _answer(send, 200, head, body)


def _base_url(scope: Scope) -> str:
    # As Starlette's Request.base_url: the request's origin and root path, with a slash.
    root = scope.get("app_root_path", scope.get("root_path", ""))
    path = root if root.endswith("/") else root + "/"
    return str(URL(scope={**scope, "path": path, "query_string": b"", "root_path": root}))
