"""A worker killed with SIGKILL in the middle of deliveries loses no event: once a worker runs
again, every event has reached the receiver at least once, with its own id each time."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa

from openfeeder.config import Settings
from openfeeder.domain.models import Account
from openfeeder.services import alerts
from openfeeder.store import schema as t
from openfeeder.store.db import Database
from tests.alerts.conftest import Receiver
from tests.support.servers import ServeProcess

EVENTS = 12


def delivered(db: Database) -> int:
    with db.read() as conn:
        query = sa.select(sa.func.count()).where(t.alert_deliveries.c.status == "delivered")
        return int(conn.execute(query).scalar_one())


def test_sigkill_during_deliveries_loses_no_event(
    settings: Settings, db: Database, account: Account, receiver: Receiver, tmp_path: Path
) -> None:
    receiver.delay = 0.3  # slow enough that the kill lands while deliveries are under way
    now = datetime.now(UTC)
    made = alerts.create_endpoint(db, account, "webhook", receiver.url, now)
    sent = [
        alerts.send_test_event(db, account, made.endpoint.id, now, "http://x").event_id
        for _ in range(EVENTS)
    ]
    env = {
        "OPENFEEDER_DATABASE_URL": settings.database_url,
        "OPENFEEDER_DATA_DIR": str(tmp_path / "data"),
        "OPENFEEDER_ALERTS_ALLOW_LOOPBACK": "true",
        "OPENFEEDER_ALERTS_TIMEOUT": "5",
        "OPENFEEDER_ALERTS_LEASE_SECONDS": "3",
    }
    first = ServeProcess(env, tmp_path / "worker-1.log", command="worker").start()
    try:
        receiver.wait_for(3, timeout=90)
    except TimeoutError:
        first.stop()
        raise AssertionError((tmp_path / "worker-1.log").read_text()[-3000:]) from None
    first.kill()
    assert delivered(db) < EVENTS, "the worker finished before it was killed"
    second = ServeProcess(env, tmp_path / "worker-2.log", command="worker").start()
    try:
        deadline = time.monotonic() + 60
        while delivered(db) < EVENTS and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        second.stop()
    assert delivered(db) == EVENTS
    assert set(receiver.ids()) == set(sent)  # each at least once, always with its own id
    for request in receiver.requests:
        assert request.headers["webhook-id"].encode() in request.body
