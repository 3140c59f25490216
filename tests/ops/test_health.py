"""``/healthz`` and ``/readyz`` (app/operations.py, services/operations.py) on both backends:
alive without the store; ready only while the store is reachable and at head, the configured
IP databases are open and the pipeline keeps up (a test clock moves time on). Neither is
rate-limited nor in the OpenAPI document; the metrics ``/metrics`` adds are shown, alert
deliveries that fail against a receiver that is down among them."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from prometheus_client.parser import text_string_to_metric_families
from starlette.testclient import TestClient

from openfeeder.api.openapi import openapi_document
from openfeeder.app import routes
from openfeeder.config import Settings
from openfeeder.domain.alerts import RETRY_DELAYS
from openfeeder.domain.clock import SYSTEM_CLOCK, FixedClock
from openfeeder.domain.models import Account
from openfeeder.identify import databases
from openfeeder.pipeline import make_pipeline
from openfeeder.services import alerts
from openfeeder.store import revision
from openfeeder.store.db import Database
from tests.support.clients import auth, build_app
from tests.support.downloads import asn_database
from tests.support.servers import drop_postgres_database, free_port, fresh_postgres_database
from tests.support.tracking import encode, event

TOKEN = "operator-secret"


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(SYSTEM_CLOCK.now())


@pytest.fixture
def client(settings: Settings, clock: FixedClock) -> Iterator[TestClient]:
    changes = {"metrics_token": TOKEN, "run_jobs_in_process": False}
    app = build_app(settings.model_copy(update=changes), clock=clock)
    with TestClient(app) as client:
        yield client


def checks(response: Any) -> dict[str, dict[str, Any]]:
    body = response.json()
    assert body["status"] == ("ready" if response.status_code == 200 else "unready")
    return {check["name"]: check for check in body["checks"]}


def failing(response: Any) -> dict[str, str]:
    return {name: c["detail"] for name, c in checks(response).items() if not c["ok"]}


def track(client: TestClient, account: Account) -> None:
    hit = client.get("/tr", params={"sid": account.script_hash, "data": encode(event())})
    assert hit.status_code == 200, hit.text


def test_healthz_is_alive_without_the_store(tmp_path: Path) -> None:
    settings = Settings(
        database_url="postgresql://nobody@127.0.0.1:1/none",
        data_dir=tmp_path / "data",
        pipeline_in_process=False,
        run_jobs_in_process=False,
    )
    with TestClient(build_app(settings)) as client:
        alive = client.get("/healthz")
        assert (alive.status_code, alive.text) == (200, "ok\n")
        assert alive.headers["cache-control"] == "no-store"
        down = client.get("/readyz")
    assert down.status_code == 503
    assert failing(down)["database"].startswith("unreachable: ")
    assert set(failing(down)) == {"database", "schema", "pipeline"}


def test_ready_on_a_fresh_store(client: TestClient) -> None:
    ready = client.get("/readyz")
    assert ready.status_code == 200, ready.text
    assert ready.headers["cache-control"] == "no-store"
    found = checks(ready)
    assert list(found) == ["database", "schema", "pipeline", "ip_databases"]
    assert all(check["ok"] for check in found.values())
    assert found["pipeline"]["detail"] == "no hit waiting"
    assert found["ip_databases"]["detail"] == "none configured"


def migrated(url: str) -> str:
    db = Database(url)
    try:
        db.migrate()
    finally:
        db.dispose()
    return url


def test_unready_when_the_sqlite_file_is_gone(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    url = migrated(f"sqlite:///{path}")
    settings = Settings(database_url=url, data_dir=tmp_path / "data", pipeline_in_process=False)
    with TestClient(build_app(settings)) as client:
        assert client.get("/readyz").status_code == 200
        for name in (path.name, f"{path.name}-wal", f"{path.name}-shm"):
            path.with_name(name).unlink(missing_ok=True)
        gone = client.get("/readyz")
        assert gone.status_code == 503
        assert failing(gone)["database"] == f"the SQLite file {path} does not exist"
        assert client.get("/healthz").status_code == 200
    assert not path.exists(), "readiness must not create the store again"


@pytest.mark.postgres
def test_unready_when_the_postgresql_database_is_dropped(tmp_path: Path) -> None:
    url = migrated(fresh_postgres_database(f"openfeeder_ready_{os.getpid()}"))
    settings = Settings(database_url=url, data_dir=tmp_path / "data", pipeline_in_process=False)
    try:
        with TestClient(build_app(settings)) as client:
            assert client.get("/readyz").status_code == 200
            drop_postgres_database(url)  # WITH (FORCE): the pool's connections are cut
            gone = client.get("/readyz")
            assert gone.status_code == 503
            assert failing(gone)["database"].startswith("unreachable: ")
            assert client.get("/healthz").status_code == 200
    finally:
        drop_postgres_database(url)


def test_unready_on_a_store_never_migrated(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    settings = Settings(database_url=url, data_dir=tmp_path / "data", pipeline_in_process=False)
    with TestClient(build_app(settings)) as client:
        empty = client.get("/readyz")
    assert empty.status_code == 503
    assert failing(empty) == {
        "schema": f"at none, this build needs {revision.head()}",
        "pipeline": "not checked: the schema is not this build's",
    }


def test_unready_while_the_pipeline_lags(
    settings: Settings, db: Database, client: TestClient, clock: FixedClock, account: Account
) -> None:
    track(client, account)
    waiting = checks(client.get("/readyz"))["pipeline"]
    assert waiting["ok"]
    assert waiting["detail"].startswith("the oldest waiting hit has waited ")
    clock.set(clock.now() + timedelta(seconds=settings.ready_max_pipeline_lag + 60))
    lagging = client.get("/readyz")
    assert lagging.status_code == 503
    assert set(failing(lagging)) == {"pipeline"}
    assert failing(lagging)["pipeline"].endswith(f"(limit {settings.ready_max_pipeline_lag:g} s)")
    pipeline = make_pipeline(settings.model_copy(update={"reverse_dns": False}), db)
    try:
        pipeline.run_once()
    finally:
        pipeline.close()
    caught_up = client.get("/readyz")
    assert caught_up.status_code == 200, caught_up.text
    assert checks(caught_up)["pipeline"]["detail"] == "no hit waiting"


def test_the_lag_check_can_be_off(make_client: Any, clock: FixedClock, account: Account) -> None:
    client = make_client(ready_max_pipeline_lag=0)
    track(client, account)
    found = checks(client.get("/readyz"))["pipeline"]
    assert found == {
        "name": "pipeline",
        "ok": True,
        "detail": "not checked: OPENFEEDER_READY_MAX_PIPELINE_LAG=0",
    }


def test_unready_on_a_schema_behind_this_build(db: Database, client: TestClient) -> None:
    def stamp(version: str) -> None:
        with db.write() as conn:
            conn.execute(sa.text("UPDATE alembic_version SET version_num = :v"), {"v": version})

    try:
        stamp("0009")
        behind = client.get("/readyz")
        assert behind.status_code == 503
        assert failing(behind)["schema"].startswith("at 0009, this build needs ")
        stamp("9999")
        assert failing(client.get("/readyz"))["schema"].endswith("(migrated by a newer openfeeder)")
    finally:
        stamp(revision.head())  # the PostgreSQL store is the session's


def test_configured_ip_databases_must_be_loaded(settings: Settings, make_client: Any) -> None:
    explicit = asn_database(settings.data_dir / "asn.mmdb", "Example Oy")
    loaded = checks(make_client(asn_mmdb=explicit).get("/readyz"))["ip_databases"]
    assert loaded == {"name": "ip_databases", "ok": True, "detail": "loaded: asn"}
    # A downloaded file that appears after start-up is configured; until the process reopens
    # it (within the hour, reloading.CHECK_SECONDS) lookups do not use it.
    client = make_client()
    client.app.state.services.identifier()  # type: ignore[attr-defined]  # as serve does
    assert client.get("/readyz").status_code == 200
    asn_database(databases.default_path(settings, "asn"), "Example Oy")
    pending = client.get("/readyz")
    assert pending.status_code == 503
    assert failing(pending)["ip_databases"].startswith("configured but not loaded: asn (")


def test_health_is_public_unlimited_and_undocumented(make_client: Any) -> None:
    client = make_client(rate_limit_per_minute=1)
    for _ in range(5):
        assert client.get("/healthz").status_code == 200
        assert client.get("/readyz").status_code == 200
    paths = openapi_document(routes.documented())["paths"]
    assert "/healthz" not in paths
    assert "/readyz" not in paths


def metrics(client: TestClient) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    answer = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert answer.status_code == 200, answer.text
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(answer.text)
        for sample in family.samples
    }


def test_metrics_show_lag_queue_exports_and_latency(
    client: TestClient, clock: FixedClock, account: Account, member: Any, db: Database
) -> None:
    before = metrics(client)
    assert before[("openfeeder_pipeline_lag_seconds", ())] == 0
    assert before[("openfeeder_job_queue_depth", (("state", "ready"),))] == 0
    assert before[("openfeeder_export_requests", (("status", "failed"),))] == 0
    track(client, account)
    clock.set(clock.now() + timedelta(minutes=2))
    answer = client.get("/accounts", headers=auth(member.token))
    assert answer.status_code == 200
    export = client.post(
        "/export-requests",
        headers=auth(member.token),
        data={
            "account_id": str(account.id),
            "custom_feed_id": "all_leads",
            "start_date": "2026-01-01",
            "end_date": "2026-01-31",
        },
    )
    assert export.status_code == 201, export.text
    after = metrics(client)
    assert 110 <= after[("openfeeder_pipeline_lag_seconds", ())] <= 121
    assert after[("openfeeder_job_queue_depth", (("state", "ready"),))] == 1
    assert after[("openfeeder_export_requests", (("status", "pending"),))] == 1
    count = "openfeeder_request_seconds_count"
    for surface, at_least in (("tracker", 1), ("api", 2), ("operations", 1)):
        assert after[(count, (("surface", surface),))] >= at_least, surface
    assert after[(count, (("surface", "dashboard"),))] == 0
    # An export that gave up is an export failure.
    with db.write() as conn:
        conn.exec_driver_sql("UPDATE export_requests SET status = 'failed', error = 'disk full'")
    failed = metrics(client)
    assert failed[("openfeeder_export_requests", (("status", "failed"),))] == 1
    assert failed[("openfeeder_export_requests", (("status", "pending"),))] == 0


def test_metrics_show_alert_deliveries_failing(
    settings: Settings, clock: FixedClock, account: Account, db: Database
) -> None:
    changes = {
        "metrics_token": TOKEN,
        "run_jobs_in_process": False,  # the test runs the deliverer's turns itself
        "alerts_allow_loopback": True,
        "alerts_timeout": 5.0,
        "alerts_disable_after_days": 30.0,  # the endpoint stays on while its retries run out
    }
    app = build_app(settings.model_copy(update=changes), clock=clock)
    # Nothing listens there: every attempt is refused, as by a receiver that is down.
    down = f"http://127.0.0.1:{free_port()}/hook"
    made = alerts.create_endpoint(db, account, "webhook", down, clock.now(), name="down")
    alerts.send_test_event(db, account, made.endpoint.id, clock.now(), "http://x")
    deliveries = "openfeeder_alert_deliveries"
    attempts = "openfeeder_alert_delivery_attempts_total"

    def by_status(values: dict[Any, float]) -> dict[str, float]:
        return {
            status: values[(deliveries, (("status", status),))]
            for status in ("pending", "retrying", "delivered", "failed")
        }

    def by_outcome(values: dict[Any, float]) -> dict[str, float]:
        return {
            outcome: values[(attempts, (("outcome", outcome),))]
            for outcome in ("delivered", "retry", "failed")
        }

    with TestClient(app) as client:
        deliverer = app.state.services.alerts
        before = metrics(client)
        assert by_status(before) == {"pending": 1, "retrying": 0, "delivered": 0, "failed": 0}
        assert by_outcome(before) == {"delivered": 0, "retry": 0, "failed": 0}

        assert deliverer.run_once() == 1
        once = metrics(client)
        assert by_status(once) == {"pending": 0, "retrying": 1, "delivered": 0, "failed": 0}
        assert by_outcome(once) == {"delivered": 0, "retry": 1, "failed": 0}

        # Every retry, at its time, until none is left: a delivery failure for good.
        for _ in RETRY_DELAYS:
            (item,) = alerts.list_deliveries(db, account)
            assert item.next_attempt_at is not None
            clock.set(item.next_attempt_at)
            assert deliverer.run_once() == 1
        (item,) = alerts.list_deliveries(db, account)
        assert (item.status, item.next_attempt_at) == ("failed", None)
        gave_up = metrics(client)
        assert by_status(gave_up) == {"pending": 0, "retrying": 0, "delivered": 0, "failed": 1}
        assert by_outcome(gave_up) == {
            "delivered": 0,
            "retry": len(RETRY_DELAYS),
            "failed": 1,
        }
