"""Tracker over HTTP against its ceiling: ``POST /tr`` through ``openfeeder serve`` next to a
raw ASGI app that reads the body and answers 204, on the same server software, in one run.

Each server is its own process on a free port of 127.0.0.1 and gets the same beacons (valid
events, as ``navigator.sendBeacon`` sends them) from 16 and 64 keep-alive connections, with
``ingest_throughput.py``'s plain-asyncio load generator. Rows:

- ``ceiling``: the raw ASGI app under uvicorn as ``serve`` runs it (uvloop, httptools,
  no access log, no proxy headers);
- ``openfeeder``: ``openfeeder serve`` of this tree (pipeline and jobs off) on SQLite and,
  with ``--postgres``, on a scratch PostgreSQL database; with ``--access-log``, on SQLite
  with ``OPENFEEDER_ACCESS_LOG=true``;
- ``before``: with ``--baseline REV``, ``openfeeder serve`` of that commit's ``src/``
  (extracted with ``git archive``, run by the same interpreter), to compare in one run;
- with ``--granian`` (when granian is installed), the ceiling and openfeeder under granian.

All servers run at once and the rows take turns: each round sends every row, in table order,
one burst of ``--hits`` new beacons at 16 connections, then at 64; ``--rounds`` rounds. A row's
rate is the median over its bursts and its ratio the median of each round's ratio to the
ceiling's burst of the same round, measured seconds apart — on a shared machine whose load
drifts over minutes, rows measured one after another compare the load, not the code.

The first ratio column is hits/s over the ceiling of the same server at the same connections;
"CPU µs" is the server process's (and its children's) CPU time per acknowledged hit, from
``/proc``, and the second ratio the ceiling's over the row's: the share of the ceiling's rate
the row would reach were both given the same CPU, which the machine's load does not move;
"acked, not stored" counts the hits answered 204 that the store does not hold afterwards
(every beacon is a new event, so it must be 0).
Every acknowledged hit is committed durably (``fsync``) before its answer; with
``--data-dir /dev/shm`` the flush costs nothing, which isolates the request path's CPU from
the disk's latency (on a shared VM an ``fsync`` ranges from 0.1 to 6+ ms).

    .venv/bin/python bench/tracker_http.py
    .venv/bin/python bench/tracker_http.py --baseline a02240c --granian
    .venv/bin/python bench/tracker_http.py --data-dir /dev/shm --granian \\
        --postgres postgresql://postgres@127.0.0.1:5432/test
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import io
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

CONNECTIONS = (16, 64)


async def raw_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """The ceiling: what any ASGI app must do for a beacon (read the body, answer 204)."""
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    more = True
    while more:
        message = await receive()
        more = message.get("more_body", False)
    await send({"type": "http.response.start", "status": 204, "headers": []})
    await send({"type": "http.response.body", "body": b""})


def openfeeder_app() -> Any:
    """``openfeeder serve``'s application, for servers other than uvicorn (granian)."""
    from openfeeder.app import create_app
    from openfeeder.config import Settings
    from openfeeder.store.db import Database

    settings = Settings()
    db = Database(settings.database_url)
    db.migrate()
    db.dispose()
    app = create_app(settings)
    gc.freeze()
    return app


def serve(what: str, port: int) -> None:
    """Run one of the servers in this process (the parent starts it as a child)."""
    if what == "uvicorn-raw":
        import uvicorn

        uvicorn.run(raw_app, host="127.0.0.1", port=port, proxy_headers=False, access_log=False)
    elif what == "granian-raw":
        granian(f"{Path(__file__).stem}:raw_app", port, factory=False)
    else:
        granian(f"{Path(__file__).stem}:openfeeder_app", port, factory=True)


def granian(target: str, port: int, *, factory: bool) -> None:
    command = [
        str(Path(sys.executable).with_name("granian")),
        "--interface",
        "asgi",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        "1",
        "--loop",
        "uvloop",
        "--no-ws",
        *(["--factory"] if factory else []),
        target,
    ]
    os.chdir(ROOT / "bench")
    os.execv(command[0], command)  # noqa: S606 - the bench's own server, no shell involved


class Server:
    """A server process on a free port, up once it answers."""

    def __init__(self, command: list[str], env: Mapping[str, str], log: Path) -> None:
        from tests.support.servers import free_port

        self.port = free_port()
        self.command = [*command, str(self.port)] if command[-1] == "--port" else command
        self.env = dict(env)
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, up_path: str = "/") -> Server:
        from tests.support.servers import wait_until_up

        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                self.command, env=self.env, stdout=log, stderr=subprocess.STDOUT
            )
        wait_until_up(f"http://127.0.0.1:{self.port}{up_path}", process=self.process)
        return self

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(15)


