"""Lead list pages at 100k leads / 1M visits: ``list_leads`` (the walk) against the full
aggregation it replaced (``list_leads_aggregated``, the baseline), side by side in one run.

What is measured is ``services.leads.list_leads`` as ``GET /leads`` calls it (one read
transaction, the capped total and one page of ``--page-size`` leads), for page 1 and page
``--deep-page`` of a ``--days``-day interval, for the all_leads feed and for a custom feed
with a location criterion (one lead in three), on SQLite and PostgreSQL. The baseline is the
same page computed by aggregating every ``lead_day_stats`` row of the interval and sorting
(the query ``GET /leads`` ran before, in the new order): the ceiling the walk must beat. The
script checks that both return equal pages (items and total) before it times them.

The store is built in bulk, not through the pipeline, so that a million visits take a minute
rather than an hour: companies, leads and ``visits`` rows are inserted directly (``executemany``
in large batches; lead ``i`` gets its visits at random seconds of the interval, ``--visits`` ÷
``--leads`` on average, Poisson-spread), then ``lead_day_stats`` and the leads' totals are
computed by the recording path's own ``store.visits.refresh_leads`` — exactly the rows the
pipeline would write for those visits. (``visit_pages`` is left empty: no measured feed reads
it.) PostgreSQL is vacuumed and analysed after the build, as autovacuum would soon after it.

    .venv/bin/python bench/lead_pages.py                    # SQLite
    .venv/bin/python bench/lead_pages.py --postgres postgresql://postgres@127.0.0.1:5432/test
    .venv/bin/python bench/lead_pages.py --leads 10000 --visits 100000 --repeat 51
    .venv/bin/python bench/lead_pages.py --hidden 100   # with 100 hidden companies

With ``--against REV`` the walk of an earlier revision (``store/leads.py`` read from git) is
timed too, interleaved with today's on the same store: the before/after of a change in one
run. With ``--hidden N`` the companies of N leads are hidden first (one company rule each, as the
lead page's "Hide this company" makes them): both the walk and the baseline then leave them
out, and the equality check covers that too.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent))

FIRST = date(2026, 1, 1)
BATCH = 20_000


def build(database_url: str, args: argparse.Namespace) -> tuple[Any, Any]:
    """A migrated store with one account of ``args.leads`` leads and ``args.visits`` visits;
    the Database and the Account."""
    from openfeeder.domain import ids
    from openfeeder.domain.models import Location
    from openfeeder.store import schema as t
    from openfeeder.store.accounts import create_account
    from openfeeder.store.db import Database
    from openfeeder.store.upsert import insert_ignore
    from openfeeder.store.visits import refresh_leads

    rng = random.Random(args.seed)
    db = Database(database_url)
    db.migrate()
    places = [
        Location(ids.location_id(cc, region, city), country, cc, region, None, city, None)
        for cc, country, region, city in [
            ("FI", "Finland", "Uusimaa", "Helsinki"),
            ("SE", "Sweden", "Stockholm", "Stockholm"),
            ("US", "United States", "Massachusetts", "Boston"),
        ]
    ]
    started = time.perf_counter()
    fast = db.engine.dialect.name == "sqlite"
    if fast:  # no fsync while building (reads do not care)
        db.engine.dispose()
        sa.event.listen(db.engine, "connect", _no_sync)
    with db.write() as conn:
        account = create_account(
            conn, name="Bench", subscription="premium", timezone="UTC", script_hash="bench"
        )
        insert_ignore(conn, t.locations, [vars(p) for p in places], ["id"])
        leads, pks = insert_leads(conn, account.id, places, args.leads, rng)
        insert_visits(conn, account.id, leads, pks, args, rng)
    print(f"  visits inserted: {time.perf_counter() - started:.0f} s")
    autovacuum(db, "ANALYZE")
    with db.write() as conn:
        last = FIRST + timedelta(days=args.days - 1)
        refresh_leads(conn, sorted(pks.values()), FIRST, last)
    autovacuum(db, "VACUUM ANALYZE")
    if fast:
        with db.engine.connect() as conn:
            conn.exec_driver_sql("ANALYZE")
        sa.event.remove(db.engine, "connect", _no_sync)
        db.engine.dispose()
    print(f"  store built: {time.perf_counter() - started:.0f} s")
    return db, account


def insert_leads(
    conn: sa.Connection, account_id: int, places: list[Any], count: int, rng: random.Random
) -> tuple[list[dict[str, Any]], dict[str, int]]:
    """``count`` companies, each one lead at a random place: the lead rows and their pks."""
    from openfeeder.domain import ids
    from openfeeder.domain.models import Company
    from openfeeder.store import schema as t

    stamp = datetime.now(UTC)
    companies = [
        Company(
            id=ids.new_company_id(),
            name=f"Company {n:06d}",
            # Some firmographics known, some not: quality differs by company too.
            website_url=f"https://c{n}.example" if rng.random() < 0.7 else None,
            industry="Software" if rng.random() < 0.5 else None,
            employee_count=rng.randrange(1, 5_000) if rng.random() < 0.5 else None,
            linkedin_url=f"https://www.linkedin.com/company/c{n}" if rng.random() < 0.3 else None,
        )
        for n in range(count)
    ]
    rows = [vars(c) | {"updated_at": stamp} for c in companies]
    for i in range(0, len(rows), BATCH):
        conn.execute(t.companies.insert(), rows[i : i + BATCH])
    leads = []
    for company in companies:
        place = rng.choice(places)
        leads.append(
            {
                "account_id": account_id,
                "id": ids.lead_id(company.id, place.id),
                "company_id": company.id,
                "location_id": place.id,
                "tags": [],
                "visits_total": 0,
            }
        )
    for i in range(0, len(leads), BATCH):
        conn.execute(t.leads.insert(), leads[i : i + BATCH])
    pks = dict(
        conn.execute(
            sa.select(t.leads.c.id, t.leads.c.pk).where(t.leads.c.account_id == account_id)
        ).all()
    )
    return leads, pks


def insert_visits(
    conn: sa.Connection,
    account_id: int,
    leads: list[dict[str, Any]],
    pks: dict[str, int],
    args: argparse.Namespace,
    rng: random.Random,
) -> None:
    """``args.visits`` visits at random seconds of the interval: one for every lead first."""
    from openfeeder.domain import ids
    from openfeeder.store import schema as t

    origin = datetime.combine(FIRST, datetime.min.time(), UTC)
    seconds = args.days * 86_400
    batch: list[dict[str, Any]] = []
    for n in range(args.visits):
        lead = leads[n % len(leads)] if n < len(leads) else rng.choice(leads)
        at = origin + timedelta(seconds=rng.randrange(seconds))
        depth = rng.choice((1, 1, 2, 3, 4))
        batch.append(
            {
                "id": ids.new_visit_id(),
                "account_id": account_id,
                "lead_pk": pks[lead["id"]],
                "location_id": lead["location_id"],
                "started_at": at,
                "date": at.date(),
                "hour": at.hour,
                "page_depth": depth,
                "visit_length": rng.randrange(120) * (depth - 1),
                "visit_route": [],
                "ga_client_ids": [],
            }
        )
        if len(batch) >= BATCH:
            conn.execute(t.visits.insert(), batch)
            batch = []
    if batch:
        conn.execute(t.visits.insert(), batch)


def _no_sync(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.execute("PRAGMA synchronous=OFF")


def autovacuum(db: Any, command: str) -> None:
    if db.engine.dialect.name == "postgresql":
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql(command)


def percentiles(samples: list[float]) -> tuple[float, float]:
    cuts = statistics.quantiles(samples, n=100, method="inclusive")
    return statistics.median(samples), cuts[98]


def store_leads_at(revision: str) -> Any:
    """``openfeeder.store.leads`` as it was at a git revision, loaded as a module of its own
    (against today's schema, which only ever gains columns), so that the walk before a change
    can be timed side by side with the walk after it in one run."""
    import importlib.util
    import subprocess

    root = Path(__file__).resolve().parents[1]
    source = subprocess.run(
        ["git", "show", f"{revision}:src/openfeeder/store/leads.py"],
        cwd=root,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    path = Path(tempfile.mkdtemp()) / f"leads_at_{revision.replace('/', '_')}.py"
    path.write_text(source, encoding="utf-8")
    spec = importlib.util.spec_from_file_location(path.stem, path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def measure(db: Any, account: Any, args: argparse.Namespace) -> list[dict[str, Any]]:
    from openfeeder.domain.feeds import Feed, parse_criteria
    from openfeeder.services import leads
    from openfeeder.store.leads import list_leads_aggregated

    earlier = store_leads_at(args.against) if args.against else None

    def walk(feed: Feed, page: int) -> Any:
        return leads.list_leads(db, account, feed, FIRST, last, page, args.page_size)

    def before(feed: Feed, page: int) -> Any:
        with db.read() as conn:
            offset = (page - 1) * args.page_size
            assert earlier is not None
            return earlier.list_leads(
                conn, account.id, FIRST, last, feed.criteria, offset, args.page_size
            )

    def aggregated(feed: Feed, page: int) -> Any:
        with db.read() as conn:
            offset = (page - 1) * args.page_size
            return list_leads_aggregated(
                conn, account.id, FIRST, last, feed.criteria, offset, args.page_size
            )

    last = FIRST + timedelta(days=args.days - 1)
    criteria = parse_criteria(
        [{"criterion_type": "country_code", "search_value": "FI", "excluded": False}]
    )
    feeds = {
        "all leads": Feed("all_leads", "All leads", []),
        "feed: country FI": Feed("1", "FI", criteria),
    }
    results = []
    for feed_name, feed in feeds.items():
        for page in (1, args.deep_page):
            expected = aggregated(feed, page)
            got = walk(feed, page)  # also the warm-up
            assert got == expected, f"{feed_name} page {page}: the walk and the baseline differ"
            shown = min(args.page_size, max(0, got.total - (page - 1) * args.page_size))
            assert len(got.items) == shown, (feed_name, page, len(got.items))
            ms: dict[str, list[float]] = {"walk": [], "baseline": [], "before": []}
            if earlier is not None:
                before(feed, page)  # its warm-up
                # Interleaved, so that the machine's load falls on both alike.
                for _ in range(args.repeat):
                    for name, query in (("walk", walk), ("before", before)):
                        started = time.perf_counter()
                        query(feed, page)
                        ms[name].append((time.perf_counter() - started) * 1000)
            else:
                for _ in range(args.repeat):
                    started = time.perf_counter()
                    walk(feed, page)
                    ms["walk"].append((time.perf_counter() - started) * 1000)
            for _ in range(args.baseline_repeat):
                started = time.perf_counter()
                aggregated(feed, page)
                ms["baseline"].append((time.perf_counter() - started) * 1000)
            results.append(
                {
                    "feed": feed_name,
                    "page": page,
                    "total": got.total,
                    "walk": percentiles(ms["walk"]),
                    "baseline": percentiles(ms["baseline"]),
                    "before": percentiles(ms["before"]) if ms["before"] else None,
                }
            )
    return results


def hide(db: Any, account: Any, count: int) -> float:
    """Hide the companies of the account's first ``count`` leads, one company rule each, as
    the dashboard's "Hide this company" does; the median milliseconds one hide took."""
    from openfeeder.services import traffic
    from openfeeder.store import schema as t

    leads = t.leads.c
    with db.read() as conn:
        query = sa.select(leads.company_id).where(leads.account_id == account.id)
        companies = conn.execute(query.order_by(leads.pk).limit(count)).scalars().all()
    ms = []
    for company_id in companies:
        started = time.perf_counter()
        traffic.add_rule(db, account, "company", company_id)
        ms.append((time.perf_counter() - started) * 1000)
    return statistics.median(ms) if ms else 0.0


def lead_days(db: Any, account: Any) -> int:
    from openfeeder.store import schema as t

    s = t.lead_day_stats
    with db.read() as conn:
        query = sa.select(sa.func.count()).where(s.c.account_id == account.id)
        return int(conn.execute(query).scalar_one())


def run(backend: str, database_url: str, args: argparse.Namespace) -> None:
    print(f"{backend}: building {args.leads:,} leads / {args.visits:,} visits …")
    db, account = build(database_url, args)
    try:
        days = lead_days(db, account)
        hiding = hide(db, account, args.hidden)
        results = measure(db, account, args)
    finally:
        db.dispose()
    last = FIRST + timedelta(days=args.days - 1)
    print(
        f"\n{backend}: {args.leads:,} leads, {args.visits:,} visits, {days:,} lead-day rows; "
        f"interval {FIRST}..{last}; page size {args.page_size}; "
        f"walk: {args.repeat} runs, baseline: {args.baseline_repeat} runs; "
        f"{args.hidden} hidden companies (one hide: {hiding:.1f} ms p50)"
    )
    print(
        f"{'feed':<18} {'page':>4} {'total':>6} {'walk p50':>9} {'walk p99':>9} "
        f"{'p99/p50':>7} {'baseline p50':>12} {'baseline p99':>12} {'walk / baseline':>15}"
    )
    for r in results:
        (w50, w99), (b50, b99) = r["walk"], r["baseline"]
        line = (
            f"{r['feed']:<18} {r['page']:>4} {r['total']:>6} {w50:>7.1f}ms {w99:>7.1f}ms "
            f"{w99 / w50:>7.2f} {b50:>10.1f}ms {b99:>10.1f}ms {w50 / b50:>15.3f}"
        )
        if r["before"] is not None:
            (e50, e99) = r["before"]
            line += f"  | {args.against} p50 {e50:.1f}ms p99 {e99:.1f}ms, walk / it {w50 / e50:.3f}"
        print(line)


def store_options(parser: argparse.ArgumentParser) -> None:
    """The options of the store ``build`` makes and of the backends it is made on."""
    parser.add_argument("--leads", type=int, default=100_000)
    parser.add_argument("--visits", type=int, default=1_000_000)
    parser.add_argument("--days", type=int, default=30, help="the interval, all visits in it")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--hidden", type=int, default=0, help="companies hidden (company rules) before timing"
    )
    parser.add_argument(
        "--against",
        metavar="REV",
        help="also time store/leads.py's list_leads as of this git revision, interleaved",
    )
    parser.add_argument("--postgres", metavar="ADMIN_URL", help="also measure on PostgreSQL")
    parser.add_argument("--no-sqlite", action="store_true", help="PostgreSQL only")


