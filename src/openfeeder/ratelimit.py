"""Fixed-window rate limits aligned to the UTC minute, per token (or client IP).

Counters live in memory for one process, or in Redis so that several API processes share
one limit. Every request counts, including those that end in an error or a 429, as the
seed says ("The limit includes all API requests, regardless of the endpoint URL or response").
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import redis

from openfeeder.domain.errors import RateLimited

WINDOW = 60


class Counter(Protocol):
    def incr(self, key: str, window: int) -> int:
        """Count one request for ``key`` in the minute starting at ``window``; return the count."""


class MemoryCounter:
    def __init__(self) -> None:
        self._counts: dict[tuple[str, int], int] = {}
        self._window = 0
        self._lock = threading.Lock()

    def incr(self, key: str, window: int) -> int:
        with self._lock:
            if window != self._window:
                # Only the current minute matters: drop older windows wholesale.
                self._counts = {k: v for k, v in self._counts.items() if k[1] >= window}
                self._window = window
            count = self._counts.get((key, window), 0) + 1
            self._counts[(key, window)] = count
            return count


class RedisCounter:
    def __init__(self, url: str, prefix: str = "openfeeder:ratelimit") -> None:
        self._redis = redis.Redis.from_url(url)
        self._prefix = prefix

    def incr(self, key: str, window: int) -> int:
        name = f"{self._prefix}:{key}:{window}"
        pipe = self._redis.pipeline()
        pipe.incr(name)
        pipe.expireat(name, window + WINDOW + 5)
        count, _ = pipe.execute()
        return int(count)

    def close(self) -> None:
        self._redis.close()


@dataclass(frozen=True)
class Limit:
    name: str
    per_minute: int
    message: str
    about: str


def api_limit(per_minute: int) -> Limit:
    return Limit(
        "api",
        per_minute,
        f"Exceeded the API rate limit of {per_minute} requests per minute. Try again later.",
        "http://docs.leadfeeder.com/api/#rate-limiting",
    )


def export_limit(per_minute: int) -> Limit:
    return Limit(
        "export",
        per_minute,
        f"Exceeded the Export requests rate limit of {per_minute} requests per minute. "
        "Try again later.",
        "http://docs.leadfeeder.com/api/#exporting-feeds",
    )


class RateLimiter:
    def __init__(self, counter: Counter, clock: Callable[[], float] = time.time) -> None:
        self.counter = counter
        self.clock = clock

    def check(self, key: str, limit: Limit) -> dict[str, str]:
        """Count a request; return the rate-limit headers or raise RateLimited (429)."""
        now = self.clock()
        window = int(now // WINDOW * WINDOW)
        count = self.counter.incr(f"{limit.name}:{key}", window)
        reset = window + WINDOW
        headers = {
            "X-RateLimit-Limit": str(limit.per_minute),
            "X-RateLimit-Remaining": str(max(0, limit.per_minute - count)),
            "X-RateLimit-Reset": str(reset),
        }
        if count > limit.per_minute:
            retry = max(1, math.ceil(reset - now))
            raise RateLimited(
                limit.message,
                about=limit.about,
                retry_after=retry,
                headers=headers | {"Retry-After": str(retry)},
            )
        return headers
