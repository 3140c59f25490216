"""Lead list: the interval lead-list query on per-day statistics against the same list
aggregated from raw visits, side by side in one run, on SQLite (and PostgreSQL).

The query measured is ``store.leads.list_leads`` as ``GET /leads`` runs it for the
``all_leads`` feed: the count (capped at 10 000) and the first page of 100, over an interval.
It walks ``lead_day_stats`` newest first (``bench/lead_pages.py`` measures it at 100k leads
against the full aggregation of the day rows it replaced). The baseline
(``raw_visits_page`` below) is the same list computed by aggregating ``visits``: the same
columns, quality formula, ordering and count; the script checks that both return equal
pages before it times them.

Two stores per backend, built with the services the pipeline uses (``record_visits``):

- spread: ``--leads`` leads × ``--visits`` visits on random days of a ``--days``-day interval;
- per-day: ``--leads`` leads, each visiting on ``--lead-days`` fixed days, measured with one
  visit per lead-day and again after more visits were added on the same days (``--visits-low``
  and ``--visits-high`` per lead): the day-stats rows stay the same, the visits multiply.

PostgreSQL stores are analysed after loading, as autovacuum would soon after a bulk load.

    .venv/bin/python bench/lead_list.py                    # SQLite
    .venv/bin/python bench/lead_list.py --postgres postgresql://postgres@127.0.0.1:5432/test
    .venv/bin/python bench/lead_list.py --leads 5000 --visits 30 --repeat 21
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

# The tests' data builders (tests/support/factories.py) make the accounts.
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

FIRST = date(2026, 1, 1)
BATCH = 6_000  # visits per record_visits transaction while building
PAGE = 100


@dataclass
class Store:
    """One account's visits in a store: what was built, and how to reach it."""

    label: str
    account_id: int
    leads: int
    visits: int = 0
    lead_days: int = 0


def raw_visits_page(
    conn: sa.Connection, account_id: int, first: date, last: date, offset: int, limit: int
) -> Any:
    """The baseline: the full aggregation (``list_leads_aggregated``) for the all_leads feed
    with its per-lead stats aggregated from raw ``visits`` instead of ``lead_day_stats``."""
    from openfeeder.store import schema as t
    from openfeeder.store.leads import list_leads_aggregated

    v = t.visits
    stats = (
        sa.select(
            v.c.lead_pk,
            sa.func.count().label("visits"),
            sa.func.sum(v.c.page_depth).label("pageviews"),
            sa.func.sum(v.c.visit_length).label("seconds"),
            sa.func.sum(sa.case((v.c.page_depth <= 1, 1), else_=0)).label("bounces"),
            sa.func.max(v.c.date).label("last_day"),
            sa.func.max(v.c.started_at).label("last_visit_at"),
        )
        .where(v.c.account_id == account_id, v.c.date.between(first, last))
        .group_by(v.c.lead_pk)
        .subquery("stats")
    )
    return list_leads_aggregated(conn, account_id, first, last, [], offset, limit, stats)


def day_stats_page(
    conn: sa.Connection, account_id: int, first: date, last: date, offset: int, limit: int
) -> Any:
    from openfeeder.store.leads import list_leads

    return list_leads(conn, account_id, first, last, [], offset, limit)