def openfeeder_env(database_url: str, data_dir: Path, port: int) -> dict[str, str]:
    inherited = {k: v for k, v in os.environ.items() if not k.startswith("OPENFEEDER_")}
    return inherited | {
        "OPENFEEDER_DATABASE_URL": database_url,
        "OPENFEEDER_DATA_DIR": str(data_dir),
        "OPENFEEDER_PIPELINE_IN_PROCESS": "false",
        "OPENFEEDER_RUN_JOBS_IN_PROCESS": "false",
        "OPENFEEDER_TRACKER_FLOOD_PER_MINUTE": str(10**9),
        "OPENFEEDER_PORT": str(port),
    }


def extract_src(revision: str, into: Path) -> Path:
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", revision, "src"], check=True, capture_output=True
    ).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")
    return into / "src"


def tree_cpu(pid: int) -> float:
    """CPU seconds of a process's threads and its descendants' (granian's worker), from
    ``/proc/<tid>/schedstat`` (nanoseconds, where ``stat`` counts 10 ms ticks)."""
    total = 0
    pending = [pid]
    while pending:
        current = pending.pop()
        try:
            for task in Path(f"/proc/{current}/task").iterdir():
                total += int((task / "schedstat").read_text().split()[0])
                pending += [int(c) for c in (task / "children").read_text().split()]
        except (FileNotFoundError, ProcessLookupError):
            continue
    return total / 1e9


def burst(
    server: Server, script_hash: str, hits: int, clients: int, max_seconds: float
) -> tuple[float, int, float]:
    """One burst of new beacons from ``clients`` connections: hits/s, how many were
    acknowledged, and the server's CPU seconds per acknowledged hit."""
    from ingest_throughput import beacon, send_all

    assert server.process is not None
    requests = [beacon(server.port, script_hash) for _ in range(hits)]
    cpu = tree_cpu(server.process.pid)
    seconds, latencies, errors = asyncio.run(send_all(server.port, requests, clients, max_seconds))
    cpu = tree_cpu(server.process.pid) - cpu
    if errors:
        print(f"  ({server.port}, {clients} connections) errors: {errors}")
    acked = len(latencies)
    return acked / seconds, acked, cpu / max(acked, 1)


def commit_ms(database_url: str, account_id: int, commits: int = 40) -> float:
    """The median time of one durable commit of one hit: what a group commit waits for at
    least, so 16 connections get at most 16 hits per commit time."""
    from ingest_throughput import incoming

    from openfeeder.ingest.append import hit_row
    from openfeeder.store import hits as store
    from openfeeder.store.db import Database

    db = Database(database_url)
    times = []
    try:
        for hit in incoming(account_id, commits):
            started = time.perf_counter()
            with store.durable_write(db) as conn:
                store.insert_hits(conn, [hit_row(hit)])
            times.append(time.perf_counter() - started)
    finally:
        db.dispose()
    return statistics.median(times) * 1000


def stored_hits(database_url: str) -> int:
    from openfeeder.store.db import Database

    db = Database(database_url)
    try:
        with db.engine.connect() as conn:
            return int(conn.exec_driver_sql("SELECT count(*) FROM hits").scalar_one())
    finally:
        db.dispose()


