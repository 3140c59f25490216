"""The job queue on its real storages: SQLite in the data directory, Redis shared between
processes; the in-process thread ``serve`` uses, ``openfeeder worker``'s loop in a real
subprocess stopped by a signal, delayed retries and the periodic upkeep."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta

import pytest
from huey import RedisHuey, SqliteHuey

from openfeeder.config import Settings
from openfeeder.domain.clock import FixedClock
from openfeeder.domain.models import Account, ExportRequest
from openfeeder.jobs import JobQueue, make_queue
from openfeeder.jobs.queue import queue_name
from openfeeder.services import exports
from openfeeder.store.db import Database
from tests.services.test_exports import (
    FIRST,
    LAST,
    block_exports_dir,
    claim_as_dead_worker,
    read_file,
)
from tests.support.factories import Builder, Member


@pytest.fixture
def account(account: Account, builder: Builder) -> Account:
    """The member's account, with visits of three companies to export."""
    builder.visits(account, builder.companies(3))
    return account


def with_redis(settings: Settings, redis_url: str) -> Settings:
    return settings.model_copy(update={"redis_url": redis_url})


def request_export(
    db: Database, queue: JobQueue, account: Account, member: Member
) -> ExportRequest:
    return exports.create_export(db, queue, account, member.user, "all_leads", FIRST, LAST)


def wait_until_finished(db: Database, member: Member, export_id: str) -> ExportRequest:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        request = exports.get_export(db, member.user, export_id)
        if request.status != "pending":
            return request
        time.sleep(0.05)
    raise AssertionError(f"export {export_id} still pending after 30s")


def test_the_default_queue_is_sqlite_in_the_data_dir(settings: Settings, db: Database) -> None:
    queue = make_queue(settings, db)
    try:
        assert isinstance(queue.huey, SqliteHuey)
        assert (settings.data_dir / "jobs.db").is_file()  # the directory was created for it
        other = settings.model_copy(update={"database_url": settings.database_url + "?x=1"})
        assert queue_name(settings) != queue_name(other)
        assert queue.pending_count() == 0
    finally:
        queue.stop()


@pytest.mark.redis
def test_a_redis_queue_hands_jobs_to_another_process(
    settings: Settings, db: Database, redis_url: str, account: Account, member: Member
) -> None:
    shared = with_redis(settings, redis_url)
    api_side = make_queue(shared, db)
    # The worker side has its own connections, as an `openfeeder worker` process would.
    worker_db = Database(shared.database_url)
    worker_side = make_queue(shared, worker_db, retry_delay=0)
    try:
        assert isinstance(api_side.huey, RedisHuey)
        request = request_export(db, api_side, account, member)
        assert worker_side.pending_count() == 1
        assert worker_side.run_pending() == 1
        done = exports.get_export(db, member.user, request.id)
        assert len(read_file(settings, done)["data"]) == 3
        assert api_side.pending_count() == 0
    finally:
        api_side.stop()
        worker_side.stop()
        worker_db.dispose()


@pytest.mark.redis
def test_a_redis_queue_retries_and_fails(
    settings: Settings, db: Database, redis_url: str, account: Account, member: Member
) -> None:
    queue = make_queue(with_redis(settings, redis_url), db, retry_delay=0)
    try:
        block_exports_dir(settings)
        request = request_export(db, queue, account, member)
        assert queue.run_pending() == exports.MAX_ATTEMPTS
        failed = exports.get_export(db, member.user, request.id)
        assert (failed.status, failed.attempts) == ("failed", exports.MAX_ATTEMPTS)
    finally:
        queue.stop()


