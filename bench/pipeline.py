"""Pipeline throughput: tracker hits per second from the ``hits`` table to visits, leads,
per-day statistics and visit pages (hits marked processed), against the raw insert of the
rows it produced, side by side in one run, on SQLite (a WAL file store, as the app uses) and
on PostgreSQL (a fresh database).

The traffic (``--hits`` hits, default 20 000), made by the tests' tracker browser and
appended through ingest before the clock starts: ``--visitors`` browsers over three days,
each making several visits of several pageviews (a new visit after more than 30 minutes),
with a form or download event now and then; most browse from the offices of
``--companies`` companies (company ranges written through the store, identified by the
real resolver chain), some from addresses nobody owns (dropped as unidentified), a few are
crawlers and prefetches. The account's timezone is Europe/Helsinki.

Pipeline: ``make_pipeline(...).run_once()`` until no hit is left; its wall time gives
hits/s. cProfile of the same phase with ``--profile FILE``.

Ceiling, defined precisely: before the pipeline runs, every table of the store is copied
(untimed) into an empty, migrated copy of the schema (same backend, same engine settings).
After it runs, the rows the pipeline produced are read back with the bare driver — the rows
of ``locations`` that were not there before, every row of ``leads``, ``visits``,
``visit_pages``, ``lead_day_stats``, ``visitor_sessions`` and ``pipeline_salts``, and each
hit's processed columns (``processed_at``, ``drop_reason``, ``visit_id``, ``ip``,
``error``). Those are written into the copy with the driver's ``executemany`` — INSERTs of
the rows as they are, and one ``UPDATE hits … WHERE id = ?`` per hit — as one stream in
that order (parents before children), cut into as many transactions as the pipeline
committed batches (at most ``--batch-size`` hits of one shard each), each transaction holding an
equal share of the stream's rows and one ``executemany`` per table within it. Its wall time
gives the ceiling's "hits/s equivalent" (hits ÷ seconds). Ratio = pipeline hits/s ÷ that.

    .venv/bin/python bench/pipeline.py                    # SQLite and PostgreSQL
    .venv/bin/python bench/pipeline.py --backends sqlite --hits 5000 --profile /tmp/p.prof
"""

from __future__ import annotations

import argparse
import cProfile
import json
import random
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

# Produced tables in the order the ceiling writes them (parents before children).
PRODUCED = (
    "locations",
    "leads",
    "visits",
    "visit_pages",
    "lead_day_stats",
    "visitor_sessions",
    "pipeline_salts",
)
HIT_UPDATE = ("processed_at", "drop_reason", "visit_id", "ip", "error")
START = datetime(2026, 3, 2, 6, 0, tzinfo=UTC)


@dataclass
class Result:
    backend: str
    hits: int
    pipeline_seconds: float
    ceiling_seconds: float
    rows: dict[str, int]

    @property
    def pipeline_rate(self) -> float:
        return self.hits / self.pipeline_seconds

    @property
    def ceiling_rate(self) -> float:
        return self.hits / self.ceiling_seconds

    @property
    def ratio(self) -> float:
        return self.pipeline_rate / self.ceiling_rate


# --- The traffic ----------------------------------------------------------------------------


