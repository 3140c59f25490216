"""The tracker's lean ASGI lane: ``/tr`` and the script are answered by raw ASGI handlers
found before Starlette's machinery, with the same answers as before (statuses, CORS,
``no-store``, JSON errors), never a plain-text 500, and ``serve``'s access log off unless
``OPENFEEDER_ACCESS_LOG`` turns it on."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.testclient import TestClient

from openfeeder.app import Application, create_app
from openfeeder.app.surfaces import TrackerApp
from openfeeder.config import Settings
from openfeeder.ingest import http as tracker
from openfeeder.services.container import Services
from openfeeder.store import hits as hits_store
from openfeeder.store.db import Database
from tests.support.factories import Builder
from tests.support.servers import ServeProcess
from tests.support.tracking import encode, event


@pytest.fixture
def app(settings: Settings) -> Iterator[Application]:
    application = create_app(settings.model_copy(update={"run_jobs_in_process": False}))
    with TestClient(application):  # runs the lifespan: the ingestor's writer is started
        yield application


def scope(method: str, path: str, query: bytes = b"", **extra: Any) -> dict[str, Any]:
    return {
        "type": "http",
        "method": method,
        "path": path,
        "root_path": "",
        "query_string": query,
        "headers": [],
        "client": ("192.0.2.10", 50000),
        "server": ("127.0.0.1", 8000),
        "scheme": "http",
        **extra,
    }


def run(app: Any, request: dict[str, Any], messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Call an ASGI app with these incoming messages; what it sent."""
    sent: list[dict[str, Any]] = []
    incoming = iter(messages)

    async def receive() -> dict[str, Any]:
        return next(incoming, {"type": "http.disconnect"})

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    asyncio.run(app(request, receive, send))
    return sent


# -- the direct lane -------------------------------------------------------------------


def test_tracker_routes_are_found_directly_and_nothing_else_is(app: Application) -> None:
    for method in ("GET", "POST", "OPTIONS", "HEAD"):
        assert isinstance(app.surfaces.direct(scope(method, "/tr")), TrackerApp), method
    script = scope("GET", "/lftracker_v1_abc123.js")
    assert isinstance(app.surfaces.direct(script), TrackerApp)
    assert script["path_params"] == {"name": "abc123.js"}
    # Methods /tr does not serve, and every other surface, take the routers and middleware.
    assert app.surfaces.direct(scope("DELETE", "/tr")) is None
    assert app.surfaces.direct(scope("GET", "/accounts")) is None
    assert app.surfaces.direct(scope("GET", "/metrics")) is None
    assert app.surfaces.direct(scope("GET", "/tr/extra")) is None
    # Mounted below a root path, Starlette's own matching (which strips it) decides.
    assert app.surfaces.direct(scope("POST", "/base/tr", root_path="/base")) is None


def test_a_method_tr_does_not_serve_still_gets_the_apis_405_document(app: Application) -> None:
    with TestClient(app) as client:
        response = client.put("/tr")
    assert response.status_code == 405
    assert response.headers["content-type"].startswith("application/vnd.api+json")


def test_beacon_and_pixel_answers(app: Application, builder: Builder, db: Database) -> None:
    account = builder.account()
    with TestClient(app) as client:
        beacon = client.post(f"/tr?sid={account.script_hash}", content=encode(event()))
        pixel = client.get("/tr", params={"sid": account.script_hash, "data": encode(event())})
        preflight = client.options("/tr")
    assert beacon.status_code == 204
    assert beacon.content == b""
    assert "content-type" not in beacon.headers
    assert pixel.status_code == 200
    assert pixel.content == tracker.PIXEL
    assert pixel.headers["content-type"] == "image/gif"
    for response in (beacon, pixel):
        assert response.headers["access-control-allow-origin"] == "*"
        assert response.headers["cache-control"] == "no-store"
    assert preflight.status_code == 204
    assert preflight.headers["access-control-max-age"] == "86400"
    assert preflight.headers["access-control-allow-methods"] == "GET, POST, OPTIONS"
    with db.read() as conn:
        assert len(hits_store.list_hits(conn, account.id)) == 2


