"""Export memory: peak memory of one export job at several sizes, side by side in one run.

Builds one store per size (SQLite by default; PostgreSQL too with ``--postgres``), then runs
the export job in a fresh interpreter per measurement, the way ``openfeeder worker`` runs it
(``JobQueue.run_pending``), and reports the process's peak RSS, how much RSS grew during the
job, and the tracemalloc peak (a separate run, as tracing slows the job down).

Peak RSS is ``VmHWM`` from ``/proc/self/status`` where there is one: Linux carries a
parent's ``ru_maxrss`` over into a child across fork and exec, so ``ru_maxrss`` (the
fallback) would report the builder's peak, not the job's. The stores are built in their own
processes for the same reason.

    .venv/bin/python bench/export_memory.py                      # 1 000 vs 20 000 leads
    .venv/bin/python bench/export_memory.py --sizes 1000 50000
    .venv/bin/python bench/export_memory.py --postgres postgresql://postgres@127.0.0.1/test
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

# The tests' data builders (tests/support/factories.py) make the bench's user and account.
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

FIRST, LAST = date(2026, 1, 1), date(2026, 1, 31)
BATCH = 5_000


def build(database_url: str, data_dir: Path, leads: int, exports: int = 2) -> dict[str, Any]:
    """A migrated store with ``leads`` leads visiting in January 2026, each through the
    pipeline's own ``record_visits``, and ``exports`` pending exports of all of them."""
    from tests.support.factories import Builder

    from openfeeder.config import Settings
    from openfeeder.domain import ids
    from openfeeder.domain.models import Company, Location, NewVisit
    from openfeeder.jobs import make_queue
    from openfeeder.services.exports import create_export
    from openfeeder.services.visits import record_visits, route_step
    from openfeeder.store.companies import upsert_companies
    from openfeeder.store.db import Database

    settings = Settings(database_url=database_url, data_dir=data_dir, redis_url=None)
    db = Database(database_url)
    db.migrate()
    builder = Builder(db)
    member = builder.user("bench@example.com")
    account = builder.account(member, timezone="Europe/Helsinki")
    user = member.user
    places = [
        Location(ids.location_id(cc, region, city), country, cc, region, None, city, state)
        for cc, country, region, city, state in [
            ("FI", "Finland", "Uusimaa", "Helsinki", None),
            ("SE", "Sweden", "Stockholm", "Stockholm", None),
            ("US", "United States", "Massachusetts", "Boston", "MA"),
        ]
    ]
    rng = random.Random(leads)
    keywords = [None, None, "crm", "visitor tracking", "b2b leads"]
    for start in range(0, leads, BATCH):
        companies = [
            Company(
                id=ids.new_company_id(),
                name=f"Company {n:07d}",
                website_url=f"https://company{n}.example",
                industry="Software",
                employee_count=rng.randrange(1, 5_000),
                linkedin_url=f"https://www.linkedin.com/company/company{n}",
            )
            for n in range(start, min(leads, start + BATCH))
        ]
        with db.write() as conn:
            upsert_companies(conn, companies)
        visits = [
            NewVisit(
                id=ids.new_visit_id(),
                account_id=account.id,
                company_id=company.id,
                location=rng.choice(places),
                # Within January in the account's timezone (UTC+2) too.
                started_at=datetime(2026, 1, 1, tzinfo=UTC)
                + timedelta(minutes=rng.randrange(30 * 24 * 60)),
                route=[
                    route_step(f"https://www.example.com/p{i}", f"Page {i}", rng.randrange(120))
                    for i in range(rng.randint(1, 5))
                ],
                keyword=rng.choice(keywords),
            )
            for company in companies
        ]
        record_visits(db, visits)
    if db.engine.dialect.name == "postgresql":
        # As autovacuum would soon after a bulk load; without statistics the planner may
        # choose plans that are quadratic in the number of leads (see BENCHMARKS.md).
        with db.write() as conn:
            conn.exec_driver_sql("ANALYZE")
    queue = make_queue(settings, db)
    requests = [
        create_export(db, queue, account, user, "all_leads", FIRST, LAST).id for _ in range(exports)
    ]
    queue.close()
    db.dispose()
    return {
        "database_url": database_url,
        "data_dir": str(data_dir),
        "account_id": account.id,
        "exports": requests,
    }


def measure(database_url: str, data_dir: str, export_id: str, trace: bool) -> dict[str, Any]:
    """Run in the child: the export job as a worker runs it, and what it cost."""
    import gc
    import tracemalloc

    import orjson

    from openfeeder.config import Settings
    from openfeeder.jobs import make_queue
    from openfeeder.store.db import Database
    from openfeeder.store.exports import get

    settings = Settings(database_url=database_url, data_dir=Path(data_dir), redis_url=None)
    db = Database(database_url)
    queue = make_queue(settings, db)
    queue.huey.storage.flush_queue()  # run exactly the export asked for, nothing else
    queue.enqueue_export(export_id)
    gc.collect()
    before = current_rss_kib()
    if trace:
        tracemalloc.start()
    started = time.perf_counter()
    queue.run_pending()
    seconds = time.perf_counter() - started
    traced = tracemalloc.get_traced_memory()[1] if trace else None
    tracemalloc.stop()
    peak = peak_rss_kib()
    with db.read() as conn:
        request = get(conn, export_id)
    assert request is not None, export_id
    assert request.file_name, request
    path = Path(data_dir) / "exports" / request.file_name
    rows = len(orjson.loads(path.read_bytes())["data"])
    queue.close()
    db.dispose()
    return {
        "rows": rows,
        "bytes": path.stat().st_size,
        "seconds": seconds,
        "rss_kib": peak,
        "rss_growth_kib": peak - before,
        "traced_bytes": traced,
    }


