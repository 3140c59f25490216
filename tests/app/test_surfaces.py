"""The one route table and its surfaces: every served route is declared with its surface and
auth, each surface gets its own middleware, /metrics is for operators only, and only our
trusted-proxy walk (never uvicorn's) decides a tracker hit's client address."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
from starlette.routing import Route
from starlette.testclient import TestClient

from openfeeder.app import routes
from openfeeder.domain.models import Account
from openfeeder.routing import Auth, Surface
from openfeeder.store import hits as hits_store
from openfeeder.store.db import Database
from tests.support.clients import MakeClient
from tests.support.factories import Builder
from tests.support.servers import ServeProcess
from tests.support.tracking import encode, event

METRICS_TOKEN = "operator-secret"


def test_every_served_route_is_in_the_table(api: TestClient) -> None:
    served = {
        (route.path, frozenset(route.methods or ()) - {"HEAD"})
        for route in api.app.router.routes  # type: ignore[attr-defined]
        if isinstance(route, Route)
    }
    declared = {(e.path, frozenset(e.methods)) for e in routes.ROUTES}
    assert len(api.app.router.routes) == len(routes.ROUTES)  # type: ignore[attr-defined]
    assert served - declared == set(), "served without being declared in app.routes.ROUTES"
    assert declared - served == set(), "declared but not served"


def test_every_route_says_its_surface_and_auth() -> None:
    for endpoint in routes.ROUTES:
        assert isinstance(endpoint.surface, Surface), endpoint.path
        assert isinstance(endpoint.auth, Auth), endpoint.path
    # The API's operations are token-authenticated but for the capability download.
    public_api = {e.path for e in routes.on(Surface.API) if e.auth is Auth.PUBLIC}
    assert public_api == {"/download/{file_name}"}
    # Operations: the metrics for the operator; liveness and readiness for load balancers.
    operations = {e.path: e.auth for e in routes.on(Surface.OPERATIONS)}
    assert operations == {
        "/metrics": Auth.OPERATOR,
        "/healthz": Auth.PUBLIC,
        "/readyz": Auth.PUBLIC,
    }


def test_the_tracker_preflight_is_its_own_not_the_apis(api: TestClient) -> None:
    preflight = {"Origin": "https://site.example", "Access-Control-Request-Method": "POST"}
    tracker = api.options("/tr", headers=preflight)
    assert tracker.status_code == 204
    assert tracker.headers["access-control-max-age"] == "86400"
    api = api.options("/accounts", headers=preflight | {"Access-Control-Request-Method": "GET"})
    assert api.status_code == 200  # Starlette's CORS middleware on the API surface
    assert api.headers["access-control-allow-origin"] == "*"
    assert "access-control-max-age" in api.headers  # its default, 600 s
    assert api.headers["access-control-max-age"] != "86400"


def test_api_answers_carry_cors_but_operations_do_not(api: TestClient) -> None:
    origin = {"Origin": "https://crm.example"}
    assert api.get("/accounts", headers=origin).headers["access-control-allow-origin"]
    assert api.get("/openapi.json", headers=origin).headers["access-control-allow-origin"]
    assert "access-control-allow-origin" not in api.get("/metrics", headers=origin).headers


def test_metrics_are_refused_by_default(api: TestClient) -> None:
    response = api.get("/metrics")
    assert response.status_code == 403
    assert "OPENFEEDER_METRICS_TOKEN" in response.json()["errors"][0]["detail"]
    assert "openfeeder_" not in response.text


def test_metrics_need_the_operator_token(make_client: MakeClient) -> None:
    client = make_client(metrics_token=METRICS_TOKEN)
    assert client.get("/metrics").status_code == 401
    wrong = client.get("/metrics", headers={"Authorization": "Bearer guess"})
    assert wrong.status_code == 401
    assert wrong.headers["www-authenticate"].startswith("Bearer")
    assert wrong.headers["x-ratelimit-remaining"]  # guesses count against the client IP
    right = client.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
    assert right.status_code == 200
    assert "openfeeder_tracker_hits_total" in right.text


def test_unrouted_requests_get_the_apis_error_document(api: TestClient) -> None:
    missing = api.get("/no/such/route")
    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith("application/vnd.api+json")
    assert missing.headers["x-ratelimit-limit"] == "100"
    wrong_method = api.delete("/tr")
    assert wrong_method.status_code == 405


# ── the client address, through a real `openfeeder serve` ────────────────────────────────


def _served_ip(database_url: str, tmp_path: Path, account: Account, **settings: str) -> str:
    env = {
        "OPENFEEDER_DATABASE_URL": database_url,
        "OPENFEEDER_DATA_DIR": str(tmp_path / "data"),
        "OPENFEEDER_PIPELINE_IN_PROCESS": "false",
        "OPENFEEDER_RUN_JOBS_IN_PROCESS": "false",
        "OPENFEEDER_REVERSE_DNS": "false",
    } | settings
    server = ServeProcess(env, tmp_path / "serve.log").start()
    try:
        response = httpx.post(
            f"{server.url}/tr?sid={account.script_hash}",
            content=encode(event()),
            headers={"X-Forwarded-For": "203.0.113.77"},
        )
        assert response.status_code == 204, response.text
    finally:
        server.stop()
    db = Database(database_url)
    try:
        deadline = time.monotonic() + 10
        while not (stored := _hits(db, account)):
            assert time.monotonic() < deadline
            time.sleep(0.05)
    finally:
        db.dispose()
    assert len(stored) == 1
    return str(stored[0]["ip"])


def _hits(db: Database, account: Account) -> list[dict[str, object]]:
    with db.read() as conn:
        return hits_store.list_hits(conn, account.id)


def test_a_local_process_cannot_choose_its_address_without_trusted_proxies(
    database_url: str, builder: Builder, tmp_path: Path
) -> None:
    account = builder.account()
    assert _served_ip(database_url, tmp_path, account) == "127.0.0.1"


def test_a_trusted_proxy_passes_the_visitor_address_on(
    database_url: str, builder: Builder, tmp_path: Path
) -> None:
    account = builder.account()
    trusted = {"OPENFEEDER_TRUSTED_PROXIES": "127.0.0.1/32"}
    assert _served_ip(database_url, tmp_path, account, **trusted) == "203.0.113.77"
