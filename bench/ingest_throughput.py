"""Ingest throughput: tracker hits per second through ``openfeeder serve``, and group commit
against one transaction per hit, side by side in one run, on SQLite (and PostgreSQL).

HTTP: starts ``openfeeder serve`` on a free port of 127.0.0.1 (the pipeline and jobs off, the
flood limit out of the way: every client is 127.0.0.1) with an account created through the
store, then sends ``--hits`` valid tracker events as beacon POSTs from each ``--clients``
count of concurrent keep-alive connections. The load generator is plain asyncio writing
prepared HTTP/1.1 requests, so that it takes little of the CPU the server shares with it.
Reports hits/s, p50/p99 latency, and hits per group commit from the server's ``/metrics``.

In process: ``Ingestor.append`` from ``--concurrency`` concurrent tasks (``asyncio.gather``)
against the same number of hits each committed in its own durable transaction through the
same store function (``store.hits.durable_write`` + ``insert_hits``), from one thread and
from ``--threads`` threads; ``--rounds`` rounds, interleaved, median reported.

Each phase is bounded by its hit count and by ``--max-seconds``.

    .venv/bin/python bench/ingest_throughput.py                # SQLite
    .venv/bin/python bench/ingest_throughput.py --postgres postgresql://postgres@127.0.0.1:5432/test
    .venv/bin/python bench/ingest_throughput.py --clients 1 8 64 256 --hits 10000
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

# The tracker tests' event builder and server helper: the events sent here are theirs; the
# account is made by the tests' data builder.
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

USER_AGENT = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126"
WARM_UP = 200  # requests before each HTTP measurement: connections, caches, code paths

# The server is started with it, to read /metrics.
METRICS_TOKEN = "bench-metrics"  # noqa: S105 - a throwaway token of a benchmark server


@dataclass
class Outcome:
    """One measured phase: how many hits, how long, and what else was seen."""

    hits: int
    seconds: float
    latencies: list[float]  # seconds per request; empty when not measured
    per_commit: float | None  # hits per group commit, when there were group commits
    errors: dict[str, int]
    server_cpu: float | None = None  # the server's CPU seconds per wall second (1 = a core)

    @property
    def rate(self) -> float:
        return self.hits / self.seconds

    def latency_ms(self, q: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def create_store(database_url: str) -> tuple[Any, Any]:
    """A migrated store with one account; the database and the account."""
    from tests.support.factories import Builder

    from openfeeder.store.db import Database

    db = Database(database_url)
    db.migrate()
    return db, Builder(db).account()


# -- over HTTP ---------------------------------------------------------------------------


def beacon(port: int, script_hash: str) -> bytes:
    """One ``POST /tr`` as ``navigator.sendBeacon`` sends it, with a fresh event."""
    from tests.support.tracking import encode, event

    body = encode(event()).encode()
    head = (
        f"POST /tr?sid={script_hash} HTTP/1.1\r\n"
        f"Host: 127.0.0.1:{port}\r\n"
        f"User-Agent: {USER_AGENT}\r\n"
        "Accept-Language: en-GB,en;q=0.9\r\n"
        "Content-Type: text/plain;charset=UTF-8\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


def response_head(head: bytes) -> tuple[int, int, bool]:
    """(status, Content-Length, whether the server closes the connection) of a response."""
    status_line, *lines = head.decode("latin-1").rstrip("\r\n").split("\r\n")
    fields = {
        name.strip().lower(): value.strip() for name, _, value in (x.partition(":") for x in lines)
    }
    length = int(fields.get("content-length", "0"))
    return int(status_line.split(" ", 2)[1]), length, fields.get("connection") == "close"


async def send_all(
    port: int, requests: list[bytes], clients: int, max_seconds: float
) -> tuple[float, list[float], dict[str, int]]:
    """Send ``requests`` from ``clients`` keep-alive connections; (seconds, latencies, errors)."""
    pending: Iterator[bytes] = iter(requests)
    latencies: list[float] = []
    errors: dict[str, int] = {}
    deadline = time.perf_counter() + max_seconds

    async def client() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            for request in pending:
                if time.perf_counter() > deadline:
                    return
                started = time.perf_counter()
                writer.write(request)
                status, length, close = response_head(await reader.readuntil(b"\r\n\r\n"))
                if length:
                    await reader.readexactly(length)
                if status == 204:
                    latencies.append(time.perf_counter() - started)
                else:
                    errors[str(status)] = errors.get(str(status), 0) + 1
                if close:
                    writer.close()
                    reader, writer = await asyncio.open_connection("127.0.0.1", port)
        finally:
            writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(clients)))
    return time.perf_counter() - started, latencies, errors


def commit_totals(url: str) -> tuple[float, float]:
    """(hits, commits) so far, from the server's ``openfeeder_tracker_commit_hits`` histogram."""
    import httpx
    from prometheus_client.parser import text_string_to_metric_families

    auth = {"Authorization": f"Bearer {METRICS_TOKEN}"}
    text = httpx.get(url + "/metrics", headers=auth, timeout=10).text
    values = {
        sample.name: sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }
    return (
        values["openfeeder_tracker_commit_hits_sum"],
        values["openfeeder_tracker_commit_hits_count"],
    )


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of a process so far (Linux ``/proc``; None elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def over_http(
    database_url: str, data_dir: Path, script_hash: str, args: argparse.Namespace
) -> tuple[dict[int, Outcome], int]:
    """Per client count, the measured outcome; and how many hits were acknowledged in all."""
    from tests.support.servers import ServeProcess

    env = {
        "OPENFEEDER_DATABASE_URL": database_url,
        "OPENFEEDER_DATA_DIR": str(data_dir),
        "OPENFEEDER_PIPELINE_IN_PROCESS": "false",  # ingest alone: no reader of the hits
        "OPENFEEDER_RUN_JOBS_IN_PROCESS": "false",
        "OPENFEEDER_TRACKER_FLOOD_PER_MINUTE": str(10**9),
        "OPENFEEDER_METRICS_TOKEN": METRICS_TOKEN,
    }
    server = ServeProcess(env, data_dir / "serve.log").start()
    results = {}
    acknowledged = 0
    try:
        for clients in args.clients:
            requests = [beacon(server.port, script_hash) for _ in range(WARM_UP + args.hits)]
            warm = asyncio.run(send_all(server.port, requests[:WARM_UP], clients, args.max_seconds))
            acknowledged += len(warm[1])
            assert server.process is not None
            hits_before, commits_before = commit_totals(server.url)
            cpu_before = cpu_seconds(server.process.pid)
            seconds, latencies, errors = asyncio.run(
                send_all(server.port, requests[WARM_UP:], clients, args.max_seconds)
            )
            cpu_after = cpu_seconds(server.process.pid)
            hits_after, commits_after = commit_totals(server.url)
            commits = commits_after - commits_before
            results[clients] = Outcome(
                len(latencies),
                seconds,
                latencies,
                (hits_after - hits_before) / commits if commits else None,
                errors,
                (cpu_after - cpu_before) / seconds
                if cpu_after is not None and cpu_before is not None
                else None,
            )
            acknowledged += len(latencies)
    finally:
        server.stop()
    return results, acknowledged


# -- in process --------------------------------------------------------------------------


def incoming(account_id: int, count: int) -> list[Any]:
    from tests.support.tracking import event

    from openfeeder.ingest.append import IncomingHit

    return [
        IncomingHit(
            account_id=account_id,
            event=event(),
            ip=f"192.0.2.{n % 250 + 1}",
            user_agent=USER_AGENT,
            accept_language="en-GB,en;q=0.9",
            request_meta={},
            received_at=datetime.now(UTC),
        )
        for n in range(count)
    ]


def group_commit(ingestor: Any, hits: list[Any], concurrency: int, max_seconds: float) -> Outcome:
    """``concurrency`` tasks, each awaiting ``Ingestor.append`` one hit after another."""
    registry = ingestor.registry

    def totals() -> tuple[float, float]:
        return (
            registry.get_sample_value("openfeeder_tracker_commit_hits_sum") or 0.0,
            registry.get_sample_value("openfeeder_tracker_commit_hits_count") or 0.0,
        )

    async def run() -> tuple[int, float]:
        pending = iter(hits)
        done = 0
        deadline = time.perf_counter() + max_seconds

        async def task() -> None:
            nonlocal done
            for hit in pending:
                if time.perf_counter() > deadline:
                    return
                await ingestor.append(hit)
                done += 1

        started = time.perf_counter()
        await asyncio.gather(*(task() for _ in range(concurrency)))
        return done, time.perf_counter() - started

    hits_before, commits_before = totals()
    done, seconds = asyncio.run(run())
    hits_after, commits_after = totals()
    per_commit = (hits_after - hits_before) / (commits_after - commits_before)
    return Outcome(done, seconds, [], per_commit, {})


def one_per_hit(db: Any, hits: list[Any], threads: int, max_seconds: float) -> Outcome:
    """Each hit in its own durable transaction, through the function the ingestor uses."""
    from openfeeder.ingest.append import hit_row
    from openfeeder.store import hits as store

    deadline = time.perf_counter() + max_seconds

    def write(hit: Any) -> bool:
        if time.perf_counter() > deadline:
            return False
        with store.durable_write(db) as conn:
            store.insert_hits(conn, [hit_row(hit)])
        return True

    started = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        done = sum(pool.map(write, hits))
    return Outcome(done, time.perf_counter() - started, [], None, {})


def in_process(
    db: Any, account_id: int, args: argparse.Namespace
) -> tuple[dict[str, Outcome], int]:
    """Per mode, the median round; and how many hits were acknowledged in all."""
    from openfeeder.config import Settings
    from openfeeder.ingest.append import Ingestor

    ingestor = Ingestor(Settings(database_url=db.url, redis_url=None), db)
    ingestor.start()
    modes: dict[str, Callable[[list[Any]], Outcome]] = {
        f"group commit, {args.concurrency} tasks": lambda hits: group_commit(
            ingestor, hits, args.concurrency, args.max_seconds
        ),
        "one transaction per hit, 1 thread": lambda hits: one_per_hit(
            db, hits, 1, args.max_seconds
        ),
        f"one transaction per hit, {args.threads} threads": lambda hits: one_per_hit(
            db, hits, args.threads, args.max_seconds
        ),
    }
    rounds: dict[str, list[Outcome]] = {name: [] for name in modes}
    try:
        for _ in range(args.rounds):
            for name, measure in modes.items():
                rounds[name].append(measure(incoming(account_id, args.inproc_hits)))
    finally:
        ingestor.stop()
    medians = {
        name: sorted(outcomes, key=lambda o: o.rate)[len(outcomes) // 2]
        for name, outcomes in rounds.items()
    }
    return medians, sum(o.hits for outcomes in rounds.values() for o in outcomes)


# -- the run -----------------------------------------------------------------------------


def run_backend(database_url: str, data_dir: Path, args: argparse.Namespace) -> None:
    from openfeeder.store.hits import count_hits

    db, account = create_store(database_url)
    try:
        http, sent_http = over_http(database_url, data_dir, account.script_hash, args)
        local, sent_local = in_process(db, account.id, args)
        with db.read() as conn:
            stored = count_hits(conn, account.id)
    finally:
        db.dispose()
    report(db.engine.dialect.name, args, http, local)
    # Every event was new: each acknowledged hit must be in the store, and nothing else.
    acknowledged = sent_http + sent_local
    verdict = "all stored" if stored == acknowledged else f"but {stored:,} stored (!)"
    print(f"{acknowledged:,} hits acknowledged in this run, {verdict}")


def report(
    backend: str,
    args: argparse.Namespace,
    http: dict[int, Outcome],
    local: dict[str, Outcome],
) -> None:
    print(f"\n{backend}: POST /tr over HTTP, up to {args.hits:,} hits per row")
    print(
        f"{'clients':>8} {'hits':>7} {'hits/s':>8} {'p50 ms':>8} {'p99 ms':>8} "
        f"{'hits/commit':>11} {'server CPU':>10}  errors"
    )
    for clients, o in http.items():
        per_commit = f"{o.per_commit:.1f}" if o.per_commit else "-"
        cpu = f"{o.server_cpu:.0%}" if o.server_cpu is not None else "-"
        print(
            f"{clients:>8} {o.hits:>7,} {o.rate:>8,.0f} {o.latency_ms(0.5):>8.1f} "
            f"{o.latency_ms(0.99):>8.1f} {per_commit:>11} {cpu:>10}  {o.errors or '-'}"
        )
    print(
        f"\n{backend}: durable append in process, {args.inproc_hits:,} hits, "
        f"median of {args.rounds} rounds"
    )
    print(f"{'mode':<40} {'hits/s':>8} {'hits/commit':>11}")
    for name, o in local.items():
        per_commit = f"{o.per_commit:.1f}" if o.per_commit else "1"
        print(f"{name:<40} {o.rate:>8,.0f} {per_commit:>11}")
    (group_name, group), *baselines = local.items()
    for name, o in baselines:
        print(f"ratio {group_name.split(',')[0]} / {name}: {group.rate / o.rate:.1f}×")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--clients", type=int, nargs="+", default=[1, 16, 64], help="concurrent connections"
    )
    parser.add_argument("--hits", type=int, default=5_000, help="HTTP requests per client count")
    parser.add_argument("--concurrency", type=int, default=100, help="in-process append tasks")
    parser.add_argument("--threads", type=int, default=8, help="one-per-hit baseline threads")
    parser.add_argument("--inproc-hits", type=int, default=4_000, help="hits per in-process run")
    parser.add_argument("--rounds", type=int, default=3, help="in-process rounds (median)")
    parser.add_argument("--max-seconds", type=float, default=20.0, help="cap on each phase")
    parser.add_argument("--postgres", metavar="ADMIN_URL", help="also measure on PostgreSQL")
    args = parser.parse_args()

    from export_memory import postgres_database  # the scratch database of the sibling bench

    with tempfile.TemporaryDirectory(prefix="openfeeder-bench-") as tmp:
        sqlite_dir = Path(tmp) / "sqlite"
        sqlite_dir.mkdir()
        run_backend(f"sqlite:///{sqlite_dir / 'openfeeder.db'}", sqlite_dir, args)
        if args.postgres:
            scratch = "openfeeder_bench_ingest"
            pg_dir = Path(tmp) / "postgresql"
            pg_dir.mkdir()
            url = postgres_database(args.postgres, scratch, create=True)
            try:
                run_backend(url, pg_dir, args)
            finally:
                postgres_database(args.postgres, scratch, create=False)


if __name__ == "__main__":
    main()