def _status_kib(field: str) -> int | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return None


def peak_rss_kib() -> int:
    import resource

    return _status_kib("VmHWM") or resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def current_rss_kib() -> int:
    return _status_kib("VmRSS") or peak_rss_kib()


def child(args: list[str], script: str = __file__) -> dict[str, Any]:
    """What ``script --child <args>`` printed last, as JSON: a measurement in a fresh process."""
    output = subprocess.run(
        [sys.executable, script, "--child", *args], check=True, capture_output=True, text=True
    ).stdout
    result: dict[str, Any] = json.loads(output.splitlines()[-1])
    return result


def postgres_database(admin_url: str, name: str, *, create: bool) -> str:
    """(Re)create a scratch database next to the admin one, or drop it; returns its URL."""
    from openfeeder.store.engine import create_engine

    admin = create_engine(admin_url)
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if create:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    url: str = admin.url.set(database=name).render_as_string(hide_password=False)
    admin.dispose()
    return url


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sizes", type=int, nargs="+", default=[1_000, 20_000], help="lead counts (≥ 2)"
    )
    parser.add_argument("--postgres", metavar="ADMIN_URL", help="also measure on PostgreSQL")
    parser.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if len(args.sizes) < 2 and not args.child:
        parser.error("--sizes needs at least two lead counts to compare")
    if args.child:
        what, database_url, data_dir, arg = args.child
        if what == "build":
            leads, _, exports = arg.partition(":")  # "<leads>" or "<leads>:<exports>"
            print(json.dumps(build(database_url, Path(data_dir), int(leads), int(exports or 2))))
        else:
            print(json.dumps(measure(database_url, data_dir, arg, what == "trace")))
        return

    def one(url: str, root: Path, leads: int) -> dict[str, Any]:
        store = child(["build", url, str(root / "data"), str(leads)])
        rss_run, traced_run = store["exports"]
        result = child(["rss", url, store["data_dir"], rss_run])
        traced = child(["trace", url, store["data_dir"], traced_run])
        return result | {"traced_bytes": traced["traced_bytes"]}

    for backend, results in each_store(args.sizes, args.postgres, "openfeeder_bench", one):
        report(backend, results)


def each_store(
    sizes: list[int],
    admin_url: str | None,
    prefix: str,
    measure_one: Callable[[str, Path, int], dict[str, Any]],
) -> Iterator[tuple[str, dict[int, Any]]]:
    """Per backend (SQLite, then PostgreSQL when ``admin_url`` is given), what ``measure_one``
    found for each size, given an empty store's URL and a scratch directory; PostgreSQL
    databases are ``<prefix>_<leads>``, dropped afterwards."""
    backends = ["sqlite"] + (["postgresql"] if admin_url else [])
    with tempfile.TemporaryDirectory(prefix="openfeeder-bench-") as tmp:
        for backend in backends:
            results = {}
            for leads in sizes:
                root = Path(tmp) / f"{backend}-{leads}"
                root.mkdir()
                scratch = f"{prefix}_{leads}"
                if backend == "sqlite" or admin_url is None:
                    url = f"sqlite:///{root / 'openfeeder.db'}"
                else:
                    url = postgres_database(admin_url, scratch, create=True)
                try:
                    results[leads] = measure_one(url, root, leads)
                finally:
                    if backend == "postgresql" and admin_url is not None:
                        postgres_database(admin_url, scratch, create=False)
            yield backend, results


def report(backend: str, results: dict[int, dict[str, Any]]) -> None:
    small = min(results)
    print(f"\n{backend}: export job, {' vs '.join(f'{n:,}' for n in sorted(results))} leads")
    print(
        f"{'leads':>8} {'rows':>8} {'file MiB':>9} {'job s':>7} "
        f"{'peak RSS MiB':>13} {'RSS growth MiB':>15} {'tracemalloc MiB':>16}"
    )
    for leads, r in sorted(results.items()):
        print(
            f"{leads:>8,} {r['rows']:>8,} {r['bytes'] / 2**20:>9.1f} {r['seconds']:>7.2f} "
            f"{r['rss_kib'] / 1024:>13.1f} {r['rss_growth_kib'] / 1024:>15.1f} "
            f"{r['traced_bytes'] / 2**20:>16.2f}"
        )
    for leads in sorted(results)[1:]:
        ratio = results[leads]["rss_kib"] / results[small]["rss_kib"]
        traced = results[leads]["traced_bytes"] / results[small]["traced_bytes"]
        print(f"ratio {leads:,}/{small:,}: peak RSS {ratio:.3f}, tracemalloc peak {traced:.3f}")


if __name__ == "__main__":
    main()
