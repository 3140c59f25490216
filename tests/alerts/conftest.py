"""What the alerts tests share: a real HTTP receiver on 127.0.0.1 that records every request
and can be told to fail, and the pipeline world of tests/support/pipeline.py with loopback
deliveries allowed."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from openfeeder.config import Settings
from openfeeder.store.db import Database
from tests.mail.conftest import certificate_authority, start_smtp  # noqa: F401 (fixtures)
from tests.support.factories import Builder
from tests.support.pipeline import World, make_world


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    """Answers 500 to the first ``fail_first`` requests, then ``status``; waits ``delay``
    seconds before each answer."""

    url: str = ""
    fail_first: int = 0
    status: int = 204
    delay: float = 0.0
    answer: bytes = b"ok"
    requests: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def ids(self) -> list[str]:
        with self.lock:
            return [r.headers["webhook-id"] for r in self.requests if "webhook-id" in r.headers]

    def wait_for(self, count: int, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.requests) >= count:
                    return
            time.sleep(0.05)
        raise TimeoutError(f"{count} requests expected, {len(self.requests)} came")


def _handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            with receiver.lock:
                receiver.requests.append(
                    Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
                )
                failing = len(receiver.requests) <= receiver.fail_first
            if receiver.delay:
                time.sleep(receiver.delay)
            status = 500 if failing else receiver.status
            answer = b"failing on purpose" if failing else receiver.answer
            self.send_response(status)
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, *args: object) -> None:
            return

    return Handler


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    receiver = Receiver()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(receiver))
    server.daemon_threads = True
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield receiver
    server.shutdown()
    server.server_close()


@pytest.fixture
def alert_settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"alerts_allow_loopback": True, "alerts_timeout": 5.0})


@pytest.fixture
def world(alert_settings: Settings, db: Database, builder: Builder) -> World:
    return make_world(alert_settings, db, builder)