def parse(parser: argparse.ArgumentParser) -> argparse.Namespace:
    args = parser.parse_args()
    if args.visits < args.leads:
        parser.error("--visits must be at least --leads (every lead has a visit)")
    return args


def on_each_backend(
    args: argparse.Namespace, scratch: str, run: Callable[[str, str, Path], None]
) -> None:
    """``run(backend, database_url, scratch_dir)`` on a fresh SQLite file and, with
    ``--postgres``, on a scratch PostgreSQL database named ``scratch``."""
    from export_memory import postgres_database  # the scratch database of the sibling bench

    with tempfile.TemporaryDirectory(prefix="openfeeder-bench-") as tmp:
        if not args.no_sqlite:
            run("sqlite", f"sqlite:///{Path(tmp) / 'leads.db'}", Path(tmp) / "sqlite")
        if args.postgres:
            url = postgres_database(args.postgres, scratch, create=True)
            try:
                run("postgresql", url, Path(tmp) / "postgresql")
            finally:
                postgres_database(args.postgres, scratch, create=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    store_options(parser)
    parser.add_argument("--page-size", type=int, default=100)
    parser.add_argument("--deep-page", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=101, help="timed runs of the walk")
    parser.add_argument("--baseline-repeat", type=int, default=7, help="timed baseline runs")
    args = parse(parser)
    on_each_backend(
        args, "openfeeder_bench_lead_pages", lambda backend, url, _dir: run(backend, url, args)
    )


if __name__ == "__main__":
    main()