def make_traffic(db: Any, args: argparse.Namespace) -> tuple[Any, int]:
    """An account, companies with office ranges, and the hits; (settings, hit count)."""
    from tests.support.factories import Builder
    from tests.support.identify import add_company
    from tests.support.pipeline import CHROME, GOOGLEBOT, IPHONE, Browser

    from openfeeder.config import Settings
    from openfeeder.ingest.append import Ingestor

    settings = Settings(
        database_url=db.url,
        data_dir=Path(args.data_dir),
        redis_url=None,
        pipeline_in_process=False,
        reverse_dns=False,
        asn_mmdb=None,
        city_mmdb=None,
        pipeline_batch_size=args.batch_size,
    )
    account = Builder(db).account(timezone="Europe/Helsinki")
    offices = []
    for n in range(args.companies):
        # 10.<n>.0.0/16 per company; visitors come from a handful of its addresses.
        add_company(
            db, f"Bench Company {n}", domain=f"bench{n}.example", ranges=(f"10.{n}.0.0/16",)
        )
        offices.append(f"10.{n}")
    rng = random.Random(8)
    ingestor = Ingestor(settings, db)
    agents = [CHROME] * 6 + [IPHONE] * 3 + [GOOGLEBOT]
    pending: list[Any] = []
    made = 0
    per_visitor = max(1, args.hits // args.visitors)
    for number in range(args.visitors):
        if rng.random() < 0.8:
            ip = f"{rng.choice(offices)}.{rng.randrange(4)}.{rng.randrange(1, 20)}"
        else:
            ip = f"198.51.100.{rng.randrange(1, 255)}"  # nobody's: unidentified
        browser = Browser(ingestor, account, number + 1, ip=ip, user_agent=rng.choice(agents))
        at = START + timedelta(minutes=rng.randrange(3 * 24 * 60))
        for _ in range(per_visitor if number < args.visitors - 1 else args.hits - made):
            roll = rng.random()
            if roll < 0.08:
                hit = browser.hit("/pricing", at, event="form-submit")
            else:
                meta = {"sec-purpose": "prefetch"} if roll > 0.98 else None
                path = f"/{rng.choice(['product', 'pricing', 'blog', 'docs'])}/{rng.randrange(40)}"
                hit = browser.hit(path, at, request_meta=meta)
            pending.append(hit)
            made += 1
            # Mostly a page every minute or two; now and then a new visit hours later.
            gap = rng.randrange(20, 180) if rng.random() > 0.12 else rng.randrange(3600, 20000)
            at += timedelta(seconds=gap)
        if len(pending) >= 2000:
            ingestor.append_many(pending)
            pending = []
    ingestor.append_many(pending)
    return settings, made


# --- The store's rows, bare -----------------------------------------------------------------


def columns(table: str) -> list[str]:
    from openfeeder.store import schema as t

    return list(t.metadata.tables[table].c.keys())


def read_rows(
    engine: Any, table: str, names: Sequence[str], order: str | None = None
) -> list[tuple[Any, ...]]:
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        sql = f"SELECT {', '.join(names)} FROM {table}"  # noqa: S608 - our own table names
        cursor.execute(sql + (f" ORDER BY {order}" if order else ""))
        rows = [tuple(_bare(engine, value) for value in row) for row in cursor.fetchall()]
        raw.rollback()
        return rows
    finally:
        raw.close()


def _bare(engine: Any, value: Any) -> Any:
    """psycopg hands JSON back decoded; the driver takes it back wrapped."""
    if engine.dialect.name == "postgresql" and isinstance(value, dict | list):
        from psycopg.types.json import Jsonb

        return Jsonb(value)
    return value


@contextmanager
def transaction(engine: Any) -> Iterator[Any]:
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        if engine.dialect.name == "sqlite":
            cursor.execute("BEGIN IMMEDIATE")  # as the app's write transactions
        yield cursor
        raw.commit() if engine.dialect.name != "sqlite" else cursor.execute("COMMIT")
    finally:
        raw.close()


def placeholder(engine: Any) -> str:
    return "?" if engine.dialect.name == "sqlite" else "%s"


def copy_everything(source: Any, target: Any) -> None:
    """Every table's rows, untimed, into the empty copy (the account, companies, hits …)."""
    from openfeeder.store import schema as t

    mark = placeholder(target)
    for table in t.metadata.sorted_tables:
        names = list(table.c.keys())
        rows = read_rows(source, table.name, names)
        if not rows or read_rows(target, table.name, names[:1]):
            continue
        with transaction(target) as cursor:
            sql = f"INSERT INTO {table.name} ({', '.join(names)}) VALUES ({', '.join([mark] * len(names))})"  # noqa: S608, E501
            cursor.executemany(sql, rows)


def produced(
    source: Any, before: dict[str, set[tuple[Any, ...]]]
) -> list[tuple[str, str, list[tuple[Any, ...]]]]:
    """(table, SQL with placeholders, rows) of what the pipeline wrote, in PRODUCED order."""
    mark = placeholder(source)
    out = []
    for table in PRODUCED:
        names = columns(table)
        rows = [r for r in read_rows(source, table, names) if r not in before.get(table, set())]
        sql = f"INSERT INTO {table} ({', '.join(names)}) VALUES ({', '.join([mark] * len(names))})"  # noqa: S608
        out.append((table, sql, rows))
    updates = read_rows(source, "hits", [*HIT_UPDATE, "id"], order="id")
    sets = ", ".join(f"{name} = {mark}" for name in HIT_UPDATE)
    out.append(("hits (processed)", f"UPDATE hits SET {sets} WHERE id = {mark}", updates))  # noqa: S608
    return out


def raw_write(
    target: Any, stream: list[tuple[str, str, list[tuple[Any, ...]]]], transactions: int
) -> float:
    """Write the stream in ``transactions`` equal shares; the wall time."""
    flat = [(sql, row) for _, sql, rows in stream for row in rows]
    share = -(-len(flat) // transactions)
    started = time.perf_counter()
    for begin in range(0, len(flat), share):
        chunk = flat[begin : begin + share]
        with transaction(target) as cursor:
            runs: list[tuple[str, list[tuple[Any, ...]]]] = []
            for sql, row in chunk:
                if runs and runs[-1][0] == sql:
                    runs[-1][1].append(row)
                else:
                    runs.append((sql, [row]))
            for sql, rows in runs:
                cursor.executemany(sql, rows)
    return time.perf_counter() - started


# --- One backend ----------------------------------------------------------------------------


def run_backend(backend: str, source_url: str, target_url: str, args: argparse.Namespace) -> Result:
    from openfeeder.identify import make_identifier
    from openfeeder.pipeline import make_pipeline
    from openfeeder.store.db import Database

    db, copy = Database(source_url), Database(target_url)
    db.migrate()
    copy.migrate()
    settings, count = make_traffic(db, args)
    copy_everything(db.engine, copy.engine)
    before = {"locations": set(read_rows(db.engine, "locations", columns("locations")))}
    identifier = make_identifier(settings)
    pipeline = make_pipeline(settings, db, identifier=identifier)
    # CPU time, not wall time: on a busy machine wall time lands on whatever was running.
    profiler = cProfile.Profile(time.process_time) if args.profile else None
    started = time.perf_counter()
    if profiler is not None:
        profiler.enable()
    done = pipeline.run_once()
    if profiler is not None:
        profiler.disable()
        profiler.dump_stats(f"{args.profile}.{backend}")
    pipeline_seconds = time.perf_counter() - started
    batches = pipeline.counters.totals()["batches"]
    pipeline.close()
    identifier.close()
    if done != count:
        raise SystemExit(f"{backend}: the pipeline processed {done} of {count} hits")
    stream = produced(db.engine, before)
    ceiling_seconds = raw_write(copy.engine, stream, batches)
    db.dispose()
    copy.dispose()
    rows = {table: len(rows) for table, _, rows in stream} | {"batches": batches}
    return Result(backend, count, pipeline_seconds, ceiling_seconds, rows)


def report(results: list[Result]) -> None:
    print()
    print(
        "| backend | hits | pipeline hits/s | raw insert of its rows, hits/s equivalent | ratio |"
    )
    print("|---|---|---|---|---|")
    for r in results:
        print(
            f"| {r.backend} | {r.hits} | {r.pipeline_rate:,.0f} ({r.pipeline_seconds:.2f} s) "
            f"| {r.ceiling_rate:,.0f} ({r.ceiling_seconds:.2f} s) | {r.ratio:.2f} |"
        )
    print()
    for r in results:
        print(f"{r.backend} rows written: {json.dumps(r.rows)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--hits", type=int, default=20_000)
    parser.add_argument("--visitors", type=int, default=1_500)
    parser.add_argument("--companies", type=int, default=60)
    parser.add_argument("--batch-size", type=int, default=500)
    parser.add_argument("--backends", nargs="+", default=["sqlite", "postgresql"])
    parser.add_argument("--profile", help="write cProfile stats of the pipeline to FILE.<backend>")
    args = parser.parse_args()
    results = []
    with tempfile.TemporaryDirectory(prefix="bench-pipeline-") as tmp:
        args.data_dir = tmp
        for backend in args.backends:
            if backend == "sqlite":
                urls = (f"sqlite:///{tmp}/pipeline.db", f"sqlite:///{tmp}/ceiling.db")
                results.append(run_backend(backend, *urls, args))
            else:
                from tests.support.servers import drop_postgres_database, fresh_postgres_database

                urls = (
                    fresh_postgres_database("bench_pipeline_src"),
                    fresh_postgres_database("bench_pipeline_raw"),
                )
                try:
                    results.append(run_backend(backend, *urls, args))
                finally:
                    for url in urls:
                        drop_postgres_database(url)
            report(results[-1:])
    report(results)


if __name__ == "__main__":
    main()
