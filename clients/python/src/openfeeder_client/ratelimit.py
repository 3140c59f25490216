"""Living with the API's rate limit: how long a 429 says to wait, and optional client-side
pacing so a client never sends more than N requests in any minute.

Leadfeeder (and openfeeder) allow 100 requests per token per minute, in windows that reset
when the next minute starts. Both pieces take the clock and the sleep function as
arguments, so tests run them on a fake clock instead of waiting.
"""

from __future__ import annotations

import email.utils
from collections import deque
from collections.abc import Callable, Mapping

__all__ = ["WINDOW_SECONDS", "Pacer", "retry_delay"]

WINDOW_SECONDS = 60.0


def retry_delay(headers: Mapping[str, str], now: float) -> float:
    """Seconds to wait after a 429 with these headers, at wall-clock time ``now`` (epoch).

    ``Retry-After`` (seconds or an HTTP date) wins; then ``X-RateLimit-Reset`` (epoch
    seconds); without either, the start of the next minute, when the seed says the limit
    resets.
    """
    lowered = {name.lower(): value for name, value in headers.items()}
    retry_after = lowered.get("retry-after")
    if retry_after:
        value = retry_after.strip()
        if value.isdigit():
            return float(value)
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            pass
        else:
            return max(0.0, when.timestamp() - now)
    reset = lowered.get("x-ratelimit-reset")
    if reset:
        try:
            return max(0.0, float(reset) - now)
        except ValueError:
            pass
    return WINDOW_SECONDS - now % WINDOW_SECONDS


class Pacer:
    """Spaces requests so that no 60-second span holds more than ``per_minute`` of them.

    A sliding window is stricter than the server's fixed minute, so it holds whatever the
    two clocks' offset: before each request, if the ``per_minute``-th latest one is less
    than a minute old, wait until it is not.
    """

    def __init__(
        self,
        per_minute: int,
        *,
        clock: Callable[[], float],
        sleep: Callable[[float], None],
    ) -> None:
        if per_minute < 1:
            raise ValueError("per_minute must be at least 1")
        self.per_minute = per_minute
        self._clock = clock
        self._sleep = sleep
        self._sent: deque[float] = deque(maxlen=per_minute)

    def wait(self) -> float:
        """Block until a request may go, record it as sent; return how long it waited."""
        waited = 0.0
        if len(self._sent) == self.per_minute:
            waited = self._sent[0] + WINDOW_SECONDS - self._clock()
            if waited > 0:
                self._sleep(waited)
            else:
                waited = 0.0
        self._sent.append(self._clock())
        return waited