class Builder:
    """Accounts, companies and visits in one store, through the store and service functions."""

    def __init__(self, database_url: str, seed: int = 1) -> None:
        from tests.support import factories

        from openfeeder.domain import ids
        from openfeeder.domain.models import Location
        from openfeeder.store.db import Database

        self.db = Database(database_url)
        self.db.migrate()
        self.factory = factories.Builder(self.db)
        self.rng = random.Random(seed)
        self.place_of: dict[str, Location] = {}
        self.places = [
            Location(ids.location_id(cc, region, city), country, cc, region, None, city, state)
            for cc, country, region, city, state in [
                ("FI", "Finland", "Uusimaa", "Helsinki", None),
                ("SE", "Sweden", "Stockholm", "Stockholm", None),
                ("US", "United States", "Massachusetts", "Boston", "MA"),
            ]
        ]

    def account(self, label: str, leads: int) -> tuple[Store, list[Any]]:
        """An account and ``leads`` companies; each company becomes one lead (one location)."""
        from openfeeder.domain import ids
        from openfeeder.domain.models import Company
        from openfeeder.store.companies import upsert_companies

        account = self.factory.account()
        rng = self.rng
        companies = [
            Company(
                id=ids.new_company_id(),
                name=f"{label} company {n:05d}",
                # Some firmographics known, some not: quality differs by company, not only
                # by activity.
                website_url=f"https://c{n}.example" if rng.random() < 0.7 else None,
                industry="Software" if rng.random() < 0.5 else None,
                employee_count=rng.randrange(1, 5_000) if rng.random() < 0.5 else None,
                linkedin_url=f"https://www.linkedin.com/company/c{n}"
                if rng.random() < 0.3
                else None,
            )
            for n in range(leads)
        ]
        with self.db.write() as conn:
            upsert_companies(conn, companies)
        self.place_of |= {company.id: rng.choice(self.places) for company in companies}
        return Store(label, account.id, leads), companies

    def visits(self, store: Store, plan: list[tuple[Any, list[int]]]) -> Store:
        """Record a visit on day ``FIRST + d`` for each (company, days) pair and each ``d``;
        the store as it is then."""
        from openfeeder.domain import ids
        from openfeeder.domain.models import NewVisit
        from openfeeder.services.visits import record_visits, route_step

        rng = self.rng
        batch: list[NewVisit] = []
        for company, days in plan:
            place = self.place_of[company.id]
            for day in days:
                started = datetime(FIRST.year, FIRST.month, FIRST.day, tzinfo=UTC) + timedelta(
                    days=day, minutes=rng.randrange(24 * 60)
                )
                route = [
                    route_step(f"https://www.example.com/p{i}/", f"Page {i}", rng.randrange(120))
                    for i in range(rng.choice((1, 1, 2, 3, 4)))
                ]
                batch.append(
                    NewVisit(
                        ids.new_visit_id(), store.account_id, company.id, place, started, route
                    )
                )
                if len(batch) >= BATCH:
                    record_visits(self.db, batch)
                    self.autovacuum("ANALYZE")
                    batch = []
        if batch:
            record_visits(self.db, batch)
        self.autovacuum("VACUUM ANALYZE")
        visits = store.visits + sum(len(days) for _, days in plan)
        return replace(store, visits=visits, lead_days=self.lead_days(store.account_id))

    def autovacuum(self, command: str) -> None:
        """On PostgreSQL, what autovacuum would do soon after a bulk load.

        Without statistics the planner scans the whole of ``visits`` for record_visits'
        ``DELETE … WHERE id IN (…)`` of every batch, which makes a bulk load quadratic; and
        until a vacuum, the day-stats rows that record_visits replaced stay behind as dead
        rows that every lead-list query steps over (see BENCHMARKS.md).
        """
        if self.db.engine.dialect.name == "postgresql":
            with self.db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.exec_driver_sql(command)

    def lead_days(self, account_id: int) -> int:
        from openfeeder.store import schema as t

        s = t.lead_day_stats
        with self.db.read() as conn:
            query = sa.select(sa.func.count()).where(s.c.account_id == account_id)
            return int(conn.execute(query).scalar_one())


def timed(
    builder: Builder,
    store: Store,
    last: date,
    repeat: int,
    queries: dict[str, Callable[..., Any]],
) -> dict[str, float]:
    """Median milliseconds of each query, run interleaved, after checking they agree."""
    pages = {}
    for name, query in queries.items():  # also the warm-up
        with builder.db.read() as conn:
            pages[name] = query(conn, store.account_id, FIRST, last, 0, PAGE)
    first, *others = pages.values()
    assert first.total == min(store.leads, 10_000), (first.total, store)
    assert len(first.items) == min(PAGE, store.leads)
    for other in others:
        assert other == first, f"{store.label}: the queries disagree"
    samples: dict[str, list[float]] = {name: [] for name in queries}
    for _ in range(repeat):
        for name, query in queries.items():
            with builder.db.read() as conn:
                started = time.perf_counter()
                query(conn, store.account_id, FIRST, last, 0, PAGE)
                samples[name].append((time.perf_counter() - started) * 1000)
    return {name: statistics.median(values) for name, values in samples.items()}


