"""Export speed: the export job against an orjson dump of the same rows by one query, side by
side in one run, with the peak memory of each.

Builds one store per size with ``bench/export_memory.py``'s builder (every lead visiting in
January 2026 through the pipeline's own ``record_visits``; SQLite, and PostgreSQL too with
``--postgres``), then, per round, in a fresh interpreter each:

- **export**: the export job as ``openfeeder worker`` runs it (``JobQueue.run_pending`` →
  ``run_export``: claim, heartbeat, the report written into a draft, fsync, publish, finish);
  the time of ``run_pending``.
- **ceiling**: the export's own rows (``store.export_rows.export_query``: the same leads,
  stats, quality, keywords, lead-object fields and location ids, in the same order) read by
  one query (``.all()``, no server-side cursor), every row made a dict of its column names,
  the list serialised by one ``orjson.dumps`` call, written to a file and fsynced; the time
  from the query to the fsync.
- **lead rows**: the same as the ceiling over the rows the export read before this query
  existed, and that the issue's ceiling dumped: ``interval_query`` with every column of the
  lead, its company and location (the query the old export streamed), in the same order.

Each reports its wall time and the process's peak RSS (``VmHWM``). The medians of the rounds
are shown, and the ratios export / ceiling and peak RSS at the largest size / the smallest.

    .venv/bin/python bench/export_speed.py                       # SQLite, 1 000 vs 100 000
    .venv/bin/python bench/export_speed.py --postgres postgresql://postgres@127.0.0.1/test
    .venv/bin/python bench/export_speed.py --sizes 1000 20000 --rounds 5
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

import export_memory as memory  # noqa: E402 - the builder and the measuring helpers

MODES = ("export", "ceiling", "lead rows")


def run_job(database_url: str, data_dir: str, export_id: str) -> dict[str, Any]:
    """In the child: the export job, as ``measure`` in export_memory.py runs it."""
    result = memory.measure(database_url, data_dir, export_id, trace=False)
    return {"seconds": result["seconds"], "rss_kib": result["rss_kib"], "rows": result["rows"]}


def run_dump(database_url: str, out: str, account_id: int, mode: str) -> dict[str, Any]:
    """In the child: one query, every row a dict, one ``orjson.dumps``, written and fsynced."""
    import orjson

    from openfeeder.store import schema as t
    from openfeeder.store.db import Database
    from openfeeder.store.export_rows import export_query
    from openfeeder.store.exports import snapshot
    from openfeeder.store.leads import interval_query

    db = Database(database_url)
    if mode == "ceiling":
        query = export_query(db.engine.dialect.name, account_id, memory.FIRST, memory.LAST, [])
    else:
        leads, quality, last_day = interval_query(account_id, memory.FIRST, memory.LAST, [])
        query = leads.order_by(last_day.desc(), quality.desc(), t.leads.c.id)
    with db.read() as warm:
        # Connect (and, on SQLite, set the connection up) outside the timed part.
        warm.exec_driver_sql("SELECT 1")
    started = time.perf_counter()
    with snapshot(db) as conn:
        result = conn.execute(query)
        names = [str(name) for name in result.keys()]  # noqa: SIM118 - a Result, not a dict
        rows = result.all()
    # Plain str keys (names are str subclasses, which orjson refuses as keys).
    body = orjson.dumps([dict(zip(names, row, strict=True)) for row in rows])
    with open(out, "wb") as file:
        file.write(body)
        file.flush()
        os.fsync(file.fileno())
    seconds = time.perf_counter() - started
    db.dispose()
    return {"seconds": seconds, "rss_kib": memory.peak_rss_kib(), "rows": len(rows)}


def measure_size(url: str, root: Path, leads: int, rounds: int) -> dict[str, list[dict[str, Any]]]:
    store = memory.child(["build", url, str(root / "data"), f"{leads}:{rounds}"])
    runs: dict[str, list[dict[str, Any]]] = {mode: [] for mode in MODES}
    for export_id in store["exports"]:  # one round per export request, modes interleaved
        runs["export"].append(memory.child(["job", url, store["data_dir"], export_id], __file__))
        for mode in MODES[1:]:
            dump = str(root / "dump.json")
            runs[mode].append(memory.child([mode, url, dump, str(store["account_id"])], __file__))
    for mode, results in runs.items():
        assert {r["rows"] for r in results} == {leads}, (mode, results)
    return runs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sizes", type=int, nargs="+", default=[1_000, 100_000], help="lead counts (≥ 2)"
    )
    parser.add_argument("--rounds", type=int, default=3, help="measurements of each (median)")
    parser.add_argument("--postgres", metavar="ADMIN_URL", help="also measure on PostgreSQL")
    parser.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        what, database_url, place, arg = args.child
        if what == "job":
            print(json.dumps(run_job(database_url, place, arg)))
        else:
            print(json.dumps(run_dump(database_url, place, int(arg), what)))
        return
    if len(args.sizes) < 2:
        parser.error("--sizes needs at least two lead counts to compare")

    def one(url: str, root: Path, leads: int) -> dict[str, list[dict[str, Any]]]:
        return measure_size(url, root, leads, args.rounds)

    for backend, results in memory.each_store(
        args.sizes, args.postgres, "openfeeder_bench_speed", one
    ):
        report(backend, results)


def median(runs: list[dict[str, Any]], key: str) -> float:
    return statistics.median(r[key] for r in runs)


def report(backend: str, results: dict[int, dict[str, list[dict[str, Any]]]]) -> None:
    rounds = len(next(iter(results.values()))["export"])
    print(f"\n{backend}: medians of {rounds} rounds, each in a fresh interpreter")
    print(
        f"{'leads':>8} {'export s':>9} {'ceiling s':>10} {'ratio':>6} "
        f"{'lead rows s':>12} {'ratio':>6} "
        f"{'export RSS MiB':>15} {'ceiling RSS MiB':>16} {'lead rows RSS MiB':>18}"
    )
    for leads, runs in sorted(results.items()):
        seconds = {mode: median(runs[mode], "seconds") for mode in MODES}
        rss = {mode: median(runs[mode], "rss_kib") / 1024 for mode in MODES}
        print(
            f"{leads:>8,} {seconds['export']:>9.2f} {seconds['ceiling']:>10.2f} "
            f"{seconds['export'] / seconds['ceiling']:>6.2f} {seconds['lead rows']:>12.2f} "
            f"{seconds['export'] / seconds['lead rows']:>6.2f} "
            f"{rss['export']:>15.1f} {rss['ceiling']:>16.1f} {rss['lead rows']:>18.1f}"
        )
    small, large = min(results), max(results)
    flat = median(results[large]["export"], "rss_kib") / median(results[small]["export"], "rss_kib")
    print(f"export peak RSS {large:,} / {small:,} leads: {flat:.3f}")


if __name__ == "__main__":
    main()
