"""The job queue: which huey storage to use, and how queued tasks and the periodic upkeep
(reaping dead exports, purging old files) run as a ``background.BackgroundLoop``, whether
inside ``serve`` (a daemon thread), in ``openfeeder worker`` (the foreground) or in tests
(``run_pending``).

SQLite storage in ``<data_dir>/jobs.db`` is the embedded default; with ``redis_url`` set the
queue lives in Redis and any number of worker processes share it.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from datetime import datetime
from typing import Any

from huey import RedisHuey, SqliteHuey

from openfeeder import logs
from openfeeder.background import BackgroundLoop
from openfeeder.config import Settings
from openfeeder.domain.clock import SYSTEM_CLOCK, Clock
from openfeeder.jobs.tasks import register
from openfeeder.services import digests, exports
from openfeeder.services.mailer import Mailer, make_mailer
from openfeeder.store.db import Database

log = logging.getLogger(__name__)

RETRY_DELAY_SECONDS = 30.0
UPKEEP_SECONDS = 60.0
# How long an idle loop waits for work when the storage cannot block (SQLite); an enqueue
# from this process wakes it at once.
IDLE_SECONDS = 1.0
# After an error talking to the queue (Redis restarting, say), wait before trying again.
ERROR_BACKOFF_SECONDS = 5.0


class JobQueue:
    """Enqueue jobs and run them; build one with ``make_queue``."""

    def __init__(
        self,
        huey: Any,
        db: Database,
        settings: Settings,
        files: exports.ExportFiles,
        clock: Clock,
        *,
        retry_delay: float,
    ) -> None:
        self.huey = huey
        self._db = db
        self._files = files
        self._clock = clock
        self._settings = settings
        self.mailer: Mailer = make_mailer(settings)
        self._export = register(huey, db, settings, files, clock, retry_delay=retry_delay)
        self._loop = BackgroundLoop(
            "jobs",
            lambda: self._run_one(block=True),
            self.upkeep,
            upkeep_seconds=UPKEEP_SECONDS,
            # A blocking storage (Redis) already waited for work in dequeue.
            idle_seconds=0.0 if huey.storage.blocking else IDLE_SECONDS,
            backoff_seconds=ERROR_BACKOFF_SECONDS,
        )

    # ── enqueueing ──

    def enqueue_export(self, export_id: str) -> None:
        self._export(export_id)
        self._loop.wake()

    def pending_count(self) -> int:
        """Tasks waiting in the queue (not counting retries scheduled for later)."""
        return int(self.huey.pending_count())

    def scheduled_count(self) -> int:
        """Retries waiting for their delay to pass."""
        return int(self.huey.scheduled_count())

    # ── running ──

    def run_pending(self, limit: int | None = None) -> int:
        """Execute queued tasks in this thread until none is left (or ``limit`` ran).

        Retries queued by a failing task run too when their delay is zero; retries with a
        delay wait in the schedule. Returns how many tasks ran.
        """
        ran = 0
        while (limit is None or ran < limit) and self._run_one(block=False):
            ran += 1
        return ran

    def start_in_process(self) -> None:
        """Run the loop in a daemon thread of this process (``serve`` with in-process jobs)."""
        self._loop.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the loop after the task in hand and release the storage's connections.

        A task still running after ``timeout`` is left to finish in its daemon thread; should
        the process end first, its export's heartbeat goes stale and the reaper re-runs it.
        """
        if self._loop.stop(timeout):
            self.close()

    def close(self) -> None:
        """Release storage connections (they reopen on next use)."""
        storage = self.huey.storage
        storage.close()
        pool = getattr(storage, "pool", None)
        if pool is not None:  # Redis: huey's storage does not close its own pool
            pool.disconnect()

    def work(self, stop: threading.Event) -> None:
        """Run tasks and upkeep until ``stop`` is set; errors are logged, never fatal."""
        self._loop.work(stop)

    def upkeep(self, now: datetime | None = None) -> int:
        """Reap dead exports, purge old files and send the digests that are due (once email
        is set up); returns how many of each were handled."""
        moment = now or self._clock.now()
        reaped = exports.reap_stale(self._db, self, moment)
        purged = exports.purge_files(self._db, self._files, moment)
        if reaped or purged:
            log.info("upkeep: %d export(s) reaped, %d file(s) purged", reaped, purged)
        mailed = 0
        if self._settings.smtp_host:
            mailed = digests.send_due(self._db, self.mailer, self._settings, moment).total
        return reaped + purged + mailed

    def _run_one(self, *, block: bool) -> bool:
        """Run the next ready task, if any; True when one ran."""
        for task in self.huey.read_schedule():  # retries whose delay has passed
            self.huey.enqueue(task)
        if not block and self.huey.pending_count() == 0:
            return False  # Redis would otherwise block on an empty queue
        task = self.huey.dequeue()
        if task is None:
            return False
        # huey retries or records a failing task itself; what escapes is a bug in huey's
        # bookkeeping, which the loop logs and survives.
        with logs.bound(job_id=str(task.id)):
            self.huey.execute(task)
        return True


def queue_name(settings: Settings) -> str:
    """One queue per store, so processes (and tests) on different databases never share."""
    digest = hashlib.sha256(settings.database_url.encode()).hexdigest()[:12]
    return f"openfeeder_{digest}"


def make_queue(
    settings: Settings,
    db: Database,
    *,
    files: exports.ExportFiles | None = None,
    clock: Clock = SYSTEM_CLOCK,
    retry_delay: float = RETRY_DELAY_SECONDS,
) -> JobQueue:
    """The queue for these settings: Redis when ``redis_url`` is set, else SQLite. Its jobs
    write to ``files`` (the settings' export files unless handed in)."""
    name = queue_name(settings)
    huey: Any
    if settings.redis_url:
        huey = RedisHuey(name, url=settings.redis_url, results=False)
    else:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        huey = SqliteHuey(name, filename=str(settings.data_dir / "jobs.db"), results=False)
    files = files or exports.make_export_files(settings)
    return JobQueue(huey, db, settings, files, clock, retry_delay=retry_delay)
