"""The acknowledgement is a promise: ``openfeeder serve`` is killed with SIGKILL while a load
generator sends hits (and its pipeline turns them into visits), restarted, and every hit that
got a 2xx must be in the store exactly once, and be processed exactly once — on SQLite and on
PostgreSQL."""

from __future__ import annotations

import json
import secrets
import time
from pathlib import Path

import httpx
import sqlalchemy as sa

from openfeeder.config import Settings
from openfeeder.domain.models import Account
from openfeeder.identify.companies import import_companies
from openfeeder.pipeline import make_pipeline
from openfeeder.store import accounts as accounts_store
from openfeeder.store import schema
from openfeeder.store.db import Database
from tests.support.browser import DESKTOP_UA
from tests.support.load import COMPANY_RANGE, KILL_AFTER_ACKS, Load, processing_problems, stored_ids
from tests.support.servers import ServeProcess
from tests.support.tracking import encode, event


def wait_for_processing(db: Database, account: Account, timeout: float = 30.0) -> None:
    hits = schema.hits
    query = sa.select(sa.func.count()).where(
        hits.c.account_id == account.id, hits.c.processed_at.is_not(None)
    )
    deadline = time.monotonic() + timeout
    while True:
        with db.read() as conn:
            if conn.execute(query).scalar_one():
                return
        assert time.monotonic() < deadline, "the server's pipeline processed nothing"
        time.sleep(0.02)


def test_every_acknowledged_hit_survives_sigkill_and_is_processed_once(
    database_url: str, db: Database, tmp_path: Path
) -> None:
    with db.write() as conn:
        account = accounts_store.create_account(
            conn,
            name="Crash test",
            subscription="premium",
            timezone="UTC",
            script_hash=secrets.token_hex(8),
        )
    companies = tmp_path / "companies.jsonl"
    companies.write_text(json.dumps({"id": "acme", "name": "Acme", "ranges": [COMPANY_RANGE]}))
    import_companies(db, companies)
    settings = {
        "OPENFEEDER_DATABASE_URL": database_url,
        "OPENFEEDER_DATA_DIR": str(tmp_path / "data"),
        "OPENFEEDER_RUN_JOBS_IN_PROCESS": "false",
        "OPENFEEDER_TRUSTED_PROXIES": "127.0.0.1/32",
        "OPENFEEDER_REVERSE_DNS": "false",
        # The load comes from one proxy, far faster than any visitor.
        "OPENFEEDER_TRACKER_FLOOD_PER_MINUTE": "10000000",
        "OPENFEEDER_PIPELINE_BATCH_SIZE": "50",  # many small batches: the kill lands in one
        "OPENFEEDER_METRICS_TOKEN": "crash-test-metrics",
    }
    log = tmp_path / "serve.log"
    server = ServeProcess(settings, log).start()
    try:
        runs_pipeline = (
            "openfeeder_pipeline_"
            in httpx.get(
                f"{server.url}/metrics", headers={"Authorization": "Bearer crash-test-metrics"}
            ).text
        )
        load = Load(server.url, account.script_hash).start()
        load.wait_for(KILL_AFTER_ACKS)
        if runs_pipeline:  # kill it while it is turning hits into visits
            wait_for_processing(db, account)
        server.kill()
        load.join()
    finally:
        server.stop()
    assert not load.failures, load.failures[:5]
    in_flight = len(load.sent) - len(load.acked)
    assert in_flight > 0, "the kill came after the load ended: nothing was mid-flight"

    # Restarted on the same store, every acknowledged hit is there, each exactly once.
    restarted = ServeProcess(settings, log).start()
    try:
        stored = stored_ids(db, account)
        missing = set(load.acked) - set(stored)
        assert not missing, f"{len(missing)} of {len(load.acked)} acknowledged hits were lost"
        assert set(stored) <= set(load.sent)
        assert set(stored.values()) == {1}
        # Browsers resend what they are not sure about: an acknowledged hit stays one hit.
        with httpx.Client(base_url=restarted.url, headers={"User-Agent": DESKTOP_UA}) as client:
            for event_id in load.acked[:20]:
                payload = event(scriptId=account.script_hash, clientEventId=event_id)
                sent = client.post(f"/tr?sid={account.script_hash}", content=encode(payload))
                assert sent.is_success
        assert stored_ids(db, account) == stored

        # The pipeline (the restarted server's, and one here, side by side) finishes the
        # hits, each exactly once, the batch the kill interrupted included.
        pipeline = make_pipeline(
            Settings(database_url=database_url, data_dir=tmp_path / "data", reverse_dns=False),
            db,
        )
        try:
            deadline = time.monotonic() + 60
            while processing_problems(db, account) and time.monotonic() < deadline:
                pipeline.run_once()
                time.sleep(0.1)
        finally:
            pipeline.close()
        assert processing_problems(db, account) == []
    finally:
        restarted.stop()