def test_the_in_process_thread_runs_jobs_until_stopped(
    settings: Settings, db: Database, account: Account, member: Member
) -> None:
    queue = make_queue(settings, db)
    queue.start_in_process()
    try:
        queue.start_in_process()  # a second start is a no-op, not a second thread
        request = request_export(db, queue, account, member)
        assert wait_until_finished(db, member, request.id).status == "processed"
    finally:
        queue.stop()
    later = request_export(db, queue, account, member)
    time.sleep(1.5)  # longer than the idle poll: a running loop would have taken it
    assert exports.get_export(db, member.user, later.id).status == "pending"
    assert queue.pending_count() == 1
    queue.close()


def test_a_retry_waits_for_its_delay(
    settings: Settings, db: Database, account: Account, member: Member
) -> None:
    queue = make_queue(settings, db, retry_delay=60)
    try:
        block_exports_dir(settings)
        request = request_export(db, queue, account, member)
        assert queue.run_pending() == 1
        assert (queue.pending_count(), queue.scheduled_count()) == (0, 1)
        waiting = exports.get_export(db, member.user, request.id)
        assert (waiting.status, waiting.attempts) == ("pending", 1)
    finally:
        queue.stop()


def test_upkeep_re_enqueues_dead_jobs_and_purges_old_files(
    settings: Settings, db: Database, account: Account, member: Member
) -> None:
    # The queue's clock drives its upkeep and its jobs: no instant is handed in below.
    clock = FixedClock(datetime.now(UTC))
    queue = make_queue(settings, db, clock=clock)
    try:
        request = request_export(db, queue, account, member)
        queue.huey.storage.flush_queue()  # taken by a worker that then died
        claim_as_dead_worker(db, request.id, 1, clock.now() - timedelta(hours=1))
        assert queue.upkeep() == 1
        assert queue.run_pending() == 1
        done = exports.get_export(db, member.user, request.id)
        assert (done.status, done.attempts) == ("processed", 2)
        assert done.expires_at == clock.now() + timedelta(days=settings.export_ttl_days)
        assert queue.upkeep() == 0  # the file is live
        clock.set(done.expires_at + timedelta(seconds=1))
        assert queue.upkeep() == 1  # the expired file
        assert list((settings.data_dir / "exports").iterdir()) == []
    finally:
        queue.stop()


def worker_process(settings: Settings) -> subprocess.Popen[bytes]:
    """``run_worker`` in a fresh interpreter, configured through the environment only."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENFEEDER_")}
    env["OPENFEEDER_GEOIP_UPDATE_INTERVAL"] = "0"  # no IP database download
    env["OPENFEEDER_DATABASE_URL"] = settings.database_url
    env["OPENFEEDER_DATA_DIR"] = str(settings.data_dir)
    if settings.redis_url:
        env["OPENFEEDER_REDIS_URL"] = settings.redis_url
    code = (
        "from openfeeder.config import Settings\n"
        "from openfeeder.worker import run_worker\n"
        "run_worker(Settings())\n"
    )
    return subprocess.Popen(
        [sys.executable, "-c", code], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )


@pytest.mark.parametrize(
    ("storage", "signum"),
    [
        pytest.param("sqlite", signal.SIGTERM, id="sqlite-queue-SIGTERM"),
        pytest.param("redis", signal.SIGINT, marks=pytest.mark.redis, id="redis-queue-SIGINT"),
    ],
)
def test_a_worker_process_runs_jobs_and_stops_on_a_signal(
    request: pytest.FixtureRequest,
    settings: Settings,
    db: Database,
    account: Account,
    member: Member,
    storage: str,
    signum: signal.Signals,
) -> None:
    if storage == "redis":
        settings = with_redis(settings, request.getfixturevalue("redis_url"))
    queue = make_queue(settings, db)
    worker = worker_process(settings)
    try:
        export = request_export(db, queue, account, member)
        done = wait_until_finished(db, member, export.id)
        assert done.status == "processed", done.error
        assert len(read_file(settings, done)["data"]) == 3
        worker.send_signal(signum)
        _out, err = worker.communicate(timeout=20)
        assert worker.returncode == 0, err.decode()
        assert b"Traceback" not in err, err.decode()
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.communicate()
        queue.stop()
