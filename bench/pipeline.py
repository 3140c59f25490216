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
``visit_pages``, ``lead_day_stats``, the overview's rollups (``account_day_*``),
``visitor_sessions`` and ``pipeline_salts``, and each hit's processed columns
(``processed_at``, ``drop_reason``, ``visit_id``, ``ip``, ``error``). Those are written
into the copy with the driver's ``executemany`` — INSERTs of
the rows as they are, and one ``UPDATE hits … WHERE id = ?`` per hit — as one stream in
that order (parents before children), cut into as many transactions as the pipeline
committed batches (at most ``--batch-size`` hits of one shard each), each transaction holding an
equal share of the stream's rows and one ``executemany`` per table within it. Its wall time
gives the ceiling's "hits/s equivalent" (hits ÷ seconds). Ratio = pipeline hits/s ÷ that.

    .venv/bin/python bench/pipeline.py                    # SQLite and PostgreSQL
    .venv/bin/python bench/pipeline.py --backends sqlite --hits 5000 --profile /tmp/p.prof
    .venv/bin/python bench/pipeline.py --rules 50       # also with 50 alert rules, side by side

``--rules N`` runs the pipeline a second time each round, on another copy of the same store
with N enabled alert rules on the account (a mix of the four triggers on all_leads and
recommended_leads, each to one webhook endpoint, cooldown a day): the events and deliveries
they make are written in the batches' transactions. Its hits/s is reported beside the
pipeline's without rules, with their ratio (BENCHMARKS.md: rules may cost at most a quarter).
"""

from __future__ import annotations

import argparse
import cProfile
import json
import random
import statistics
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
    "account_day_stats",
    "account_day_pages",
    "account_day_sources",
    "visitor_sessions",
    "pipeline_salts",
)
HIT_UPDATE = ("processed_at", "drop_reason", "visit_id", "ip", "error")
START = datetime(2026, 3, 2, 6, 0, tzinfo=UTC)


@dataclass
class Phase:
    """One timed phase: wall seconds and CPU seconds (this process or the child, plus the
    PostgreSQL server processes serving the database)."""

    seconds: float
    cpu: float


@dataclass
class Round:
    pipeline: Phase
    ceiling: Phase
    before: Phase | None  # the pipeline of ``--before`` code on the same hits, if asked
    rules: Phase | None = None  # the pipeline on a copy with ``--rules`` alert rules


@dataclass
class Result:
    backend: str
    hits: int
    rounds: list[Round]
    rows: dict[str, int]

    def median(self, ratios: list[float]) -> float:
        return statistics.median(ratios)

    def ratio(self, which: str = "pipeline", cpu: bool = False) -> float:
        """Median over rounds of (hits/s of ``which``) ÷ (hits/s equivalent of the ceiling)."""
        out = []
        for r in self.rounds:
            phase = getattr(r, which)
            if phase is None:
                return float("nan")
            out.append(r.ceiling.cpu / phase.cpu if cpu else r.ceiling.seconds / phase.seconds)
        return self.median(out)

    def rate(self, which: str) -> float:
        phases = [getattr(r, which) for r in self.rounds]
        if None in phases:
            return float("nan")
        return self.hits / statistics.median(p.seconds for p in phases)


# --- The traffic ----------------------------------------------------------------------------


def bench_settings(url: str, data_dir: Path, batch_size: int) -> Any:
    """The settings of every store here: the pipeline by hand, identification by the
    company ranges alone (no name servers, no MMDB files)."""
    from openfeeder.config import Settings

    return Settings(
        database_url=url,
        data_dir=data_dir,
        redis_url=None,
        pipeline_in_process=False,
        reverse_dns=False,
        asn_mmdb=None,
        city_mmdb=None,
        pipeline_batch_size=batch_size,
    )


def make_traffic(db: Any, args: argparse.Namespace) -> int:
    """An account, companies with office ranges, and the hits; how many hits."""
    from tests.support.factories import Builder
    from tests.support.identify import add_company
    from tests.support.pipeline import CHROME, GOOGLEBOT, IPHONE, Browser

    from openfeeder.ingest.append import Ingestor

    settings = bench_settings(db.url, Path(args.data_dir), args.batch_size)
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
    return made


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


def pipeline_only(url: str, batch_size: int) -> None:
    """The child process: run the pipeline (of whatever ``openfeeder`` is importable) over
    the store at ``url`` and print what it took as JSON."""
    from openfeeder.identify import make_identifier
    from openfeeder.pipeline import make_pipeline
    from openfeeder.store.db import Database

    with tempfile.TemporaryDirectory(prefix="bench-pipeline-child-") as tmp:
        settings = bench_settings(url, Path(tmp), batch_size)
        db = Database(url)
        identifier = make_identifier(settings)
        pipeline = make_pipeline(settings, db, identifier=identifier)
        import ua_parser  # main's code loads its rules in the first batch: not timed here

        ua_parser.parse("")
        server = server_cpu(url)
        cpu, started = time.process_time(), time.perf_counter()
        done = pipeline.run_once()
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
        # Read while its connections are open: a server process that has ended is gone.
        cpu += server_cpu(url, server)
        batches = pipeline.counters.totals()["batches"]
        pipeline.close()
        identifier.close()
        db.dispose()
    print(json.dumps({"done": done, "seconds": seconds, "cpu": cpu, "batches": batches}))


def run_pipeline(url: str, args: argparse.Namespace, code: Path) -> tuple[Phase, int, int]:
    """The pipeline in a child process with ``code`` (a ``src`` directory) first on its
    path; its phase, hits done and batches committed."""
    import os
    import subprocess

    env = os.environ | {"PYTHONPATH": str(code)}
    command = [
        sys.executable,
        __file__,
        "--pipeline-only",
        url,
        "--batch-size",
        str(args.batch_size),
    ]
    child = subprocess.run(command, env=env, check=False, capture_output=True, text=True)
    if child.returncode:
        raise SystemExit(f"the pipeline's process failed:\n{child.stderr[-3000:]}")
    out = child.stdout
    found = json.loads(out.strip().splitlines()[-1])
    phase = Phase(found["seconds"], found["cpu"])
    return phase, found["done"], found["batches"]


def server_cpu(url: str, since: dict[int, float] | None = None) -> Any:
    """PostgreSQL: CPU seconds of the server processes connected to ``url``'s database,
    by pid; with ``since``, the total used after that reading. SQLite (in process): 0."""
    import os

    import sqlalchemy as sa

    if not url.startswith("postgresql"):
        return {} if since is None else 0.0
    name = sa.make_url(url).database
    from tests.support.servers import POSTGRES_URL

    engine = sa.create_engine(sa.make_url(POSTGRES_URL).set(drivername="postgresql+psycopg"))
    with engine.connect() as conn:
        pids = conn.execute(
            sa.text("SELECT pid FROM pg_stat_activity WHERE datname = :name"), {"name": name}
        ).scalars()
        now = {}
        tick = os.sysconf("SC_CLK_TCK")
        for pid in pids:
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            now[pid] = (int(fields[11]) + int(fields[12])) / tick
    engine.dispose()
    if since is None:
        return now
    return sum(cpu - since.get(pid, 0.0) for pid, cpu in now.items())


@dataclass
class Stores:
    """Making, cloning and dropping the stores of one backend."""

    backend: str
    tmp: Path

    def url(self, name: str) -> str:
        if self.backend == "sqlite":
            return f"sqlite:///{self.tmp}/{name}.db"
        from tests.support.servers import POSTGRES_URL

        return sa_url(POSTGRES_URL, f"bench_pipeline_{name}")

    def fresh(self, name: str) -> str:
        if self.backend == "sqlite":
            self.drop(name)
            return self.url(name)
        from tests.support.servers import fresh_postgres_database

        return fresh_postgres_database(f"bench_pipeline_{name}")

    def clone(self, source: str, name: str) -> str:
        """A copy of a store no engine holds open (SQLite: its WAL checkpointed)."""
        if self.backend == "sqlite":
            import shutil

            self.drop(name)
            shutil.copyfile(Path(self.tmp, f"{source}.db"), Path(self.tmp, f"{name}.db"))
            return self.url(name)
        self.drop(name)
        with admin() as conn:
            conn.exec_driver_sql(
                f'CREATE DATABASE "bench_pipeline_{name}" TEMPLATE "bench_pipeline_{source}"'
            )
        return self.url(name)

    def drop(self, name: str) -> None:
        if self.backend == "sqlite":
            for suffix in ("", "-wal", "-shm"):
                Path(self.tmp, f"{name}.db{suffix}").unlink(missing_ok=True)
            return
        with admin() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "bench_pipeline_{name}" WITH (FORCE)')


def sa_url(base: str, database: str) -> str:
    import sqlalchemy as sa

    return sa.make_url(base).set(database=database).render_as_string(hide_password=False)


@contextmanager
def admin() -> Iterator[Any]:
    import sqlalchemy as sa
    from tests.support.servers import POSTGRES_URL

    engine = sa.create_engine(sa.make_url(POSTGRES_URL).set(drivername="postgresql+psycopg"))
    try:
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            yield conn
    finally:
        engine.dispose()


def run_backend(backend: str, tmp: Path, args: argparse.Namespace) -> Result:
    from openfeeder.store.db import Database

    stores = Stores(backend, tmp)
    db, copy = Database(stores.fresh("source")), Database(stores.fresh("empty"))
    db.migrate()
    copy.migrate()
    count = make_traffic(db, args)
    copy_everything(db.engine, copy.engine)
    before = {"locations": set(read_rows(db.engine, "locations", columns("locations")))}
    db.dispose()
    copy.dispose()
    rounds = []
    rows: dict[str, int] = {}
    try:
        for number in range(args.rounds):
            old = None
            if args.before:
                old, _, _ = run_pipeline(stores.clone("source", "before"), args, args.before)
                stores.drop("before")
            url = stores.clone("source", "run")
            if args.profile:
                phase, done, batches = profiled(url, args, f"{args.profile}.{backend}")
            else:
                phase, done, batches = run_pipeline(url, args, ROOT / "src")
            if done != count:
                raise SystemExit(f"{backend}: the pipeline processed {done} of {count} hits")
            with_rules = run_with_rules(stores, args, backend, count) if args.rules else None
            ran = Database(url)
            stream = produced(ran.engine, before)
            ran.dispose()
            stores.drop("run")
            target_url = stores.clone("empty", "raw")
            target = Database(target_url)
            server = server_cpu(target_url)
            cpu = time.process_time()
            seconds = raw_write(target.engine, stream, batches)
            cpu = time.process_time() - cpu + server_cpu(target_url, server)
            target.dispose()
            stores.drop("raw")
            rounds.append(Round(phase, Phase(seconds, cpu), old, with_rules))
            rows = {table: len(rows) for table, _, rows in stream} | {"batches": batches}
            print(f"{backend} round {number + 1}: {rounds[-1]}", file=sys.stderr)
    finally:
        for name in ("source", "empty", "run", "raw", "before", "rules"):
            stores.drop(name)
    return Result(backend, count, rounds, rows)


def run_with_rules(stores: Any, args: argparse.Namespace, backend: str, count: int) -> Phase:
    """The pipeline on a copy of the source store with ``--rules`` alert rules added."""
    ruled = stores.clone("source", "rules")
    add_rules(ruled, args.rules, args.rule_mix)
    if args.profile:
        phase, done, _ = profiled(ruled, args, f"{args.profile}.{backend}.rules")
    else:
        phase, done, _ = run_pipeline(ruled, args, ROOT / "src")
    events = count_rows(ruled, "alert_events")
    stores.drop("rules")
    if done != count:
        raise SystemExit(f"{backend}: with rules, {done} of {count} hits")
    print(f"{backend}: {args.rules} rules made {events} events", file=sys.stderr)
    return phase


def add_rules(url: str, count: int, mix: str = "dense") -> None:
    """``count`` enabled alert rules on the bench's account, each to a webhook endpoint."""
    from openfeeder.services import admin, alerts
    from openfeeder.store.db import Database

    db = Database(url)
    now = datetime.now(UTC)
    account = admin.get_account(db, 1)
    endpoint = alerts.create_endpoint(db, account, "webhook", "https://hooks.example/in", now)
    kinds: list[tuple[str, dict[str, Any]]] = [
        ("new_company", {}),
        ("returning", {"days": 1}),
        ("page_visit", {"pattern": "*/pricing*"}),
        ("quality", {"quality": 3}),
    ]
    if mix == "sparse":  # rules that are evaluated for every visit but seldom fire
        kinds = [
            ("new_company", {}),
            ("returning", {"days": 60}),
            ("page_visit", {"pattern": "*/careers/*/apply"}),
            ("quality", {"quality": 10}),
        ]
    for number in range(count):
        trigger, params = kinds[number % len(kinds)]
        alerts.create_rule(
            db,
            account,
            now,
            feed_id=("all_leads", "recommended_leads")[number // len(kinds) % 2],
            trigger=trigger,
            params=params,
            endpoint_ids=[endpoint.endpoint.id],
        )
    db.dispose()


def count_rows(url: str, table: str) -> int:
    import sqlalchemy as sa

    from openfeeder.store.db import Database

    db = Database(url)
    with db.read() as conn:
        found = int(conn.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one())  # noqa: S608
    db.dispose()
    return found


def profiled(url: str, args: argparse.Namespace, out: str) -> tuple[Phase, int, int]:
    """The pipeline in this process under cProfile (CPU time: on a busy machine wall time
    lands on whatever was running)."""
    from openfeeder.pipeline import make_pipeline
    from openfeeder.store.db import Database

    db = Database(url)
    pipeline = make_pipeline(bench_settings(url, Path(args.data_dir), args.batch_size), db)
    profiler = cProfile.Profile(time.process_time)
    server = server_cpu(url)
    cpu, started = time.process_time(), time.perf_counter()
    profiler.enable()
    done = pipeline.run_once()
    profiler.disable()
    cpu = time.process_time() - cpu + server_cpu(url, server)
    phase = Phase(time.perf_counter() - started, cpu)
    profiler.dump_stats(out)
    batches = pipeline.counters.totals()["batches"]
    pipeline.close()
    db.dispose()
    return phase, done, batches


def report(results: list[Result]) -> None:
    print()
    print(
        "| backend | hits | rounds | pipeline hits/s | raw insert of its rows, hits/s equivalent"
        " | ratio (wall) | ratio (CPU) | before: hits/s, ratio (wall), ratio (CPU) |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for r in results:
        before = "–"
        if r.rounds[0].before is not None:
            before = (
                f"{r.rate('before'):,.0f}, {r.ratio('before'):.2f}, "
                f"{r.ratio('before', cpu=True):.2f}"
            )
        print(
            f"| {r.backend} | {r.hits} | {len(r.rounds)} | {r.rate('pipeline'):,.0f} "
            f"| {r.rate('ceiling'):,.0f} | {r.ratio():.2f} | {r.ratio(cpu=True):.2f} | {before} |"
        )
    if results and results[0].rounds[0].rules is not None:
        print()
        print(
            "| backend | hits | pipeline hits/s, no rules | with alert rules, hits/s "
            "| ratio (wall) | ratio (CPU) |"
        )
        print("|---|---|---|---|---|---|")
        for r in results:
            wall = statistics.median(
                x.pipeline.seconds / x.rules.seconds for x in r.rounds if x.rules
            )
            cpu = statistics.median(x.pipeline.cpu / x.rules.cpu for x in r.rounds if x.rules)
            print(
                f"| {r.backend} | {r.hits} | {r.rate('pipeline'):,.0f} | {r.rate('rules'):,.0f} "
                f"| {wall:.2f} | {cpu:.2f} |"
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
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--backends", nargs="+", default=["sqlite", "postgresql"])
    parser.add_argument(
        "--before", type=Path, help="a src directory of other code to run on the same hits"
    )
    parser.add_argument(
        "--profile",
        help="write cProfile stats of the pipeline to FILE.<backend> (with --rules, also"
        " of the run with rules to FILE.<backend>.rules)",
    )
    parser.add_argument("--rules", type=int, default=0, help="also run with N alert rules")
    parser.add_argument(
        "--rule-mix",
        choices=("dense", "sparse"),
        default="dense",
        help="dense: the four triggers at thresholds most leads pass; sparse: seldom met",
    )
    parser.add_argument("--pipeline-only", metavar="URL", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.pipeline_only:
        pipeline_only(args.pipeline_only, args.batch_size)
        return
    results = []
    with tempfile.TemporaryDirectory(prefix="bench-pipeline-") as tmp:
        args.data_dir = tmp
        for backend in args.backends:
            results.append(run_backend(backend, Path(tmp), args))
            report(results[-1:])
    report(results)


if __name__ == "__main__":
    main()
