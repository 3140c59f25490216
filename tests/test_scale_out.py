"""Scale-out, for real: two ``openfeeder serve`` processes and two ``openfeeder worker``
processes on one PostgreSQL and one Redis. A bounded load of tracker hits goes through both
servers while one worker is killed with SIGKILL and later restarted; then every acknowledged
hit is stored once and processed once, the API's rate limit is one limit across both
servers, and an export requested while a worker is dead is written by the one alive."""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from openfeeder.identify.companies import import_companies
from openfeeder.store.db import Database
from tests.support.browser import DESKTOP_UA
from tests.support.clients import auth
from tests.support.factories import Builder
from tests.support.load import processing_problems, stored_ids
from tests.support.servers import ServeProcess, drop_postgres_database, fresh_postgres_database
from tests.support.tracking import encode, event

pytestmark = [pytest.mark.postgres, pytest.mark.redis]

VISITORS = 12  # each from its own address in the company's network
PAGES = 40  # per visitor, alternating between the two servers
KILL_AFTER_ACKS = VISITORS * PAGES // 3


@pytest.fixture
def store_url(redis_url: str) -> Iterator[str]:
    url = fresh_postgres_database(f"openfeeder_scale_out_{os.getpid()}")
    db = Database(url)
    db.migrate()
    db.dispose()
    yield url
    drop_postgres_database(url)


def _send(
    urls: list[str], script_hash: str, visitor: int, acked: list[str], lock: threading.Lock
) -> None:
    headers = {"User-Agent": DESKTOP_UA, "X-Forwarded-For": f"203.0.113.{visitor + 1}"}
    client_id = event()["lfClientId"]
    clients = [httpx.Client(base_url=url, headers=headers, timeout=10.0) for url in urls]
    try:
        for page in range(PAGES):
            payload = event(
                scriptId=script_hash,
                lfClientId=client_id,
                context={"pageUrl": f"https://www.example.com/p{page}", "pageTitle": f"P{page}"},
            )
            response = clients[(visitor + page) % 2].post(
                f"/tr?sid={script_hash}", content=encode(payload)
            )
            assert response.status_code == 204, response.text
            with lock:
                acked.append(payload["clientEventId"])
    finally:
        for client in clients:
            client.close()


def _wait(condition: object, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, what
        time.sleep(0.1)


def _start_of_a_fresh_minute() -> None:
    """The limits are fixed UTC-minute windows: start the count well inside one."""
    if datetime.now(UTC).second > 40:
        time.sleep(61 - datetime.now(UTC).second)


def test_two_servers_and_two_workers_share_the_work(
    store_url: str, redis_url: str, tmp_path: Path
) -> None:
    db = Database(store_url)
    builder = Builder(db)
    member, limited = builder.user(), builder.user()
    account = builder.account(member, limited)
    companies = tmp_path / "companies.jsonl"
    companies.write_text(json.dumps({"id": "acme", "name": "Acme", "ranges": ["203.0.113.0/24"]}))
    import_companies(db, companies)
    inherited = {k: v for k, v in os.environ.items() if not k.startswith("OPENFEEDER_")}
    env = inherited | {
        "OPENFEEDER_DATABASE_URL": store_url,
        "OPENFEEDER_REDIS_URL": redis_url,
        "OPENFEEDER_DATA_DIR": str(tmp_path / "data"),  # shared, as docs/scaling.md says
        "OPENFEEDER_PIPELINE_IN_PROCESS": "false",
        "OPENFEEDER_RUN_JOBS_IN_PROCESS": "false",
        "OPENFEEDER_TRUSTED_PROXIES": "127.0.0.1/32",
        "OPENFEEDER_REVERSE_DNS": "false",
        "OPENFEEDER_TRACKER_FLOOD_PER_MINUTE": "10000000",
        "OPENFEEDER_PIPELINE_BATCH_SIZE": "20",  # many small batches: the kill lands in one
    }
    servers = [ServeProcess(env, tmp_path / f"serve-{n}.log") for n in range(2)]
    workers = [ServeProcess(env, tmp_path / f"worker-{n}.log", "worker") for n in range(2)]
    restarted: ServeProcess | None = None
    try:
        for server in servers:
            server.start()
        for worker in workers:
            worker.start()
        urls = [server.url for server in servers]

        acked: list[str] = []
        lock = threading.Lock()
        threads = [
            threading.Thread(target=_send, args=(urls, account.script_hash, n, acked, lock))
            for n in range(VISITORS)
        ]
        for thread in threads:
            thread.start()
        _wait(lambda: len(acked) >= KILL_AFTER_ACKS, 60, "the load did not get going")
        workers[0].kill()  # mid-load, most likely mid-batch: its transaction never commits

        # An export asked for while one worker is dead is written by the other.
        created = httpx.post(
            f"{urls[0]}/export-requests",
            json={
                "account_id": str(account.id),
                "custom_feed_id": "all_leads",
                "start_date": "2026-01-01",
                "end_date": "2026-12-31",
            },
            headers=auth(member.token),
        )
        assert created.status_code == 201, created.text
        status_url = f"{urls[1]}/export-requests/{created.json()['data']['id']}"

        def export_done() -> bool:
            answer = httpx.get(status_url, headers=auth(member.token)).json()
            return bool(answer["data"]["attributes"]["status"] == "processed")

        _wait(export_done, 60, "the live worker did not write the export")

        for thread in threads:
            thread.join(60)
            assert not thread.is_alive()
        restarted = ServeProcess(env, tmp_path / "worker-0.log", "worker").start()

        # Every acknowledged hit is stored once and, across the kill, processed once.
        stored = stored_ids(db, account)
        assert len(acked) == VISITORS * PAGES
        assert set(stored) == set(acked)
        assert set(stored.values()) == {1}
        _wait(lambda: not processing_problems(db, account), 90, "hits left unprocessed")
        assert processing_problems(db, account) == []

        # One rate limit across both servers: exactly 100 requests a minute for a token.
        _start_of_a_fresh_minute()
        answers = [
            httpx.get(f"{urls[n % 2]}/accounts", headers=auth(limited.token)).status_code
            for n in range(101)
        ]
        assert answers[:100] == [200] * 100
        assert answers[100] == 429
    finally:
        for process in (*workers, *([restarted] if restarted else []), *servers):
            process.stop()
        db.dispose()
