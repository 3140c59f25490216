"""Tracker over HTTP against its ceiling: ``POST /tr`` through ``openfeeder serve`` next to a
raw ASGI app that reads the body and answers 204, on the same server software, in one run.

Each server is its own process on a free port of 127.0.0.1 and gets the same beacons (valid
events, as ``navigator.sendBeacon`` sends them) from 16 and 64 keep-alive connections, with
``ingest_throughput.py``'s plain-asyncio load generator. Rows:

- ``ceiling``: the raw ASGI app under uvicorn as ``serve`` runs it (uvloop, httptools,
  no access log, no proxy headers);
- ``openfeeder``: ``openfeeder serve`` of this tree (SQLite, pipeline and jobs off), and
  the same with ``OPENFEEDER_ACCESS_LOG=true``;
- ``before``: with ``--baseline REV``, ``openfeeder serve`` of that commit's ``src/``
  (extracted with ``git archive``, run by the same interpreter), to compare in one run;
- with ``--granian`` (when granian is installed), the ceiling and openfeeder under granian.

The ratio column is hits/s over the ceiling of the same server at the same connections.
Every acknowledged hit is committed durably (``fsync``) before its answer; with
``--data-dir /dev/shm`` the flush costs nothing, which isolates the request path's CPU from
the disk's latency (on a shared VM an ``fsync`` ranges from 0.1 to 6+ ms).

    .venv/bin/python bench/tracker_http.py
    .venv/bin/python bench/tracker_http.py --baseline a02240c --granian
    .venv/bin/python bench/tracker_http.py --raw-server uvicorn --port 8123   # the ceiling alone
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import io
import os
import subprocess
import sys
import tarfile
import tempfile
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


def measure(port: int, script_hash: str, hits: int, max_seconds: float) -> dict[int, float]:
    from ingest_throughput import WARM_UP, beacon, send_all

    rates = {}
    for clients in CONNECTIONS:
        requests = [beacon(port, script_hash) for _ in range(WARM_UP + hits)]
        asyncio.run(send_all(port, requests[:WARM_UP], clients, max_seconds))
        seconds, latencies, errors = asyncio.run(
            send_all(port, requests[WARM_UP:], clients, max_seconds)
        )
        if errors:
            print(f"  ({port}, {clients} connections) errors: {errors}")
        rates[clients] = len(latencies) / seconds
    return rates


def main() -> None:  # noqa: PLR0915 - one run, read top to bottom
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hits", type=int, default=5_000, help="requests per row")
    parser.add_argument("--max-seconds", type=float, default=20.0, help="cap on each row")
    parser.add_argument("--baseline", metavar="REV", help="also measure serve of this commit")
    parser.add_argument("--granian", action="store_true", help="also measure under granian")
    parser.add_argument(
        "--data-dir", help="where the SQLite file goes (/dev/shm: fsync costs nothing)"
    )
    parser.add_argument("--rounds", type=int, default=1, help="repeat the rows, best kept")
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

    from ingest_throughput import create_store

    python = sys.executable
    this = str(Path(__file__).resolve())
    with tempfile.TemporaryDirectory(prefix="openfeeder-bench-", dir=args.data_dir) as tmp:
        data_dir = Path(tmp)
        database_url = f"sqlite:///{data_dir / 'openfeeder.db'}"
        db, account = create_store(database_url)
        db.dispose()
        log = data_dir / "servers.log"
        plain = {k: v for k, v in os.environ.items() if not k.startswith("OPENFEEDER_")}

        def openfeeder(src: Path | None) -> Server:
            server = Server([str(Path(python).with_name("openfeeder")), "serve"], {}, log)
            server.env = openfeeder_env(database_url, data_dir, server.port)
            if src is not None:
                server.env["PYTHONPATH"] = str(src)
            return server

        def own(what: str, env: Mapping[str, str]) -> Server:
            return Server([python, this, "--serve", what, "--port"], env, log)

        rows: dict[str, tuple[str, Server]] = {
            "uvicorn ceiling": ("uvicorn", own("uvicorn-raw", plain))
        }
        if args.baseline:
            src = extract_src(args.baseline, data_dir / "baseline")
            rows[f"uvicorn openfeeder {args.baseline} (before)"] = ("uvicorn", openfeeder(src))
        rows["uvicorn openfeeder (this tree)"] = ("uvicorn", openfeeder(None))
        logged = openfeeder(None)
        logged.env["OPENFEEDER_ACCESS_LOG"] = "true"
        rows["uvicorn openfeeder (this tree, access log)"] = ("uvicorn", logged)
        if args.granian:
            rows["granian ceiling"] = ("granian", own("granian-raw", plain))
            server = own("granian-openfeeder", {})
            server.env = openfeeder_env(database_url, data_dir, server.port)
            rows["granian openfeeder (this tree)"] = ("granian", server)
        best: dict[str, dict[int, float]] = {}
        for _ in range(args.rounds):
            for name, (_kind, server) in rows.items():
                server.start()
                try:
                    rates = measure(server.port, account.script_hash, args.hits, args.max_seconds)
                finally:
                    server.stop()
                previous = best.get(name, {})
                best[name] = {c: max(r, previous.get(c, 0.0)) for c, r in rates.items()}
        print(f"\nPOST /tr, {args.hits:,} beacons per row, best of {args.rounds} round(s)")
        print(f"{'server':<48}" + "".join(f"{f'{c} conn/s':>12}{'ratio':>7}" for c in CONNECTIONS))
        for name, (kind, _server) in rows.items():
            ceiling = best[f"{kind} ceiling"]
            cells = "".join(
                f"{best[name][c]:>12,.0f}{best[name][c] / ceiling[c]:>7.2f}" for c in CONNECTIONS
            )
            print(f"{name:<48}{cells}")


if __name__ == "__main__":
    main()
