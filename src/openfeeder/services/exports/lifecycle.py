"""An export request's life: requesting one, the job that claims it, keeps its claim alive
and writes its file, the download, and the upkeep that keeps requests from staying pending
(reaping dead jobs) and files from piling up.

A request goes ``pending`` → ``processed`` | ``failed``. The job claims the row (attempts + 1,
heartbeat now), keeps the heartbeat fresh while it writes, and finishes only while its claim
is still the current one. A job that raises gives its claim back and is retried by the queue;
a worker that dies leaves a stale heartbeat that ``reap_stale`` re-enqueues. After
``MAX_ATTEMPTS`` claims the request is failed, so no request stays pending for good.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable
from datetime import date, datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import Protocol

from openfeeder.config import Settings
from openfeeder.domain.clock import SYSTEM_CLOCK, Clock
from openfeeder.domain.errors import NotFound, OpenfeederError
from openfeeder.domain.models import Account, ExportRequest, User
from openfeeder.services.exports.files import FILE_NAME, ExportFiles, new_file_name
from openfeeder.services.exports.report import write_report
from openfeeder.services.feeds import get_feed
from openfeeder.store import accounts as accounts_store
from openfeeder.store import exports as store
from openfeeder.store.db import Database

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 3
HEARTBEAT_SECONDS = 10.0
# Several missed heartbeats in a row, so a busy database does not get a live job reaped.
STALE_AFTER = timedelta(minutes=3)
# A pending request nobody ever claimed (its queue message was lost between dequeue and
# claim) is failed after this long; a healthy queue starts a job in seconds.
PICKUP_DEADLINE = timedelta(days=1)


class ExportQueue(Protocol):
    """What this module needs from the job queue (``openfeeder.jobs.JobQueue`` is one)."""

    def enqueue_export(self, export_id: str) -> None: ...


# ── requests ─────────────────────────────────────────────────────────────────────────────


def create_export(
    db: Database,
    queue: ExportQueue,
    account: Account,
    user: User,
    feed_id: str,
    first: date,
    last: date,
    *,
    request_base_url: str | None = None,
    clock: Clock = SYSTEM_CLOCK,
) -> ExportRequest:
    """Record a pending export (feed and dates already validated) and enqueue its job.

    ``request_base_url`` is the base URL of the API request asking for it: the job runs
    without a request, maybe in another process, and builds the file's links from it.
    """
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
        created_at=clock.now(),
        expires_at=None,
        request_base_url=request_base_url,
    )
    # Committed before enqueueing: a worker may pick the job up at once and must find the row.
    with db.write() as conn:
        store.insert(conn, request)
    try:
        queue.enqueue_export(request.id)
    except Exception as error:
        # Nothing would ever run it; fail it now rather than leave it pending.
        reason = f"The export could not be queued: {_describe(error)}"
        mark_failed(db, request.id, reason, clock=clock)
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
    db: Database, files: ExportFiles, file_name: str, *, clock: Clock = SYSTEM_CLOCK
) -> Path:
    """The file behind ``/download/<file_name>``; 404 when unknown, unfinished or expired.

    The 128-bit random name is the capability, so no token is asked for; the name is
    checked against its format first, so nothing else can reach the filesystem.
    """
    missing = NotFound("This download does not exist or has expired.")
    if not FILE_NAME.fullmatch(file_name):
        raise missing
    with db.read() as conn:
        request = store.by_file_name(conn, file_name)
    if (
        request is None
        or request.status != "processed"
        or request.expires_at is None
        or request.expires_at <= clock.now()
    ):
        raise missing
    path = files.path(file_name)
    if path is None:
        raise missing
    return path


def mark_failed(db: Database, export_id: str, error: str, *, clock: Clock = SYSTEM_CLOCK) -> bool:
    """Fail a pending request that no live worker is on (the queue's last-retry hook)."""
    now = clock.now()
    with db.write() as conn:
        return store.fail(conn, export_id, error, now, unless_beating_after=now - STALE_AFTER)


# ── the job ──────────────────────────────────────────────────────────────────────────────


class Superseded(Exception):
    """This attempt's claim was taken over (it was presumed dead); stop without a trace."""


def run_export(
    db: Database,
    settings: Settings,
    files: ExportFiles,
    export_id: str,
    *,
    clock: Clock = SYSTEM_CLOCK,
) -> None:
    """The export job: write the file and mark the request processed. Safe to run again.

    Does nothing when the request is unknown, finished, or held by a live worker. Raises when
    the attempt fails for a reason that may pass (the queue retries); fails the request
    outright when it cannot succeed (feed deleted, requester no longer a member) or when this
    was the last allowed attempt.
    """
    claimed = _claim(db, export_id, clock.now())
    if claimed is None:
        return
    request, attempt = claimed
    try:
        with Heartbeat(db, export_id, attempt, clock=clock) as beat:
            file_name = _write_file(db, files, request, beat.check)
        finished = clock.now()
        expires = finished + timedelta(days=settings.export_ttl_days)
        with db.write() as conn:
            done = store.finish(conn, export_id, attempt, file_name, finished, expires)
        if not done:
            files.delete(file_name)
            raise Superseded
    except Superseded:
        log.warning("export %s attempt %d was taken over by another worker", export_id, attempt)
    except OpenfeederError as error:
        with db.write() as conn:
            store.fail(conn, export_id, error.detail, clock.now(), attempt=attempt)
    except Exception as error:
        _give_back(db, export_id, attempt, error, clock.now())
        raise


def _claim(db: Database, export_id: str, now: datetime) -> tuple[ExportRequest, int] | None:
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


def _give_back(db: Database, export_id: str, attempt: int, error: Exception, now: datetime) -> None:
    message = _describe(error)
    with db.write() as conn:
        if attempt >= MAX_ATTEMPTS:
            text = f"Gave up after {attempt} attempts: {message}"
            store.fail(conn, export_id, text, now, attempt=attempt)
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
        self,
        db: Database,
        export_id: str,
        attempt: int,
        *,
        clock: Clock = SYSTEM_CLOCK,
        every: float = HEARTBEAT_SECONDS,
    ) -> None:
        self._db = db
        self._clock = clock
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
                    alive = store.heartbeat(conn, self._export_id, self._attempt, self._clock.now())
            except Exception:
                # A missed beat is not fatal: the claim only goes stale after several.
                log.exception("heartbeat of export %s failed", self._export_id)
                continue
            if not alive:
                self._lost.set()
                return


