"""The pipeline's loop: claims one shard at a time and takes its next batch of hits through the
steps in one transaction, whether inside ``serve`` (a daemon thread), in ``openfeeder
worker`` (the main thread) or in tests and the demo (``run_once``).

Claiming: every visitor's hits live in one shard (ingest hashes the visitor key), and a
worker locks the shard's ``pipeline_shards`` row (``FOR UPDATE SKIP LOCKED`` on PostgreSQL;
SQLite's write transaction is already exclusive) for the transaction that reads the shard's
oldest unprocessed hits, runs the steps, records visits, saves sessions and marks the hits
processed. So a visitor's hits are processed in order, each exactly once, and a crash rolls
back the whole batch for the next worker to redo.
"""

from __future__ import annotations

import ipaddress
import logging
import threading
from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from crawlerdetect import CrawlerDetect
from prometheus_client import CollectorRegistry

from openfeeder import logs
from openfeeder.background import BackgroundLoop
from openfeeder.config import Settings
from openfeeder.domain.clock import SYSTEM_CLOCK, Clock
from openfeeder.domain.drops import DropReason
from openfeeder.pipeline import janitor
from openfeeder.pipeline.metrics import PipelineCollector, PipelineCounters
from openfeeder.pipeline.model import Batch, Event, Identifier, Tools, TransientError
from openfeeder.pipeline.steps import STEPS, Outcome, Step, device, run_steps
from openfeeder.services.urls import public_base_url
from openfeeder.store import pipeline as store
from openfeeder.store.db import Database
from openfeeder.store.hits import SHARDS

log = logging.getLogger(__name__)

# An idle loop looks for new hits this often: the tracker's hits show up within a second.
IDLE_SECONDS = 1.0
# After a failed batch (the store or an outside service down), wait before trying again.
ERROR_BACKOFF_SECONDS = 5.0
# Batches per loop turn, between looks at the stop flag and the upkeep clock.
BATCHES_PER_TURN = 16
UPKEEP_SECONDS = 600.0


