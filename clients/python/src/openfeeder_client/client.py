"""``Client``: one session with an openfeeder (or Leadfeeder) API and a method per endpoint.

The session owns what every request shares: the token, the ``User-Agent``, the timeout,
the transport, waiting out rate limits (and, if asked, pacing requests to stay under them)
and turning error responses into ``openfeeder_client.errors``. Endpoint methods only build
a path and parameters and parse the document into ``openfeeder_client.models``.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import date, datetime
from pathlib import Path
from types import TracebackType
from typing import IO, Any, Self, TypeVar, overload
from urllib.parse import quote

import httpx

from openfeeder_client._version import __version__
from openfeeder_client.errors import (
    ExportFailed,
    ExportTimeout,
    OpenfeederClientError,
    RateLimited,
    error_from_response,
    error_objects,
)
from openfeeder_client.models import (
    Account,
    CustomFeed,
    ExportRequest,
    ExportRow,
    Included,
    Lead,
    TrackingScript,
    Visit,
)
from openfeeder_client.pagination import Listing, Page
from openfeeder_client.ratelimit import Pacer, retry_delay

__all__ = [
    "DEFAULT_BASE_URL",
    "DEFAULT_USER_AGENT",
    "AccountRef",
    "Client",
    "DateLike",
    "Destination",
    "ExportRef",
    "FeedRef",
    "Fields",
    "LeadRef",
]

DEFAULT_BASE_URL = "http://127.0.0.1:8000"  # where `openfeeder serve` listens by default
DEFAULT_USER_AGENT = f"openfeeder-client/{__version__}"
MEDIA_TYPE = "application/vnd.api+json"

AccountRef = Account | str | int
FeedRef = CustomFeed | str
LeadRef = Lead | str
ExportRef = ExportRequest | str
DateLike = date | str
# fields={"leads": ["name", "quality"], "locations": "country"} → fields[leads]=name,quality&…
Fields = Mapping[str, str | Iterable[str]]
Destination = str | os.PathLike[str] | IO[bytes]
Progress = Callable[[int, int | None], None]  # (bytes so far, total bytes when known)

T = TypeVar("T")
Parse = Callable[[Mapping[str, Any], Included], T]


class Client:
    """A client for one API token.

    ``transport`` takes any ``httpx.BaseTransport``: retries and proxies through
    ``httpx.HTTPTransport(...)``, or an in-process application. ``sleep`` and ``clock``
    (``time.sleep`` and ``time.time`` by default) are what the client waits with; tests pass
    fakes so that waiting out a rate limit takes no time.

    On a 429 the client waits until the limit resets (``Retry-After``, else
    ``X-RateLimit-Reset``, else the next minute) and tries again, at most
    ``rate_limit_retries`` times and never for longer than ``max_retry_wait`` seconds at
    once; then it raises ``RateLimited``. With ``requests_per_minute`` set (100 is the API's
    limit) it spaces its requests so that it never goes over in the first place.
    """

    def __init__(
        self,
        token: str,
        base_url: str = DEFAULT_BASE_URL,
        *,
        timeout: float | httpx.Timeout | None = 30.0,
        user_agent: str | None = None,
        transport: httpx.BaseTransport | None = None,
        rate_limit_retries: int = 3,
        max_retry_wait: float = 120.0,
        requests_per_minute: int | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._token = token
        self._http = httpx.Client(
            base_url=base_url,
            timeout=timeout,
            transport=transport,
            follow_redirects=True,  # httpx drops the token when a redirect leaves the origin
            headers={"User-Agent": user_agent or DEFAULT_USER_AGENT, "Accept": MEDIA_TYPE},
        )
        self.rate_limit_retries = rate_limit_retries
        self.max_retry_wait = max_retry_wait
        self.sleep = sleep
        self.clock = clock
        self._pacer = (
            Pacer(requests_per_minute, clock=clock, sleep=sleep) if requests_per_minute else None
        )

    @property
    def base_url(self) -> str:
        return str(self._http.base_url)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    # ── accounts, custom feeds, tracking script ──────────────────────────────────────────

    def accounts(self, *, fields: Fields | None = None) -> Listing[Account]:
        """The accounts the token's user is a member of."""
        return self._listing(Account.from_resource, "/accounts", _fields(fields))

    def account(self, account: AccountRef, *, fields: Fields | None = None) -> Account:
        return self._one(Account.from_resource, f"/accounts/{_id(account)}", _fields(fields))

    def custom_feeds(
        self, account: AccountRef, *, fields: Fields | None = None
    ) -> Listing[CustomFeed]:
        """The account's feeds: the built-in ones (``all_leads``…), then its own."""
        path = f"/accounts/{_id(account)}/custom-feeds"
        return self._listing(CustomFeed.from_resource, path, _fields(fields))

    def custom_feed(
        self, account: AccountRef, feed: FeedRef, *, fields: Fields | None = None
    ) -> CustomFeed:
        path = f"/accounts/{_id(account)}/custom-feeds/{_id(feed)}"
        return self._one(CustomFeed.from_resource, path, _fields(fields))

    def tracking_script(
        self, account: AccountRef, *, fields: Fields | None = None
    ) -> TrackingScript:
        """The snippet to put on every page of the account's website."""
        path = f"/accounts/{_id(account)}/website-tracking-script"
        return self._one(TrackingScript.from_resource, path, _fields(fields))

    # ── leads and visits ─────────────────────────────────────────────────────────────────

    def leads(
        self,
        account: AccountRef,
        start: DateLike,
        end: DateLike,
        *,
        feed: FeedRef | None = None,
        page_size: int | None = None,
        fields: Fields | None = None,
    ) -> Listing[Lead]:
        """The leads that visited between ``start`` and ``end`` (both included), of one
        custom feed when ``feed`` is given; each with its location."""
        path = f"/accounts/{_id(account)}"
        path += f"/custom-feeds/{_id(feed)}/leads" if feed is not None else "/leads"
        params = _interval(start, end) | _page(page_size) | _fields(fields)
        return self._listing(Lead.from_resource, path, params)

    def lead(self, account: AccountRef, lead: LeadRef, *, fields: Fields | None = None) -> Lead:
        """One lead; its ``visits`` is its lifetime total and it has no ``quality``."""
        path = f"/accounts/{_id(account)}/leads/{_id(lead)}"
        return self._one(Lead.from_resource, path, _fields(fields))

    def visits(
        self,
        account: AccountRef,
        start: DateLike,
        end: DateLike,
        *,
        lead: LeadRef | None = None,
        page_size: int | None = None,
        fields: Fields | None = None,
    ) -> Listing[Visit]:
        """The visits between ``start`` and ``end``, newest first; of one lead if given."""
        path = f"/accounts/{_id(account)}"
        path += f"/leads/{_id(lead)}/visits" if lead is not None else "/visits"
        params = _interval(start, end) | _page(page_size) | _fields(fields)
        return self._listing(Visit.from_resource, path, params)

    # ── exports ──────────────────────────────────────────────────────────────────────────

    def request_export(
        self, account: AccountRef, feed: FeedRef, start: DateLike, end: DateLike
    ) -> ExportRequest:
        """Ask the server to export a feed's leads for an interval; it starts ``pending``."""
        form = {"account_id": _id(account), "custom_feed_id": _id(feed)} | _interval(start, end)
        document = self._document(self._send("POST", "/export-requests", data=form))
        return ExportRequest.from_resource(document["data"])

    def export_request(self, export: ExportRef, *, fields: Fields | None = None) -> ExportRequest:
        """An export request's current state."""
        path = f"/export-requests/{_id(export)}"
        return self._one(ExportRequest.from_resource, path, _fields(fields))

    def wait_for_export(
        self,
        export: ExportRef,
        *,
        timeout: float = 600.0,
        poll_interval: float = 0.5,
        max_poll_interval: float = 10.0,
        on_poll: Callable[[ExportRequest], None] | None = None,
    ) -> ExportRequest:
        """Poll until the export is processed, doubling the interval up to
        ``max_poll_interval``. Raises ``ExportFailed`` or, after ``timeout`` seconds,
        ``ExportTimeout``. ``on_poll`` sees each unfinished state."""
        current = export if isinstance(export, ExportRequest) else self.export_request(export)
        deadline = self.clock() + timeout
        interval = poll_interval
        while not current.finished:
            if on_poll is not None:
                on_poll(current)
            remaining = deadline - self.clock()
            if remaining <= 0:
                raise ExportTimeout(
                    current, f"export {current.id} still {current.status} after {timeout:g} s"
                )
            self.sleep(min(interval, remaining))
            interval = min(interval * 2, max_poll_interval)
            current = self.export_request(current.id)
        if current.status != "processed":
            raise ExportFailed(current, f"export {current.id} failed on the server")
        return current

    def download_export(
        self, export: ExportRequest, to: Destination, *, on_progress: Progress | None = None
    ) -> int:
        """Stream a processed export's report to a path or a binary file; returns its size.

        A path is written through a temporary file beside it, so it never holds half a
        report. The download URL is a capability: no token is sent with it.
        """
        if not export.download_url:
            raise OpenfeederClientError(f"export {export.id} has no download URL yet")
        if not isinstance(to, str | os.PathLike):
            return self._download(export.download_url, to, on_progress)
        path = Path(to)
        with tempfile.NamedTemporaryFile(
            dir=path.parent, prefix=f".{path.name}.", suffix=".part", delete=False
        ) as part:
            try:
                size = self._download(export.download_url, part, on_progress)
            except BaseException:
                part.close()
                os.unlink(part.name)
                raise
        os.replace(part.name, path)
        return size

    def export_rows(
        self, export: ExportRequest, *, on_progress: Progress | None = None
    ) -> Iterator[ExportRow]:
        """Download a processed export now and return its rows, each with its lead and
        location. The whole report is parsed in memory (a row's lead comes at the end of
        the document); to keep memory flat for huge exports, ``download_export`` to a file."""
        with tempfile.TemporaryFile() as buffer:
            self.download_export(export, buffer, on_progress=on_progress)
            buffer.seek(0)
            document = json.load(buffer)
        included = Included(document.get("included") or [])
        return (ExportRow.from_resource(row, included) for row in document.get("data") or [])

    @overload
    def export_leads(
        self,
        account: AccountRef,
        feed: FeedRef,
        start: DateLike,
        end: DateLike,
        *,
        to: None = None,
        timeout: float = ...,
        on_poll: Callable[[ExportRequest], None] | None = ...,
        on_progress: Progress | None = ...,
    ) -> Iterator[ExportRow]: ...

    @overload
    def export_leads(
        self,
        account: AccountRef,
        feed: FeedRef,
        start: DateLike,
        end: DateLike,
        *,
        to: Destination,
        timeout: float = ...,
        on_poll: Callable[[ExportRequest], None] | None = ...,
        on_progress: Progress | None = ...,
    ) -> ExportRequest: ...

    def export_leads(
        self,
        account: AccountRef,
        feed: FeedRef,
        start: DateLike,
        end: DateLike,
        *,
        to: Destination | None = None,
        timeout: float = 600.0,
        on_poll: Callable[[ExportRequest], None] | None = None,
        on_progress: Progress | None = None,
    ) -> Iterator[ExportRow] | ExportRequest:
        """Export a feed's leads for an interval (no 10 000 cap): request the export, wait
        for it with backoff, download it. With ``to`` (a path or a binary file) the report
        is streamed there and the processed ``ExportRequest`` returned; without, its rows."""
        created = self.request_export(account, feed, start, end)
        done = self.wait_for_export(created, timeout=timeout, on_poll=on_poll)
        if to is None:
            return self.export_rows(done, on_progress=on_progress)
        self.download_export(done, to, on_progress=on_progress)
        return done

    # ── the API's own description ────────────────────────────────────────────────────────

    def openapi(self) -> dict[str, Any]:
        """The server's OpenAPI 3.1 document (openfeeder only)."""
        result: dict[str, Any] = self._send("GET", "/openapi.json", authenticate=False).json()
        return result

    # ── plumbing ─────────────────────────────────────────────────────────────────────────

    def _send(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, str] | httpx.QueryParams | None = None,
        data: Mapping[str, str] | None = None,
        authenticate: bool = True,
        stream: bool = False,
    ) -> httpx.Response:
        """Send one request, waiting out rate limits; any error status raises."""
        headers = {"Authorization": f"Token token={self._token}"} if authenticate else {}
        attempt = 0
        while True:
            attempt += 1
            if self._pacer is not None:
                self._pacer.wait()
            request = self._http.build_request(
                method, url, params=params, data=data, headers=headers
            )
            response = self._http.send(request, stream=stream)
            if response.status_code == 429:
                self._wait_out(response, attempt)
                continue
            if response.is_error:
                response.read()
                response.close()
                raise error_from_response(response)
            return response

    def _wait_out(self, response: httpx.Response, attempt: int) -> None:
        """Sleep until a 429's window resets, or raise when that is more than allowed."""
        response.read()
        response.close()
        delay = retry_delay(response.headers, self.clock())
        if attempt > self.rate_limit_retries:
            reason = f"gave up after {attempt} attempts ({self.rate_limit_retries} retries)"
        elif delay > self.max_retry_wait:
            reason = f"the wait ({delay:g} s) is over max_retry_wait ({self.max_retry_wait:g} s)"
        else:
            self.sleep(delay)
            return
        errors = error_objects(response)
        raise RateLimited(429, errors, response, retry_after=delay, attempts=attempt, reason=reason)

    def _document(self, response: httpx.Response) -> dict[str, Any]:
        try:
            document = response.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            document = None
        if not isinstance(document, dict) or "data" not in document:
            kind = response.headers.get("content-type", "no content type")
            raise OpenfeederClientError(
                f"{response.request.url} did not answer with a JSON:API document ({kind})"
            )
        return document

    def _one(self, parse: Parse[T], path: str, params: Mapping[str, str]) -> T:
        document = self._document(self._send("GET", path, params=params))
        return parse(document["data"], Included(document.get("included") or []))

    def _listing(self, parse: Parse[T], path: str, params: Mapping[str, str]) -> Listing[T]:
        """A lazy listing of ``path``. A ``next`` link is followed by sending its query to
        ``path`` on this client's base URL: a server behind a proxy may write links for
        another host, and the token goes nowhere but the base URL."""

        def fetch(next_link: str | None) -> Page[T]:
            query = params if next_link is None else httpx.URL(next_link).params
            document = self._document(self._send("GET", path, params=query))
            included = Included(document.get("included") or [])
            meta = document.get("meta") if isinstance(document.get("meta"), dict) else {}
            total = meta.get("total_count") if meta else None
            return Page(
                items=[parse(resource, included) for resource in document["data"] or []],
                total_count=total if isinstance(total, int) else None,
                links=document.get("links") or {},
            )

        return Listing(fetch)

    def _download(self, url: str, out: IO[bytes], on_progress: Progress | None) -> int:
        response = self._send("GET", url, authenticate=False, stream=True)
        try:
            length = response.headers.get("content-length")
            total = int(length) if length and length.isdigit() else None
            done = 0
            for chunk in response.iter_bytes():
                out.write(chunk)
                done += len(chunk)
                if on_progress is not None:
                    on_progress(done, total)
        finally:
            response.close()
        return done


def _id(ref: Account | CustomFeed | Lead | ExportRequest | str | int) -> str:
    raw = ref if isinstance(ref, str | int) else ref.id
    return quote(str(raw), safe="")


def _interval(start: DateLike, end: DateLike) -> dict[str, str]:
    return {"start_date": _day(start), "end_date": _day(end)}


def _day(value: DateLike) -> str:
    if isinstance(value, datetime):
        return value.date().isoformat()
    return value.isoformat() if isinstance(value, date) else value


def _page(size: int | None) -> dict[str, str]:
    return {} if size is None else {"page[size]": str(size)}


def _fields(fields: Fields | None) -> dict[str, str]:
    if not fields:
        return {}
    return {
        f"fields[{kind}]": names if isinstance(names, str) else ",".join(names)
        for kind, names in fields.items()
    }
