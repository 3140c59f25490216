"""The durable append of tracker hits, with group commit.

``Ingestor.append`` hands a hit to one writer thread and waits. The writer takes everything
that queued up while its previous commit was running, writes it in one transaction, and only
then resolves each waiter — so a request is never answered before its hit is on disk, yet a
thousand concurrent requests cost one commit, not a thousand. Each hit gets its
``visitor_key`` and ``shard`` here (a hash, nothing slow) so the pipeline can claim whole
shards and see one visitor's hits in order.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import queue
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from prometheus_client import CollectorRegistry

from openfeeder.config import Settings
from openfeeder.ingest.client_ip import ClientAddress
from openfeeder.ingest.metrics import IngestMetrics
from openfeeder.ingest.sites import Sites
from openfeeder.ratelimit import Limit
from openfeeder.store import hits as store
from openfeeder.store.db import Database
from openfeeder.store.hits import shard_of

log = logging.getLogger(__name__)

MAX_BATCH: Final = 1000  # hits per group commit; more simply wait for the next one
MAX_QUEUE: Final = 20_000  # beyond this, refuse (503) rather than hold unbounded memory


@dataclass(frozen=True)
class IncomingHit:
    """One accepted tracker request, as ingest stores it."""

    account_id: int
    event: dict[str, Any]  # the validated event JSON, as sent
    ip: str
    user_agent: str | None
    accept_language: str | None
    request_meta: dict[str, str]  # request headers the pipeline uses (prefetch, client hints)
    received_at: datetime  # UTC

    @property
    def client_event_id(self) -> str:
        return str(self.event["clientEventId"]).lower()


class IngestUnavailable(Exception):
    """The hit could not be stored (queue full, ingest stopped, or the store failed)."""


def visitor_key(account_id: int, event: Mapping[str, Any], ip: str, user_agent: str | None) -> str:
    """The browser's ``lfClientId``; for a cookieless (``….NC``) id, a hash of who sent it.

    ``nc:`` keys hold 128 bits of SHA-256 over (account, IP, user agent): enough to keep
    visitors apart and to fit the column; the pipeline re-keys them with a daily salt.
    """
    client_id = str(event.get("lfClientId") or "")
    if client_id and not client_id.endswith(".NC"):
        return client_id
    material = f"{account_id}\x1f{ip}\x1f{user_agent or ''}".encode()
    return "nc:" + hashlib.sha256(material).hexdigest()[:32]


def hit_row(hit: IncomingHit) -> store.HitRow:
    key = visitor_key(hit.account_id, hit.event, hit.ip, hit.user_agent)
    return (
        hit.account_id,
        hit.client_event_id,
        hit.received_at,
        hit.ip,
        hit.user_agent,
        hit.accept_language,
        hit.request_meta,
        key,
        shard_of(key),
        hit.event,
    )


@dataclass
class _Waiter:
    hit: IncomingHit
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[bool]


Outcome = bool | BaseException


def _settle(settled: list[tuple[asyncio.Future[bool], Outcome]]) -> None:
    for future, outcome in settled:
        if future.done():  # the request went away (client disconnect); the hit is stored anyway
            continue
        if isinstance(outcome, BaseException):
            future.set_exception(outcome)
        else:
            future.set_result(outcome)


def _settle_on_their_loops(waiters: Sequence[_Waiter], outcomes: Sequence[Outcome]) -> None:
    """Resolve each waiter's future on its own event loop: one wake-up per loop and batch,
    not one per hit (each ``call_soon_threadsafe`` writes to the loop's self-pipe)."""
    by_loop: dict[asyncio.AbstractEventLoop, list[tuple[asyncio.Future[bool], Outcome]]] = {}
    for waiter, outcome in zip(waiters, outcomes, strict=True):
        by_loop.setdefault(waiter.loop, []).append((waiter.future, outcome))
    for loop, settled in by_loop.items():
        with contextlib.suppress(RuntimeError):  # a closed loop: nobody is waiting any more
            loop.call_soon_threadsafe(_settle, settled)


_STOP: Final = object()


def _first_line(error: BaseException) -> str:
    # Database errors run to many lines (statement, parameters); the first says what failed.
    text = str(error).strip()
    return text.splitlines()[0] if text else error.__class__.__name__


class Ingestor:
    """The tracker surface's state: where hits go, who may send them, and what was counted."""

    def __init__(self, settings: Settings, db: Database) -> None:
        self.settings = settings
        self.db = db
        self.sites = Sites(db)
        self.addresses = ClientAddress(settings.trusted_proxies)
        self.flood_limit = Limit(
            "tracker",
            settings.tracker_flood_per_minute,
            f"More than {settings.tracker_flood_per_minute} tracker hits from one address "
            "in a minute.",
            "docs/tracking.md#flood-limit",
        )
        self._queue: queue.Queue[_Waiter | object] = queue.Queue(MAX_QUEUE)
        self.metrics = IngestMetrics(queue_depth=self._queue.qsize)
        self._thread: threading.Thread | None = None
        self._accepting = False
        # Guards "accepting" and the queue together, so no hit slips in behind the stop mark.
        self._gate = threading.Lock()

    # -- lifecycle -----------------------------------------------------------------------

    def start(self) -> None:
        with self._gate:
            if self._thread is not None:
                return
            self._thread = threading.Thread(target=self._run, name="openfeeder-ingest", daemon=True)
            self._thread.start()
            self._accepting = True

    def stop(self) -> None:
        """Stop taking hits, write every hit already handed over, and end the writer."""
        with self._gate:
            thread, self._thread = self._thread, None
            self._accepting = False
        if thread is None:
            return
        self._queue.put(_STOP)
        thread.join()

    # -- appending -----------------------------------------------------------------------

    async def append(self, hit: IncomingHit) -> bool:
        """Store one hit; True when new, False for an already stored ``clientEventId``.

        Returns only after the transaction holding the hit committed; raises
        IngestUnavailable when it could not be stored.
        """
        loop = asyncio.get_running_loop()
        waiter = _Waiter(hit, loop, loop.create_future())
        with self._gate:
            if not self._accepting:
                self.metrics.count("unavailable")
                raise IngestUnavailable("ingest is not running")
            try:
                self._queue.put_nowait(waiter)
            except queue.Full:
                self.metrics.count("unavailable")
                raise IngestUnavailable("too many hits are waiting to be written") from None
        return await waiter.future

    def append_many(self, hits: Sequence[IncomingHit]) -> int:
        """Store hits in one transaction on the calling thread; the number that were new."""
        new = self._write([hit_row(hit) for hit in hits])
        return sum(new)

    def counts(self) -> dict[str, int]:
        return self.metrics.counts()

    @property
    def registry(self) -> CollectorRegistry:
        """The Prometheus registry ``/metrics`` serves (the pipeline has one by that name too)."""
        return self.metrics.registry

    # -- the writer ----------------------------------------------------------------------

    def _run(self) -> None:
        stopping = False
        while not stopping:
            batch: list[_Waiter] = []
            item = self._queue.get()
            # Everything that arrived while the last commit ran goes into this one.
            while item is not _STOP:
                assert isinstance(item, _Waiter)
                batch.append(item)
                if len(batch) >= MAX_BATCH:
                    break
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
            stopping = item is _STOP
            if batch:
                try:
                    self._commit(batch)
                except BaseException:  # the writer must outlive anything: requests wait on it
                    log.exception("ingest writer failed on %d hits", len(batch))
                    self._settle_all(batch, [None] * len(batch))

    def _commit(self, batch: list[_Waiter]) -> None:
        outcomes: list[bool | None]
        try:
            outcomes = list(self._write([hit_row(w.hit) for w in batch]))
        except store.ROW_ERRORS as error:
            # A row the store refuses (its account was just deleted, say) fails the whole
            # transaction; written one by one, only that hit fails.
            log.warning("group commit of %d hits refused: %s", len(batch), _first_line(error))
            outcomes = [self._write_alone(w.hit) for w in batch]
        except Exception:  # the store itself is failing: retrying hit by hit would not help
            log.exception("group commit of %d hits failed", len(batch))
            outcomes = [None] * len(batch)
        self._settle_all(batch, outcomes)

    def _settle_all(self, batch: list[_Waiter], outcomes: Sequence[bool | None]) -> None:
        """Answer each waiter: new, duplicate, or (None) not stored."""
        answers: list[Outcome] = []
        for outcome in outcomes:
            if outcome is None:
                self.metrics.count("unavailable")
                # What went wrong is in our log; the browser only learns to send it again.
                answers.append(IngestUnavailable("the hit could not be stored"))
            else:
                answers.append(outcome)
        _settle_on_their_loops(batch, answers)

    def _write_alone(self, hit: IncomingHit) -> bool | None:
        try:
            return self._write([hit_row(hit)])[0]
        except Exception as error:
            log.warning("hit %s not stored: %s", hit.client_event_id, _first_line(error))
            return None

    def _write(self, rows: list[store.HitRow]) -> list[bool]:
        """One durable transaction; per row, whether it was new (False: a duplicate)."""
        seen: set[tuple[int, str]] = set()
        unique = []
        for row in rows:
            key = (row[0], row[1])
            if key not in seen:  # a retry racing its original inside one batch
                seen.add(key)
                unique.append(row)
        started = time.perf_counter()
        with store.durable_write(self.db) as conn:
            inserted = store.insert_hits(conn, unique)
        self.metrics.commit_seconds.observe(time.perf_counter() - started)
        self.metrics.batch_size.observe(len(rows))
        new: list[bool] = []
        for row in rows:
            key = (row[0], row[1])
            new.append(key in inserted)
            inserted.discard(key)  # the first of repeated keys is the new one
        self.metrics.count("accepted", sum(new))
        self.metrics.count("duplicate", len(new) - sum(new))
        return new