class Pipeline:
    """Processes tracker hits into visits; build one with ``make_pipeline``."""

    def __init__(
        self,
        settings: Settings,
        db: Database,
        tools: Tools,
        *,
        steps: Sequence[Step] = STEPS,
        clock: Clock = SYSTEM_CLOCK,
        shards: int = SHARDS,
    ) -> None:
        self.settings = settings
        self.db = db
        self.tools = tools
        self.steps = tuple(steps)
        self.shards = shards
        self.batch_size = settings.pipeline_batch_size
        self.counters = PipelineCounters()
        # Its own registry (nothing global): the app serves it with generate_latest().
        self.registry = CollectorRegistry(auto_describe=True)
        self.registry.register(PipelineCollector(self.counters))
        self._clock = clock
        self._shards_ready = False
        self._turn = 0
        self._closed = False
        self._loop = BackgroundLoop(
            "pipeline",
            self._loop_turn,
            self.upkeep,
            upkeep_seconds=UPKEEP_SECONDS,
            idle_seconds=IDLE_SECONDS,
            backoff_seconds=ERROR_BACKOFF_SECONDS,
        )

    # ── processing ──

    def run_once(self, max_batches: int | None = None) -> int:
        """Process waiting hits in this thread until none is left that this worker can claim
        (or ``max_batches`` batches committed); returns how many hits were processed."""
        if not self._shards_ready:
            with self.db.write() as conn:
                store.ensure_shards(conn, self.shards)
            self._shards_ready = True
        processed = batches = 0
        while max_batches is None or batches < max_batches:
            with self.db.read() as conn:
                waiting = store.shards_with_work(conn, self.shards)
            if not waiting:
                break
            # Start each pass at another shard, so workers spread out and none starves.
            self._turn += 1
            start = self._turn % len(waiting)
            progressed = False
            for shard in waiting[start:] + waiting[:start]:
                if max_batches is not None and batches >= max_batches:
                    break
                done = self._process_shard(shard)
                if done:
                    processed += done
                    batches += 1
                    progressed = True
            if not progressed:  # every waiting shard is held by other workers
                break
        return processed

    def drop_counts(self) -> dict[str, int]:
        """Hits dropped by this pipeline since it was made, by reason."""
        return self.counters.dropped()

    def _process_shard(self, shard: int) -> int:
        # One id per batch (and the hit-by-hit retry after it) for every record logged in it.
        with logs.bound(batch_id=f"{shard}-{logs.new_id()[:12]}"):
            try:
                return self._batch(shard, self.batch_size)
            except Exception as error:
                if is_transient(error):
                    raise  # nothing wrong with the hits: the loop backs off and redoes it
                log.exception("pipeline batch of shard %d failed; retrying it hit by hit", shard)
            return self._isolate(shard)

    def _isolate(self, shard: int) -> int:
        """After a failed batch, go one hit at a time up to the hit that fails on its own,
        and quarantine that one (drop reason ``error``, with the error kept on the hit) so the
        shard is not stuck behind it; the rest of the batch goes on."""
        done = 0
        for _ in range(self.batch_size):
            try:
                processed = self._batch(shard, 1)
            except Exception as error:
                if is_transient(error):
                    raise
                log.exception("pipeline: quarantining the next hit of shard %d", shard)
                return done + self._quarantine(shard, error)  # the rest: batches again
            if not processed:
                break
            done += processed
        return done

    def _warm(self, shard: int, limit: int) -> None:
        """Identify the next batch's addresses before the batch takes its write lock.

        Reverse DNS and the enrichment provider can take seconds; their answers land in the
        resolver cache here, in a transaction that holds SQLite's write lock only for the
        final cache write, so the batch itself then finds them cached and ingest's commits
        never wait on a name server. Best effort: whatever fails here is simply resolved
        again inside the batch."""
        with self.db.read() as conn:
            hits = store.unprocessed_hits(conn, shard, limit)
        by_account: dict[int, set[str]] = {}
        for hit in hits:
            by_account.setdefault(hit.account_id, set()).add(hit.ip)
        for account_id, ips in sorted(by_account.items()):
            try:
                with self.db.deferred() as conn:
                    self.tools.identifier.identify_many(conn, account_id, sorted(ips))
            except sa.exc.DBAPIError as error:
                log.debug("pipeline: cache warm-up failed, the batch resolves again: %s", error)

    def _batch(self, shard: int, limit: int) -> int:
        """One batch of one shard in one transaction; how many hits it processed."""
        if self.tools.identifier.slow:
            self._warm(shard, limit)
        with self.db.write() as conn:
            if not store.claim_shard(conn, shard):
                return 0
            hits = store.unprocessed_hits(conn, shard, limit)
            if not hits:
                return 0
            now = self._clock.now()
            batch = Batch(conn, now, self.tools)
            outcomes = run_steps(self.steps, batch, [Event(hit) for hit in hits])
            store.mark_processed(conn, [self._processed(o) for o in outcomes], now)
            store.advance_shard(conn, shard, hits[-1].id, now)
        # Counted once committed, so a rolled-back batch never inflates the numbers.
        self.counters.batch(len(hits), [o.drop for o in outcomes if o.drop], len(batch.visits))
        return len(hits)

    def _quarantine(self, shard: int, error: BaseException) -> int:
        with self.db.write() as conn:
            if not store.claim_shard(conn, shard):
                return 0
            hits = store.unprocessed_hits(conn, shard, 1)
            if not hits:
                return 0
            now = self._clock.now()
            outcome = store.Processed(
                hits[0].id,
                DropReason.ERROR.value,
                None,
                self._kept_ip(hits[0].ip),
                describe(error),
            )
            store.mark_processed(conn, [outcome], now)
            store.advance_shard(conn, shard, hits[0].id, now)
        self.counters.batch(1, [DropReason.ERROR], 0)
        self.counters.quarantined(type(error).__name__)
        return 1

    def _processed(self, outcome: Outcome) -> store.Processed:
        hit = outcome.event.hit
        drop = None if outcome.drop is None else outcome.drop.value
        return store.Processed(hit.id, drop, outcome.visit_id, self._kept_ip(hit.ip))

    def _kept_ip(self, ip: str) -> str:
        """The IP stored once the hit is processed: truncated (IPv4 /24, IPv6 /48) when the
        settings say so; identification and the visitor key have used the full one."""
        if not self.settings.truncate_ips:
            return ip
        return truncate_ip(ip)

    # ── upkeep ──

    def upkeep(self, now: datetime | None = None) -> janitor.Swept:
        """Delete old raw hits, finished sessions and unneeded salts (see ``janitor``)."""
        swept = janitor.sweep(
            self.db, now or self._clock.now(), self.settings.hit_retention_days, self.shards
        )
        if swept.hits or swept.sessions or swept.salts:
            log.info(
                "pipeline upkeep: %d hit(s), %d session(s), %d salt(s) deleted",
                swept.hits,
                swept.sessions,
                swept.salts,
            )
        return swept

    # ── the loop ──

    def _loop_turn(self) -> bool:
        return bool(self.run_once(max_batches=BATCHES_PER_TURN))

    def work(self, stop: threading.Event) -> None:
        """Process hits and run upkeep until ``stop`` is set; errors are logged, never fatal."""
        self._loop.work(stop)

    def start_in_process(self) -> None:
        """Run the loop in a daemon thread of this process (``serve``)."""
        if self._closed:
            raise RuntimeError("this pipeline was stopped and closed; make a new one")
        self._loop.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the loop after the batch in hand and close the outside parts.

        A batch still running after ``timeout`` is left to finish in its daemon thread; if
        the process ends first, its transaction never commits and another worker redoes it.
        """
        if self._loop.stop(timeout):
            self.close()

    def close(self) -> None:
        """Close what the pipeline opened (an identifier handed in stays open); idempotent."""
        if self._closed:
            return
        self._closed = True
        if self.tools.owns_identifier:
            self.tools.identifier.close()
        if self.tools.city is not None:
            self.tools.city.close()


def is_transient(error: BaseException) -> bool:
    """True for failures of something outside the hits — the store unreachable, a lock or
    deadlock timeout, an identifier's service down — after which the same batch is simply
    redone; False for errors the hits themselves cause (a value the store refuses, a step's
    bug), after which the hit at fault is quarantined and the rest go on."""
    if isinstance(error, TransientError):
        return True
    if isinstance(error, sa.exc.DBAPIError):
        return error.connection_invalidated or isinstance(
            error, sa.exc.OperationalError | sa.exc.InterfaceError
        )
    return isinstance(error, sa.exc.DisconnectionError | sa.exc.TimeoutError)


def describe(error: BaseException) -> str:
    """The error as kept on a quarantined hit: its type and first line, bounded."""
    message = str(getattr(error, "orig", None) or error).strip().splitlines()
    return f"{type(error).__name__}: {message[0] if message else ''}"[:1000]


def truncate_ip(ip: str) -> str:
    """IPv4 to its /24, IPv6 to its /48; text that is no IP is kept as it is."""
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return ip
    prefix = 24 if address.version == 4 else 48
    return str(ipaddress.ip_network(f"{address}/{prefix}", strict=False).network_address)


def make_pipeline(
    settings: Settings,
    db: Database,
    *,
    identifier: Identifier | None = None,
    steps: Sequence[Step] = STEPS,
    clock: Clock = SYSTEM_CLOCK,
) -> Pipeline:
    """The pipeline for these settings: the identify package's resolver chain and the City
    database (``city_mmdb`` or the downloaded one). An ``identifier`` handed in (one shared with the
    API, or a stand-in) is used as it is and left open by ``stop``/``close``."""
    from openfeeder.identify.reloading import open_city

    owns = identifier is None
    if identifier is None:
        from openfeeder.identify import make_identifier

        identifier = make_identifier(settings)
    city = open_city(settings)  # the configured or downloaded file, reopened when replaced
    device.load_parser()
    tools = Tools(
        identifier,
        city,
        CrawlerDetect(),
        owns_identifier=owns,
        app_url=public_base_url(settings, None),
    )
    return Pipeline(settings, db, tools, steps=steps, clock=clock)
