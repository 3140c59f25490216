"""Cached, concurrent lookups of the slow resolvers (reverse DNS, enrichment): fresh answers
come from ``ip_cache``; the misses are looked up concurrently on the identifier's own event
loop, each bounded by a timeout, and stored with their expiry."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Collection, Coroutine
from datetime import datetime, timedelta
from typing import Any, Protocol, TypeVar

import sqlalchemy as sa

from openfeeder.store import identify as store

log = logging.getLogger(__name__)
_T = TypeVar("_T")
FAILURE_TTL = timedelta(minutes=10)


class SlowResolver(Protocol):
    """A resolver whose answers are worth caching: ``lookup`` gives a JSON-ready answer and
    how long it may be reused."""

    name: str
    timeout: float  # seconds one lookup may take

    async def lookup(self, ip: str) -> tuple[dict[str, Any], timedelta]: ...


class EventLoopThread:
    """A private event loop on a daemon thread, started on first use. Callers may be plain
    threads (the pipeline, API handlers) or code already inside another event loop; the slow
    resolvers' clients (an httpx pool) live on this one loop for the identifier's lifetime."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    def run(self, coroutine: Coroutine[Any, Any, _T]) -> _T:
        return asyncio.run_coroutine_threadsafe(coroutine, self._started()).result()

    def _started(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None:
                loop = asyncio.new_event_loop()
                thread = threading.Thread(
                    target=loop.run_forever, name="openfeeder-identify", daemon=True
                )
                thread.start()
                self._loop, self._thread = loop, thread
            return self._loop

    @property
    def started(self) -> bool:
        return self._loop is not None

    def close(self) -> None:
        with self._lock:
            loop, thread = self._loop, self._thread
            self._loop = self._thread = None
        if loop is None or thread is None:
            return
        loop.call_soon_threadsafe(loop.stop)
        thread.join()
        loop.close()


async def lookup_all(
    resolver: SlowResolver, ips: Collection[str], concurrency: int, timeout: float
) -> dict[str, tuple[dict[str, Any], timedelta]]:
    semaphore = asyncio.Semaphore(concurrency)

    async def one(ip: str) -> tuple[dict[str, Any], timedelta]:
        async with semaphore:
            try:
                # The resolvers bound themselves; this bounds a resolver that does not.
                return await asyncio.wait_for(resolver.lookup(ip), timeout)
            except TimeoutError:
                return {"status": "timeout"}, FAILURE_TTL
            except Exception:
                # One bad answer must not cost the batch its other identifications.
                log.exception("%s lookup of %s failed", resolver.name, ip)
                return {"status": "error"}, FAILURE_TTL

    ordered = sorted(ips)
    answers = await asyncio.gather(*(one(ip) for ip in ordered))
    return dict(zip(ordered, answers, strict=True))


def cached_lookups(
    conn: sa.Connection,
    resolver: SlowResolver,
    ips: Collection[str],
    loop: EventLoopThread,
    at: datetime,
    *,
    concurrency: int,
) -> dict[str, dict[str, Any]]:
    """Answers for every IP in ``ips``: cached ones, and the rest looked up and cached."""
    if not ips:
        return {}
    answers = store.cache_get(conn, resolver.name, ips, at)
    missing = set(ips) - set(answers)
    if missing:
        # A little grace over the resolver's own bound, which it enforces more precisely.
        timeout = resolver.timeout + 0.5
        fresh = loop.run(lookup_all(resolver, missing, concurrency, timeout))
        store.cache_put(
            conn, resolver.name, {ip: (answer, at + ttl) for ip, (answer, ttl) in fresh.items()}
        )
        answers |= {ip: answer for ip, (answer, _ttl) in fresh.items()}
    return answers
