"""The date ranges people pick in the dashboard (today, last 30 days, last month, …), as
first and last day in the account's timezone."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

# (key, label) in the order the dashboard offers them.
PRESETS: tuple[tuple[str, str], ...] = (
    ("today", "Today"),
    ("yesterday", "Yesterday"),
    ("7d", "Last 7 days"),
    ("30d", "Last 30 days"),
    ("90d", "Last 90 days"),
    ("this_month", "This month"),
    ("last_month", "Last month"),
)
DEFAULT = "30d"
MAX_DAYS = 3660  # ten years: further back than any store holds, short of date overflow


@dataclass(frozen=True)
class Period:
    key: str  # a preset's key, or "custom"
    first: date
    last: date

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1

    def previous(self) -> Period:
        """The period of the same length just before this one (for comparisons)."""
        return Period("custom", self.first - timedelta(days=self.days), self.first - timedelta(1))


def preset(key: str, today: date) -> Period | None:
    match key:
        case "today":
            return Period(key, today, today)
        case "yesterday":
            day = today - timedelta(days=1)
            return Period(key, day, day)
        case "7d" | "30d" | "90d":
            return Period(key, today - timedelta(days=int(key[:-1]) - 1), today)
        case "this_month":
            return Period(key, today.replace(day=1), today)
        case "last_month":
            last = today.replace(day=1) - timedelta(days=1)
            return Period(key, last.replace(day=1), last)
    return None


def custom(first: date, last: date) -> Period | None:
    """A custom range, or None when it is backwards or longer than ``MAX_DAYS``."""
    if first > last or (last - first).days >= MAX_DAYS:
        return None
    return Period("custom", first, last)