def run_backend(
    database_url: str, args: argparse.Namespace
) -> list[tuple[Store, dict[str, float]]]:
    queries = {"day stats": day_stats_page, "raw visits": raw_visits_page}
    last = FIRST + timedelta(days=args.days - 1)
    builder = Builder(database_url)
    results = []
    try:
        started = time.perf_counter()
        rng = builder.rng
        store, companies = builder.account("spread", args.leads)
        store = builder.visits(
            store, [(c, [rng.randrange(args.days) for _ in range(args.visits)]) for c in companies]
        )
        store.label = f"{args.leads:,} leads × {args.visits} visits, random days"
        results.append((store, timed(builder, store, last, args.repeat, queries)))

        # The same lead-days twice: first with --visits-low visits per lead, then with more
        # visits added on those days until there are --visits-high.
        store, companies = builder.account("per-day", args.leads)
        days = [(c, rng.sample(range(args.days), args.lead_days)) for c in companies]
        for before, after in ((0, args.visits_low), (args.visits_low, args.visits_high)):
            store = builder.visits(
                store, [(c, d * ((after - before) // args.lead_days)) for c, d in days]
            )
            store.label = f"{args.leads:,} leads × {after} visits on {args.lead_days} days each"
            results.append((store, timed(builder, store, last, args.repeat, queries)))
        print(f"  ({time.perf_counter() - started:.0f} s to build and measure)")
    finally:
        builder.db.dispose()
    return results


def report(backend: str, args: argparse.Namespace, results: list[tuple[Store, Any]]) -> None:
    last = FIRST + timedelta(days=args.days - 1)
    print(
        f"\n{backend}: list_leads, all_leads feed, first page of {PAGE}, {FIRST}..{last}; "
        f"median of {args.repeat} runs"
    )
    print(
        f"{'store':<42} {'visits':>8} {'lead-days':>9} "
        f"{'day stats ms':>12} {'raw visits ms':>13} {'raw / day stats':>15}"
    )
    for store, ms in results:
        print(
            f"{store.label:<42} {store.visits:>8,} {store.lead_days:>9,} "
            f"{ms['day stats']:>12.1f} {ms['raw visits']:>13.1f} "
            f"{ms['raw visits'] / ms['day stats']:>15.2f}"
        )
    low, high = results[-2][1], results[-1][1]
    print(
        f"{args.visits_low} → {args.visits_high} visits per lead on the same lead-days: "
        f"day stats ×{high['day stats'] / low['day stats']:.2f}, "
        f"raw visits ×{high['raw visits'] / low['raw visits']:.2f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, default=2_000)
    parser.add_argument("--visits", type=int, default=30, help="per lead, spread store")
    parser.add_argument("--days", type=int, default=90, help="the interval listed")
    parser.add_argument("--lead-days", type=int, default=10, help="per lead, per-day store")
    parser.add_argument("--visits-low", type=int, default=10, help="per lead, per-day store")
    parser.add_argument("--visits-high", type=int, default=50, help="per lead, per-day store")
    parser.add_argument("--repeat", type=int, default=21, help="timed runs per query")
    parser.add_argument("--postgres", metavar="ADMIN_URL", help="also measure on PostgreSQL")
    args = parser.parse_args()
    low, high = args.visits_low, args.visits_high
    if not (0 < low < high and low % args.lead_days == 0 and high % args.lead_days == 0):
        parser.error("--visits-low < --visits-high, both multiples of --lead-days")
    if args.lead_days > args.days:
        parser.error("--lead-days must not exceed --days")

    from export_memory import postgres_database  # the scratch database of the sibling bench

    with tempfile.TemporaryDirectory(prefix="openfeeder-bench-") as tmp:
        print("sqlite: building …")
        report("sqlite", args, run_backend(f"sqlite:///{Path(tmp) / 'leads.db'}", args))
        if args.postgres:
            scratch = "openfeeder_bench_leads"
            print("postgresql: building …")
            url = postgres_database(args.postgres, scratch, create=True)
            try:
                results = run_backend(url, args)
            finally:
                postgres_database(args.postgres, scratch, create=False)
            report("postgresql", args, results)


if __name__ == "__main__":
    main()
