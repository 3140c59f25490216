"""Feed exports: requesting one, the job that writes its file, downloading it, and the
upkeep that keeps requests from staying pending (reaping dead jobs) and files from piling up.

A request goes ``pending`` → ``processed`` | ``failed``. The job claims the row (attempts + 1,
heartbeat now), keeps the heartbeat fresh while it writes, and finishes only while its claim
is still the current one. A job that raises gives its claim back and is retried by the queue;
a worker that dies leaves a stale heartbeat that ``reap_stale`` re-enqueues. After
``MAX_ATTEMPTS`` claims the request is failed, so no request stays pending for good.

The file is the seed's sample report, ``{"data": [timeline_rows], "included": [leads,
locations]}``, written one object at a time in three streamed passes over one snapshot, so
memory does not grow with the number of leads, and there is no 10 000 cap.
"""

from __future__ import annotations

import logging
import os
import re
import secrets
import threading
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import UTC, date, datetime, timedelta
from itertools import islice
from pathlib import Path
from types import TracebackType
from typing import IO, Any, Protocol, TypeVar

import msgspec
import orjson

from openfeeder.config import Settings
from openfeeder.domain.errors import NotFound, OpenfeederError
from openfeeder.domain.feeds import FeedCriterion
from openfeeder.domain.ids import new_capability
from openfeeder.domain.models import Account, ExportRequest, Lead, Location, User
from openfeeder.domain.representation import LeadAttributes, LocationAttributes
from openfeeder.services.feeds import get_feed
from openfeeder.store import accounts as accounts_store
from openfeeder.store import exports as store
from openfeeder.store.db import Database
from openfeeder.store.leads import stream_leads

__all__ = [
    "HEARTBEAT_SECONDS",
    "MAX_ATTEMPTS",
    "STALE_AFTER",
    "ExportQueue",
    "create_export",
    "download_file",
    "exports_dir",
    "get_export",
    "mark_failed",
    "purge_files",
    "reap_stale",
    "run_export",
]

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 3
HEARTBEAT_SECONDS = 10.0
# Several missed heartbeats in a row, so a busy database does not get a live job reaped.
STALE_AFTER = timedelta(minutes=3)
# A pending request nobody ever claimed (its queue message was lost between dequeue and
# claim) is failed after this long; a healthy queue starts a job in seconds.
PICKUP_DEADLINE = timedelta(days=1)
# Leads per keyword query: bounds both the memory held and the number of queries.
KEYWORD_BATCH = 500
# A temporary file this old belongs to a job that died (live jobs finish or are reaped).
ORPHAN_AFTER = timedelta(hours=1)

_FILE_NAME = re.compile(r"[0-9a-f]{32}\.json")
_T = TypeVar("_T")


class ExportQueue(Protocol):
    """What this module needs from the job queue (``openfeeder.jobs.JobQueue`` is one)."""

    def enqueue_export(self, export_id: str) -> None: ...


def _now() -> datetime:
    return datetime.now(UTC)


def exports_dir(settings: Settings) -> Path:
    return settings.data_dir / "exports"


def app_url(settings: Settings) -> str:
    return settings.public_url or f"http://{settings.host}:{settings.port}"


# ── requests ─────────────────────────────────────────────────────────────────────────────


def create_export(
    db: Database,
    queue: ExportQueue,
    account: Account,
    user: User,
    feed_id: str,
    first: date,
    last: date,
) -> ExportRequest:
    """Record a pending export (feed and dates already validated) and enqueue its job."""
    request = ExportRequest(
        id=str(uuid.uuid4()),
        account_id=account.id,
        user_id=user.id,
        feed_id=feed_id,
        start_date=first,
        end_date=last,
        status="pending",
        attempts=0,
        error=None,
        file_name=None,
        created_at=_now(),
        expires_at=None,
    )
    # Committed before enqueueing: a worker may pick the job up at once and must find the row.
    with db.write() as conn:
        store.insert(conn, request)
    try:
        queue.enqueue_export(request.id)
    except Exception as error:
        # Nothing would ever run it; fail it now rather than leave it pending.
        mark_failed(db, request.id, f"The export could not be queued: {_describe(error)}")
        raise
    return request