def _write_file(
    db: Database,
    files: ExportFiles,
    request: ExportRequest,
    check: Callable[[], None],
) -> str:
    """Write the report into a draft, then publish it under its capability name."""
    with db.read() as conn:
        account = accounts_store.get_account(conn, request.account_id)
        user = store.requester(conn, request.user_id)
        member = account is not None and user is not None
        member = member and accounts_store.is_member(conn, request.user_id, request.account_id)
    if account is None or user is None or not member:
        raise NotFound("The account or the user who requested the export no longer has access.")
    criteria = get_feed(db, account, user, request.feed_id).criteria

    file_name = new_file_name()
    with files.draft(request.id) as draft:
        write_report(
            draft.out,
            db,
            account.id,
            request.start_date,
            request.end_date,
            criteria,
            check,
            draft.spool,
        )
        draft.publish(file_name)
    return file_name


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


def purge_files(db: Database, files: ExportFiles, now: datetime) -> int:
    """Delete expired export files and leftovers of dead jobs; returns how many went.

    A file is live while a processed request names it and has not expired; the rest go
    once they are old enough for no job to be still on them (``ExportFiles.purge``).
    """

    def live(file_names: list[str]) -> set[str]:
        with db.read() as conn:
            return store.live_files(conn, file_names, now)

    return files.purge(live, now)