def test_a_body_read_in_chunks_is_refused_once_past_the_limit(
    app: Application, builder: Builder
) -> None:
    account = builder.account()
    limit = app.state.services.settings.tracker_max_body
    chunk = {"type": "http.request", "body": b"A" * 4096, "more_body": True}
    request = scope("POST", "/tr", f"sid={account.script_hash}".encode())
    sent = run(app, request, [chunk] * (limit // 4096 * 2))
    assert sent[0]["status"] == 413
    assert sent[1]["body"] == (
        b'{"error":"too_large","detail":"the event is larger than %d bytes"}' % limit
    )
    assert app.state.services.ingest.metrics.value("too_large") == 1


def test_a_body_in_chunks_is_read_whole(app: Application, builder: Builder) -> None:
    account = builder.account()
    body = encode(event()).encode()
    half = len(body) // 2
    messages = [
        {"type": "http.request", "body": body[:half], "more_body": True},
        {"type": "http.request", "body": body[half:], "more_body": False},
    ]
    sent = run(app, scope("POST", "/tr", f"sid={account.script_hash}".encode()), messages)
    assert sent[0]["status"] == 204


def test_a_client_gone_before_its_body_arrived_gets_no_answer(
    app: Application, builder: Builder
) -> None:
    account = builder.account()
    request = scope("POST", "/tr", f"sid={account.script_hash}".encode())
    assert run(app, request, [{"type": "http.disconnect"}]) == []


def test_an_unexpected_failure_is_a_json_500_not_a_traceback(
    caplog: pytest.LogCaptureFixture, settings: Settings
) -> None:
    async def broken(_services: Services, _scope: Any, _receive: Any, _send: Any) -> None:
        raise RuntimeError("a bug")

    handler = tracker.guarded(broken)

    async def app(scope: Any, receive: Any, send: Any) -> None:
        await handler(Services.__new__(Services), scope, receive, send)

    sent = run(app, scope("POST", "/tr"), [])
    assert sent[0]["status"] == 500
    headers = dict(sent[0]["headers"])
    assert headers[b"content-type"] == b"application/json"
    assert headers[b"connection"] == b"close"
    assert b"a bug" not in sent[1]["body"]
    assert sent[1]["body"].startswith(b'{"error":"server_error"')
    assert "a bug" in caplog.text  # the operator's log has it


# -- serve's access log ----------------------------------------------------------------


def _serve_and_hit(database_url: str, tmp_path: Path, script_hash: str, **env: str) -> str:
    settings = {
        "OPENFEEDER_DATABASE_URL": database_url,
        "OPENFEEDER_DATA_DIR": str(tmp_path / "data"),
        "OPENFEEDER_PIPELINE_IN_PROCESS": "false",
        "OPENFEEDER_RUN_JOBS_IN_PROCESS": "false",
        "OPENFEEDER_REVERSE_DNS": "false",
    } | env
    log = tmp_path / f"serve-{time.monotonic_ns()}.log"
    server = ServeProcess(settings, log).start()
    try:
        response = httpx.post(f"{server.url}/tr?sid={script_hash}", content=encode(event()))
        assert response.status_code == 204, response.text
        assert response.headers["cache-control"] == "no-store"
        bad = httpx.post(f"{server.url}/tr?sid={script_hash}", content=b"!!")
        assert bad.status_code == 400
        assert bad.json() == {"error": "bad_base64", "detail": "the event data is not base64"}
    finally:
        server.stop()
    return log.read_text(errors="replace")


def test_serve_keeps_no_access_log_unless_asked(tmp_path: Path) -> None:
    # About the server, not the store: one backend is enough.
    database_url = f"sqlite:///{tmp_path / 'openfeeder.db'}"
    db = Database(database_url)
    db.migrate()
    account = Builder(db).account()
    db.dispose()
    quiet = _serve_and_hit(database_url, tmp_path, account.script_hash)
    assert "POST /tr" not in quiet
    logged = _serve_and_hit(
        database_url, tmp_path, account.script_hash, OPENFEEDER_ACCESS_LOG="true"
    )
    assert "POST /tr" in logged
    assert "Traceback" not in quiet + logged
