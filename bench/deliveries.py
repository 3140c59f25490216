"""Alert deliveries per second to a local receiver, against a ceiling measured side by side.

A receiver on 127.0.0.1 (the standard library's threading HTTP server answering 204) takes
``--events`` test events of one webhook endpoint. Deliveries: ``Deliverer.run_once()`` from
the outbox until none is due, each one claimed with a lease, signed, POSTed through the
SSRF-checked client (a new connection each, to the vetted address) and recorded (attempt
row, delivery row) — its wall time gives deliveries/s.

Ceiling, defined precisely: the same number of POSTs of the same signed body, headers and
size to the same receiver, by a plain ``httpx.Client`` with keep-alive off (a new connection
each, as the deliveries make), one after another, no store. Ratio = deliveries/s ÷ ceiling
POSTs/s; the difference is the outbox (claim, attempt, outcome: two write transactions per
delivery plus a claim per ``claim_size`` deliveries), signing and the address check.

    .venv/bin/python bench/deliveries.py --backends sqlite postgresql --events 500
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self.send_response(204)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        return


def store_url(backend: str, tmp: Path, number: int) -> str:
    if backend == "sqlite":
        return f"sqlite:///{tmp / f'deliveries-{number}.db'}"
    from tests.support.servers import fresh_postgres_database

    return fresh_postgres_database(f"bench_deliveries_{number}")


def one_round(backend: str, tmp: Path, number: int, events: int, url: str) -> tuple[float, float]:
    """(seconds of the deliveries, seconds of the ceiling's POSTs)."""
    import httpx
    from tests.support.factories import Builder

    from openfeeder.config import Settings
    from openfeeder.services import alerts
    from openfeeder.services.alerts.channels import webhook_request
    from openfeeder.store.db import Database

    database = store_url(backend, tmp, number)
    db = Database(database)
    db.migrate()
    account = Builder(db).account()
    now = datetime.now(UTC)
    made = alerts.create_endpoint(db, account, "webhook", url, now)
    for _ in range(events):
        alerts.send_test_event(db, account, made.endpoint.id, now, "http://127.0.0.1")
    settings = Settings(database_url=database, data_dir=tmp, alerts_allow_loopback=True)
    deliverer = alerts.Deliverer(settings, db)
    started = time.perf_counter()
    done = deliverer.run_once()
    seconds = time.perf_counter() - started
    deliverer.close()
    if done != events:
        raise SystemExit(f"{backend}: {done} of {events} delivered")
    (sample,) = alerts.list_deliveries(db, account, limit=1)
    _, attempts = alerts.delivery_log(db, account, sample.id)
    body = attempts[0].request_body.encode()
    outgoing = webhook_request(made.endpoint, {"id": sample.event_id}, int(now.timestamp()))
    headers = outgoing.headers
    client = httpx.Client(trust_env=False, limits=httpx.Limits(max_keepalive_connections=0))
    started = time.perf_counter()
    for _ in range(events):
        client.post(url, content=body, headers=headers).raise_for_status()
    ceiling = time.perf_counter() - started
    client.close()
    db.dispose()
    if backend == "postgresql":
        from tests.support.servers import drop_postgres_database

        drop_postgres_database(database)
    return seconds, ceiling


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--backends", nargs="+", default=["sqlite", "postgresql"])
    args = parser.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/in"
    print("| backend | events | rounds | deliveries/s | ceiling POSTs/s | ratio |")
    print("|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory(prefix="bench-deliveries-") as tmp:
        number = 0
        for backend in args.backends:
            rounds = []
            for _ in range(args.rounds):
                number += 1
                rounds.append(one_round(backend, Path(tmp), number, args.events, url))
            seconds = statistics.median(r[0] for r in rounds)
            ceiling = statistics.median(r[1] for r in rounds)
            ratio = statistics.median(r[1] / r[0] for r in rounds)
            print(
                f"| {backend} | {args.events} | {args.rounds} | {args.events / seconds:,.0f} "
                f"| {args.events / ceiling:,.0f} | {ratio:.2f} |"
            )
    server.shutdown()


if __name__ == "__main__":
    main()