def get_export(db: Database, user: User, export_id: str) -> ExportRequest:
    """The request if it exists in an account the user belongs to; 404 otherwise."""
    with db.read() as conn:
        request = store.get(conn, export_id)
        visible = request is not None and accounts_store.is_member(
            conn, user.id, request.account_id
        )
    if request is None or not visible:
        raise NotFound(f"Export request {export_id} was not found.")
    return request


def download_file(
    db: Database, settings: Settings, file_name: str, *, now: datetime | None = None
) -> Path:
    """The file behind ``/download/<file_name>``; 404 when unknown, unfinished or expired.

    The 128-bit random name is the capability, so no token is asked for; the name is
    checked against its format first, so nothing else can reach the filesystem.
    """
    missing = NotFound("This download does not exist or has expired.")
    if not _FILE_NAME.fullmatch(file_name):
        raise missing
    with db.read() as conn:
        request = store.by_file_name(conn, file_name)
    moment = now or _now()
    if (
        request is None
        or request.status != "processed"
        or request.expires_at is None
        or request.expires_at <= moment
    ):
        raise missing
    path = exports_dir(settings) / file_name
    if not path.is_file():
        raise missing
    return path


def mark_failed(db: Database, export_id: str, error: str) -> bool:
    """Fail a pending request that no live worker is on (the queue's last-retry hook)."""
    now = _now()
    with db.write() as conn:
        return store.fail(conn, export_id, error, now, unless_beating_after=now - STALE_AFTER)


# ── the job ──────────────────────────────────────────────────────────────────────────────


class Superseded(Exception):
    """This attempt's claim was taken over (it was presumed dead); stop without a trace."""


def run_export(db: Database, settings: Settings, export_id: str) -> None:
    """The export job: write the file and mark the request processed. Safe to run again.

    Does nothing when the request is unknown, finished, or held by a live worker. Raises when
    the attempt fails for a reason that may pass (the queue retries); fails the request
    outright when it cannot succeed (feed deleted, requester no longer a member) or when this
    was the last allowed attempt.
    """
    claimed = _claim(db, export_id)
    if claimed is None:
        return
    request, attempt = claimed
    try:
        with Heartbeat(db, export_id, attempt) as beat:
            file_name = _write_file(db, settings, request, beat.check)
        finished = _now()
        expires = finished + timedelta(days=settings.export_ttl_days)
        with db.write() as conn:
            done = store.finish(conn, export_id, attempt, file_name, finished, expires)
        if not done:
            (exports_dir(settings) / file_name).unlink(missing_ok=True)
            raise Superseded
    except Superseded:
        log.warning("export %s attempt %d was taken over by another worker", export_id, attempt)
    except OpenfeederError as error:
        with db.write() as conn:
            store.fail(conn, export_id, error.detail, _now(), attempt=attempt)
    except Exception as error:
        _give_back(db, export_id, attempt, error)
        raise


def _claim(db: Database, export_id: str) -> tuple[ExportRequest, int] | None:
    now = _now()
    with db.write() as conn:
        found = store.lock(conn, export_id)
        if found is None:
            return None
        request, heartbeat_at = found
        if request.status != "pending":
            return None
        if heartbeat_at is not None and heartbeat_at >= now - STALE_AFTER:
            return None  # a live worker holds it; this is a duplicate message
        if request.attempts >= MAX_ATTEMPTS:
            reason = request.error or "the export job did not finish"
            store.fail(conn, export_id, f"Gave up after {request.attempts} attempts: {reason}", now)
            return None
        attempt = request.attempts + 1
        store.start(conn, export_id, attempt, now)
    return request, attempt


def _give_back(db: Database, export_id: str, attempt: int, error: Exception) -> None:
    message = _describe(error)
    with db.write() as conn:
        if attempt >= MAX_ATTEMPTS:
            text = f"Gave up after {attempt} attempts: {message}"
            store.fail(conn, export_id, text, _now(), attempt=attempt)
        else:
            store.release(conn, export_id, attempt, message)


def _describe(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"[:1000]


class Heartbeat:
    """Keeps the claim's heartbeat fresh from a side thread while the file is written.

    A thread rather than a beat per written row: the database may spend minutes sorting
    before the first row arrives, and the heartbeat must go on meanwhile.
    """

    def __init__(
        self, db: Database, export_id: str, attempt: int, every: float = HEARTBEAT_SECONDS
    ) -> None:
        self._db = db
        self._every = every
        self._export_id = export_id
        self._attempt = attempt
        self._stop = threading.Event()
        self._lost = threading.Event()
        self._thread = threading.Thread(
            target=self._run, name=f"export-heartbeat-{export_id}", daemon=True
        )

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._stop.set()
        self._thread.join()

    def check(self) -> None:
        if self._lost.is_set():
            raise Superseded

    def _run(self) -> None:
        while not self._stop.wait(self._every):
            try:
                with self._db.write() as conn:
                    alive = store.heartbeat(conn, self._export_id, self._attempt, _now())
            except Exception:
                # A missed beat is not fatal: the claim only goes stale after several.
                log.exception("heartbeat of export %s failed", self._export_id)
                continue
            if not alive:
                self._lost.set()
                return


# ── the file ─────────────────────────────────────────────────────────────────────────────


def _write_file(
    db: Database, settings: Settings, request: ExportRequest, check: Callable[[], None]
) -> str:
    """Write the report under a temporary name, then rename it to its capability name."""
    with db.read() as conn:
        account = accounts_store.get_account(conn, request.account_id)
        user = store.requester(conn, request.user_id)
        member = account is not None and user is not None
        member = member and accounts_store.is_member(conn, request.user_id, request.account_id)
    if account is None or user is None or not member:
        raise NotFound("The account or the user who requested the export no longer has access.")
    criteria = get_feed(db, account, user, request.feed_id).criteria

    directory = exports_dir(settings)
    directory.mkdir(parents=True, exist_ok=True)
    temporary = directory / f".{request.id}.{secrets.token_hex(4)}.part"
    file_name = f"{new_capability()}.json"  # 128 random bits: the download's only key
    try:
        with temporary.open("wb", buffering=1 << 16) as out:
            write_report(
                out,
                db,
                account.id,
                request.start_date,
                request.end_date,
                criteria,
                app_url(settings),
                check,
            )
            out.flush()
            os.fsync(out.fileno())
        # The final name appears only once the file is complete.
        temporary.replace(directory / file_name)
    finally:
        temporary.unlink(missing_ok=True)
    return file_name


def write_report(
    out: IO[bytes],
    db: Database,
    account_id: int,
    first: date,
    last: date,
    criteria: list[FeedCriterion],
    base_url: str,
    check: Callable[[], None] = lambda: None,
) -> int:
    """Write the sample-report document to ``out``; returns the number of leads.

    Three passes over one snapshot: timeline rows (with keywords fetched per batch of
    leads), then the lead objects, then the distinct locations. Each object is serialised
    and written on its own, so memory stays flat however many leads there are.
    """
    count = 0
    with store.snapshot(db) as conn:
        out.write(b'{"data":[')
        leads = stream_leads(conn, account_id, first, last, criteria)
        for batch in _batched(leads, KEYWORD_BATCH):
            words = store.keywords(conn, (lead.pk for lead, _row in batch), first, last)
            for lead, row in batch:
                out.write(b"," if count else b"")
                out.write(orjson.dumps(timeline_row(lead, row, words.get(lead.pk, []))))
                count += 1
            check()
        out.write(b'],"included":[')
        separator = b""
        for index, (lead, _row) in enumerate(stream_leads(conn, account_id, first, last, criteria)):
            out.write(separator + orjson.dumps(lead_object(lead, base_url)))
            separator = b","
            if index % KEYWORD_BATCH == 0:
                check()
        for location in store.stream_locations(conn, account_id, first, last, criteria):
            out.write(separator + orjson.dumps(location_object(location)))
            separator = b","
        out.write(b"]}")
    return count


def timeline_row(lead: Lead, row: Mapping[Any, Any], keywords: list[str]) -> dict[str, Any]:
    return {
        "attributes": {
            "keywords": keywords,
            "quality": int(row["quality"]),
            "stats": {
                "bounces": int(row["bounces"]),
                "last_visit": row["interval_last_day"].isoformat(),
                "pageviews": int(row["pageviews"]),
                "visits": int(row["interval_visits"]),
            },
        },
        "id": lead.id,
        "relationships": {"lead": {"data": {"id": lead.id, "type": "leads"}}},
        "type": "timeline_rows",
    }


def lead_object(lead: Lead, base_url: str) -> dict[str, Any]:
    """The lead as its model renders it, with the export's subset of attributes; members in
    the order of the seed's sample report (by name, the attributes in EXPORT_LEAD_FIELDS
    order)."""
    attributes = LeadAttributes.of(lead, base_url)
    # Spelled out rather than attributes.relationships(…): this runs for every lead of an
    # export; tests/test_openapi.py holds export files to the model's document.
    location = {"data": {"id": lead.location.id, "type": LocationAttributes.TYPE}}
    return {
        "attributes": attributes.export_attributes(),
        "id": lead.id,
        "relationships": {"location": location},
        "type": attributes.TYPE,
    }


def location_object(location: Location) -> dict[str, Any]:
    attributes = LocationAttributes.of(location)
    plain = msgspec.structs.asdict(attributes)  # orjson writes the file and knows no Struct
    return {"attributes": plain, "id": location.id, "type": attributes.TYPE}


def _batched(items: Iterable[_T], size: int) -> Iterator[list[_T]]:
    iterator = iter(items)
    while batch := list(islice(iterator, size)):
        yield batch


# ── upkeep ───────────────────────────────────────────────────────────────────────────────


def reap_stale(db: Database, queue: ExportQueue, now: datetime) -> int:
    """Re-enqueue or fail requests whose worker died; returns how many were handled.

    A stale heartbeat means the worker stopped mid-run (killed, out of memory, machine
    gone): the request is re-enqueued while it has attempts left, else failed. A request
    never claimed long after it was made lost its queue message, and is failed.
    """
    before = now - STALE_AFTER
    handled = 0
    with db.read() as conn:
        dead = store.stale(conn, before)
    for export_id, attempts in dead:
        with db.write() as conn:
            if attempts >= MAX_ATTEMPTS:
                error = f"The export job stopped responding after {attempts} attempts."
                handled += store.fail(conn, export_id, error, now, unless_beating_after=before)
            elif store.requeue(conn, export_id, before):
                # Inside the transaction: if enqueueing fails, the heartbeat stays stale and
                # the next reap tries again.
                queue.enqueue_export(export_id)
                handled += 1
    with db.write() as conn:
        for export_id in store.never_started(conn, now - PICKUP_DEADLINE):
            error = "No worker picked the export up; is `openfeeder worker` running?"
            handled += store.fail(conn, export_id, error, now, unless_beating_after=before)
    return handled


def purge_files(db: Database, settings: Settings, now: datetime) -> int:
    """Delete expired export files and leftovers of dead jobs; returns how many went.

    Walks the directory (bounded by the files of the last ``export_ttl_days``) rather than
    the requests table, which only grows. A file that no live request names is deleted once
    it is ``ORPHAN_AFTER`` old: younger ones may belong to a job between its rename and its
    commit, or still be written.
    """
    directory = exports_dir(settings)
    if not directory.is_dir():
        return 0
    removed = 0
    cutoff = (now - ORPHAN_AFTER).timestamp()
    with os.scandir(directory) as entries:
        for batch in _batched(entries, 500):
            names = {entry.name for entry in batch if _FILE_NAME.fullmatch(entry.name)}
            with db.read() as conn:
                live = store.live_files(conn, sorted(names), now) if names else set()
            for entry in batch:
                ours = entry.name in names or entry.name.endswith(".part")
                if ours and entry.name not in live and _modified(entry) < cutoff:
                    Path(entry.path).unlink(missing_ok=True)
                    removed += 1
    return removed


def _modified(entry: os.DirEntry[str]) -> float:
    try:
        return entry.stat().st_mtime
    except FileNotFoundError:  # deleted meanwhile by another worker's purge
        return float("inf")