def main() -> None:  # noqa: PLR0915 - one run, read top to bottom
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hits", type=int, default=1_000, help="beacons per burst")
    parser.add_argument("--max-seconds", type=float, default=20.0, help="cap on each row")
    parser.add_argument("--baseline", metavar="REV", help="also measure serve of this commit")
    parser.add_argument("--granian", action="store_true", help="also measure under granian")
    parser.add_argument(
        "--data-dir", help="where the SQLite file goes (/dev/shm: fsync costs nothing)"
    )
    parser.add_argument("--rounds", type=int, default=7, help="bursts per row (median kept)")
    parser.add_argument("--postgres", metavar="ADMIN_URL", help="also openfeeder on PostgreSQL")
    parser.add_argument("--access-log", action="store_true", help="also with the access log on")
    parser.add_argument(
        "--serve",
        choices=("uvicorn-raw", "granian-raw", "granian-openfeeder"),
        help=argparse.SUPPRESS,
    )
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.port)
        return

    from export_memory import postgres_database  # the scratch database of the sibling bench
    from ingest_throughput import WARM_UP, create_store

    python = sys.executable
    this = str(Path(__file__).resolve())
    scratch = "openfeeder_bench_tracker_http"
    with tempfile.TemporaryDirectory(prefix="openfeeder-bench-", dir=args.data_dir) as tmp:
        data_dir = Path(tmp)
        stores = {"SQLite": f"sqlite:///{data_dir / 'openfeeder.db'}"}
        if args.postgres:
            stores["PostgreSQL"] = postgres_database(args.postgres, scratch, create=True)
        script_hash = ""
        commit_times = {}
        for store, url in stores.items():
            db, account = create_store(url)
            db.dispose()
            commit_times[store] = commit_ms(url, account.id)
            script_hash = script_hash or account.script_hash
            if account.script_hash != script_hash:  # one hash for every store: the same beacons
                with db.write() as conn:
                    conn.exec_driver_sql(
                        "UPDATE accounts SET script_hash = ? WHERE id = ?"
                        if url.startswith("sqlite")
                        else "UPDATE accounts SET script_hash = %s WHERE id = %s",
                        (script_hash, account.id),
                    )
                db.dispose()
        log = data_dir / "servers.log"
        plain = {k: v for k, v in os.environ.items() if not k.startswith("OPENFEEDER_")}

        def openfeeder(database_url: str, src: Path | None = None) -> Server:
            server = Server([str(Path(python).with_name("openfeeder")), "serve"], {}, log)
            server.env = openfeeder_env(database_url, data_dir, server.port)
            if src is not None:
                server.env["PYTHONPATH"] = str(src)
            return server

        def own(what: str, env: Mapping[str, str]) -> Server:
            return Server([python, this, "--serve", what, "--port"], env, log)

        # name → (server software, server, the store it writes to or None)
        rows: dict[str, tuple[str, Server, str | None]] = {
            "uvicorn ceiling": ("uvicorn", own("uvicorn-raw", plain), None)
        }
        if args.baseline:
            src = extract_src(args.baseline, data_dir / "baseline")
            rows[f"uvicorn openfeeder {args.baseline} SQLite (before)"] = (
                "uvicorn",
                openfeeder(stores["SQLite"], src),
                stores["SQLite"],
            )
        for store, url in stores.items():
            rows[f"uvicorn openfeeder {store}"] = ("uvicorn", openfeeder(url), url)
        if args.access_log:
            logged = openfeeder(stores["SQLite"])
            logged.env["OPENFEEDER_ACCESS_LOG"] = "true"
            rows["uvicorn openfeeder SQLite, access log"] = ("uvicorn", logged, stores["SQLite"])
        if args.granian:
            rows["granian ceiling"] = ("granian", own("granian-raw", plain), None)
            for store, url in stores.items():
                server = own("granian-openfeeder", {})
                server.env = openfeeder_env(url, data_dir, server.port)
                rows[f"granian openfeeder {store}"] = ("granian", server, url)
        # rates[name][connections]: one hits/s per round. Every server runs throughout and
        # the rows take turns, a short burst each, so each round's ratio compares rates
        # measured seconds apart (the machine's load drifts over minutes).
        rates: dict[str, dict[int, list[float]]] = {
            name: {c: [] for c in CONNECTIONS} for name in rows
        }
        cpu: dict[str, dict[int, list[float]]] = {
            name: {c: [] for c in CONNECTIONS} for name in rows
        }
        acknowledged: dict[str, int] = dict.fromkeys(stores.values(), 0)
        before = {url: stored_hits(url) for url in stores.values()}
        try:
            for _kind, server, _url in rows.values():
                server.start()
            for _kind, server, url in rows.values():
                for clients in CONNECTIONS:
                    _rate, acked, _cpu = burst(
                        server, script_hash, WARM_UP, clients, args.max_seconds
                    )
                    if url:
                        acknowledged[url] += acked
            for _ in range(args.rounds):
                for clients in CONNECTIONS:
                    for name, (_kind, server, url) in rows.items():
                        rate, acked, per_hit = burst(
                            server, script_hash, args.hits, clients, args.max_seconds
                        )
                        rates[name][clients].append(rate)
                        cpu[name][clients].append(per_hit)
                        if url:
                            acknowledged[url] += acked
        finally:
            for _kind, server, _url in rows.values():
                server.stop()
        # Every beacon is a new event: each acknowledged one must be in its store.
        lost = {
            store: acknowledged[url] - (stored_hits(url) - before[url])
            for store, url in stores.items()
        }
        if args.postgres:
            postgres_database(args.postgres, scratch, create=False)
        print(
            f"\nPOST /tr, {args.rounds} rounds of {args.hits:,} beacons per row and connection "
            "count; medians of the rounds (ratio: of each round's pair)"
        )
        for store, ms in commit_times.items():
            print(f"one durable commit of one hit, {store}: {ms:.2f} ms (median)")
        for store in stores:
            print(f"acknowledged but not stored, {store}: {lost[store]}")
        header = "".join(
            f"{f'{c} conn/s':>12}{'ratio':>7}{'CPU µs':>8}{'ratio':>7}" for c in CONNECTIONS
        )
        print(f"{'server':<48}{header}")
        for name, (kind, _server, _url) in rows.items():
            top = f"{kind} ceiling"
            cells = ""
            for c in CONNECTIONS:
                ratios = [r / t for r, t in zip(rates[name][c], rates[top][c], strict=True)]
                us = statistics.median(cpu[name][c]) * 1e6
                cpu_ratio = statistics.median(cpu[top][c]) * 1e6 / us
                cells += (
                    f"{statistics.median(rates[name][c]):>12,.0f}{statistics.median(ratios):>7.2f}"
                )
                cells += f"{us:>8.0f}{cpu_ratio:>7.2f}"
            print(f"{name:<48}{cells}")


if __name__ == "__main__":
    main()
