"""Shared pieces of the tracker tests: events as the browser sends them, the application
with the tracker surface, uvicorn in a thread, and a small site server for the browser's
pages (``openfeeder serve`` as a process is in ``tests/support/servers.py``)."""

from __future__ import annotations

import base64
import json
import secrets
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import uvicorn
from starlette.applications import Starlette

from openfeeder.config import Settings
from openfeeder.domain.clock import SYSTEM_CLOCK, Clock
from openfeeder.domain.models import Account
from openfeeder.store import hits as hits_store
from openfeeder.store.db import Database
from tests.support.clients import build_app
from tests.support.servers import free_port, wait_until_up


def event(**overrides: Any) -> dict[str, Any]:
    """A valid pageview as tracker.js sends it; keyword arguments replace fields."""
    now_ms = int(time.time() * 1000)
    body: dict[str, Any] = {
        "event": "tracking-event",
        "context": {
            "library": {"name": "openfeeder", "version": "1"},
            "pageUrl": "https://www.example.com/pricing?utm_source=newsletter",
            "pageTitle": "Pricing",
            "referrer": "https://www.google.com/",
        },
        "clientEventId": secrets.token_hex(8),
        "clientTimestamp": "2026-03-02T10:00:00.000Z",
        "clientTimezone": "Europe/Helsinki",
        "scriptId": None,
        "cookiesEnabled": True,
        "anonymizeIp": False,
        "lfClientId": f"LF1.1.{secrets.token_hex(8)}.{now_ms}",
        "gaTrackingIds": [],
        "gaClientIds": [],
        "foreignCookies": [],
        "properties": {},
    }
    body.update(overrides)
    if body["scriptId"] is None:
        del body["scriptId"]
    return body


def encode(value: Mapping[str, Any] | str) -> str:
    text = value if isinstance(value, str) else json.dumps(value)
    return base64.b64encode(text.encode()).decode()


def stored(db: Database, account: Account | None = None) -> list[dict[str, Any]]:
    """The hits ingest stored, of ``account`` or of every account."""
    with db.read() as conn:
        return hits_store.list_hits(conn, account.id if account else None)


def tracker_app(settings: Settings, clock: Clock = SYSTEM_CLOCK) -> Starlette:
    """The real application with no pipeline running in the background (these tests look at
    hits as ingest stored them), on ``clock``."""
    return build_app(settings.model_copy(update={"pipeline_in_process": False}), clock=clock)


@contextmanager
def serve_in_thread(app: Starlette) -> Iterator[str]:
    """Run ``app`` under uvicorn on a free port of 127.0.0.1; yields its base URL."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            host="127.0.0.1",
            port=port,
            log_level="warning",
            lifespan="on",
            proxy_headers=False,  # as `openfeeder serve` runs it
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(url + "/openapi.json")
        yield url
    finally:
        server.should_exit = True
        thread.join(10)


class SitePages(ThreadingHTTPServer):
    """A website on its own origin: serves ``pages`` (path → HTML) on 127.0.0.1."""

    daemon_threads = True

    def __init__(self, pages: Mapping[str, str]) -> None:
        self.pages = dict(pages)
        super().__init__(("127.0.0.1", 0), _PageHandler)
        self.url = f"http://127.0.0.1:{self.server_address[1]}"
        self._thread = threading.Thread(target=self.serve_forever, daemon=True)

    def __enter__(self) -> SitePages:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()
        self.server_close()


class _PageHandler(BaseHTTPRequestHandler):
    server: SitePages

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        # Any unknown path gets the SPA shell, as a single-page app's server would answer.
        page = self.server.pages.get(path, self.server.pages.get("*"))
        if page is None:
            self.send_error(404)
            return
        body = page.encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass
