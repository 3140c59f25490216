"""The clock: what time it is, behind one small interface so that every "now" in the service
comes from the one clock ``create_app`` (or a worker) chose, and tests can set the time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Final, Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """The current instant, timezone-aware, in UTC."""
        ...


class SystemClock:
    """The machine's clock."""

    def now(self) -> datetime:
        return datetime.now(UTC)


# Stateless, so one instance serves as every default.
SYSTEM_CLOCK: Final = SystemClock()


class FixedClock:
    """A clock that stands still until it is set or advanced (tests, replays)."""

    def __init__(self, at: datetime) -> None:
        self.set(at)

    def now(self) -> datetime:
        return self._at

    def set(self, at: datetime) -> None:
        if at.tzinfo is None:
            raise ValueError("a clock's time must be timezone-aware")
        self._at = at.astimezone(UTC)

    def advance(self, by: timedelta) -> None:
        self._at += by
