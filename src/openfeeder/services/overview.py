"""An account's overview of a period: its top figures beside those of the period of the same
length before it, its visits over time, and its top pages, sources, industries and
countries — all on the account's local days."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta

from openfeeder.domain.models import Account
from openfeeder.domain.periods import Period
from openfeeder.store import overview as store
from openfeeder.store.db import Database
from openfeeder.store.overview import Ranked

__all__ = ["TOP", "Figure", "Overview", "Point", "Ranked", "overview"]

TOP = 10
# Longer periods are drawn by week, then by month, so the chart and its table stay readable
# (and the page small) whatever the range.
DAILY_UP_TO = 92
WEEKLY_UP_TO = 731


@dataclass(frozen=True)
class Figure:
    name: str
    current: int
    previous: int

    @property
    def change(self) -> int:
        return self.current - self.previous

    @property
    def percent(self) -> float | None:
        """The change in per cent of the previous period; None when that was 0."""
        return None if self.previous == 0 else 100 * self.change / self.previous


@dataclass(frozen=True)
class Point:
    """One day, week or month of the chart, from ``first`` (a week or month is cut at the
    period's edges)."""

    first: date
    visits: int
    pageviews: int


@dataclass(frozen=True)
class Overview:
    period: Period
    previous: Period
    figures: list[Figure]
    unit: str  # "day", "week" or "month": what one point of the series is
    series: list[Point]
    pages: list[Ranked]  # by pageviews
    sources: list[Ranked]  # source and medium, by visits
    industries: list[Ranked]  # by leads
    countries: list[Ranked]  # country and code, by leads

    def figure(self, name: str) -> Figure:
        return next(f for f in self.figures if f.name == name)


def overview(db: Database, account: Account, period: Period) -> Overview:
    before = period.previous()
    with db.read() as conn:
        days = store.days(conn, account.id, before.first, period.last)
        groups = store.lead_groups(conn, account.id, period.first, period.last)
        earlier = store.lead_groups(conn, account.id, before.first, before.last)
        pages = store.top_pages(conn, account.id, period.first, period.last, TOP)
        sources = store.top_sources(conn, account.id, period.first, period.last, TOP)
    now = [d for d in days if d.day >= period.first]
    then = [d for d in days if d.day < period.first]
    figures = [
        Figure("leads", sum(g.leads for g in groups), sum(g.leads for g in earlier)),
        Figure(
            "new_leads",
            sum(g.leads for g in groups if g.new),
            sum(g.leads for g in earlier if g.new),
        ),
        Figure("visits", sum(d.visits for d in now), sum(d.visits for d in then)),
        Figure("pageviews", sum(d.pageviews for d in now), sum(d.pageviews for d in then)),
    ]
    unit = series_unit(period)
    return Overview(
        period,
        before,
        figures,
        unit,
        series(period, unit, now),
        pages,
        sources,
        ranked((g.industry, None, g.leads) for g in groups),
        ranked((g.country, g.country_code, g.leads) for g in groups),
    )


def ranked(counts: Iterable[tuple[str | None, str | None, int]]) -> list[Ranked]:
    """The ``TOP`` (label, detail) pairs with the most in ``counts``, in the store's order
    for top lists: most first, then by label (unknown last) and detail."""
    totals: Counter[tuple[str | None, str | None]] = Counter()
    for label, detail, count in counts:
        totals[label, detail] += count

    def order(item: tuple[tuple[str | None, str | None], int]) -> tuple[object, ...]:
        (label, detail), count = item
        return (-count, label is None, label or "", detail is None, detail or "")

    top = sorted(totals.items(), key=order)[:TOP]
    return [Ranked(label, detail, count) for (label, detail), count in top]


def series_unit(period: Period) -> str:
    if period.days <= DAILY_UP_TO:
        return "day"
    return "week" if period.days <= WEEKLY_UP_TO else "month"


def bucket(day: date, unit: str) -> date:
    """The first day of the day's week (from Monday) or month."""
    if unit == "week":
        return day - timedelta(days=day.weekday())
    return day.replace(day=1) if unit == "month" else day


def series(period: Period, unit: str, days: list[store.Day]) -> list[Point]:
    """Every day, week or month of the period, with zeros where nothing happened."""
    totals: dict[date, list[int]] = {}
    day = period.first
    while day <= period.last:
        totals.setdefault(max(bucket(day, unit), period.first), [0, 0])
        day += timedelta(days=1)
    for d in days:
        sums = totals[max(bucket(d.day, unit), period.first)]
        sums[0] += d.visits
        sums[1] += d.pageviews
    return [Point(first, *sums) for first, sums in totals.items()]
