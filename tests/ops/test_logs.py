"""Logs (``openfeeder/logs.py``) from a real ``openfeeder serve`` and ``openfeeder worker``:
with ``OPENFEEDER_LOG_FORMAT=json`` every line they write is one JSON object; a request's
access line, a record logged inside its handler and an error's traceback share the request's
id, which the answer carries as ``X-Request-ID``; a hostile ``X-Request-ID`` is replaced;
the default stays text lines (those tests are about the processes, not the store: SQLite
only). A failed pipeline batch's records share its ``batch_id`` and a failing job's carry its
``job_id``, on both backends."""

from __future__ import annotations

import json
import logging
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from openfeeder import logs
from openfeeder.config import Settings
from openfeeder.domain.models import Account
from openfeeder.jobs import make_queue
from openfeeder.pipeline.steps import STEPS
from openfeeder.services import exports
from openfeeder.store.db import Database
from tests.pipeline.test_end_to_end import FailOn
from tests.services.test_exports import FIRST, LAST, block_exports_dir
from tests.support.factories import Builder, Member
from tests.support.pipeline import T0, make_world
from tests.support.servers import ServeProcess, free_port
from tests.support.tracking import encode, event

TOKEN = "operator-secret"
GENERATED = re.compile(r"[0-9a-f]{32}")
GENERATED_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
TEXT_LINE = re.compile(
    r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} (DEBUG|INFO|WARNING|ERROR|CRITICAL) [\w.]+: "
)


def _store(tmp_path: Path) -> tuple[str, str]:
    """A migrated SQLite store with one account: (database URL, its script hash)."""
    url = f"sqlite:///{tmp_path / 'openfeeder.db'}"
    db = Database(url)
    db.migrate()
    account = Builder(db).account()
    db.dispose()
    return url, account.script_hash


def _env(url: str, tmp_path: Path, **more: str) -> dict[str, str]:
    return {
        "OPENFEEDER_DATABASE_URL": url,
        "OPENFEEDER_DATA_DIR": str(tmp_path / "data"),
        "OPENFEEDER_PIPELINE_IN_PROCESS": "false",
        "OPENFEEDER_RUN_JOBS_IN_PROCESS": "false",
        "OPENFEEDER_REVERSE_DNS": "false",
    } | more


def _records(log: Path) -> list[dict[str, Any]]:
    """Every line of the process's output (stdout and stderr) as JSON: fails on any other."""
    lines = log.read_text(errors="replace").splitlines()
    assert lines, "the process logged nothing"
    records = []
    for line in lines:
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            pytest.fail(f"not a JSON line: {line!r}")
        assert isinstance(record, dict), line
        assert {"timestamp", "level", "logger", "message"} <= set(record), line
        records.append(record)
    return records


def _raw_get(port: int, path: str, request_id: bytes) -> tuple[int, dict[str, str]]:
    """GET with an ``X-Request-ID`` of exactly these bytes (an HTTP client would refuse to
    send most of them): the answer's status and headers."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(
            b"GET " + path.encode() + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"X-Request-ID: " + request_id + b"\r\nConnection: close\r\n\r\n"
        )
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    head = answer.split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in head[1:])
    return int(head[0].split(" ")[1]), {k.lower(): v for k, v in headers.items()}


def _stop(server: ServeProcess) -> None:
    server.stop()
    time.sleep(0.1)  # the last lines are flushed as the process ends


def test_json_logs_share_the_request_id_of_each_request(tmp_path: Path) -> None:
    url, script_hash = _store(tmp_path)
    log = tmp_path / "serve.log"
    # A Redis nothing listens on: /metrics logs a warning with its traceback from inside the
    # handler (the job queue cannot be read) and an API request fails with a 500.
    env = _env(
        url,
        tmp_path,
        OPENFEEDER_LOG_FORMAT="json",
        OPENFEEDER_ACCESS_LOG="true",
        OPENFEEDER_METRICS_TOKEN=TOKEN,
        OPENFEEDER_REDIS_URL=f"redis://127.0.0.1:{free_port()}/0",
    )
    server = ServeProcess(env, log).start()
    hostile = {
        b"x" * 129: "overlong",
        b"abc\x01def": "a control character",
        b"abc\x1b[31mred": "an escape sequence",
        b'abc" injected="1': "a quote and spaces",
        b"abc\\nforged line": "an escaped newline",
        b"abc\nX-Forged: 1": "a bare newline",
        "r\u00e9sum\u00e9".encode(): "non-ASCII",
    }
    try:
        metrics = httpx.get(
            f"{server.url}/metrics",
            headers={"Authorization": f"Bearer {TOKEN}", "X-Request-ID": "proxy-id.42:a/b"},
        )
        assert metrics.status_code == 200, metrics.text
        assert metrics.headers["x-request-id"] == "proxy-id.42:a/b"
        broken = httpx.get(f"{server.url}/accounts", headers={"Authorization": "Token x"})
        assert broken.status_code == 500
        failed_id = broken.headers["x-request-id"]
        assert GENERATED.fullmatch(failed_id)
        again = httpx.get(f"{server.url}/healthz")
        assert GENERATED.fullmatch(again.headers["x-request-id"])
        assert again.headers["x-request-id"] != failed_id  # one id per request
        replaced = {}
        for value, why in hostile.items():
            status, headers = _raw_get(server.port, "/healthz", value)
            if status == 400:
                continue  # uvicorn's parser refused the request itself: it never reached us
            assert status == 200, why
            assert GENERATED.fullmatch(headers["x-request-id"]), why
            replaced[why] = headers["x-request-id"]
        assert {"overlong", "a quote and spaces", "an escaped newline"} <= set(replaced)
        # The tracker keeps its hot path: no header, but its records still have the id.
        # Its flood limit needs the Redis that is not there: a 500 with its traceback.
        hit = httpx.post(
            f"{server.url}/tr?sid={script_hash}",
            content=encode(event()),
            headers={"X-Request-ID": "beacon-1"},
        )
        assert hit.status_code == 500, hit.text
        assert "x-request-id" not in hit.headers
    finally:
        _stop(server)

    records = _records(log)
    by_id: dict[str, list[dict[str, Any]]] = {}
    for record in records:
        by_id.setdefault(record.get("request_id", ""), []).append(record)

    # The /metrics request: its access line and the warning its handler logged, traceback
    # and all, under the id the proxy sent.
    mine = by_id["proxy-id.42:a/b"]
    (access,) = [r for r in mine if r["logger"] == "uvicorn.access"]
    assert (access["method"], access["path"], access["status"]) == ("GET", "/metrics", 200)
    (warning,) = [r for r in mine if r["logger"] == "openfeeder.app.operations"]
    assert warning["level"] == "WARNING"
    assert warning["message"] == "metrics: the job queue could not be read"
    assert "Traceback" in warning["exc_info"]

    # The failed request: our error record and uvicorn's, both with the traceback, and its
    # access line, under the id the answer carried.
    failed = by_id[failed_id]
    assert {r["logger"] for r in failed} == {
        "openfeeder.api.errors",
        "uvicorn.error",
        "uvicorn.access",
    }
    assert all("Traceback" in r["exc_info"] for r in failed if r["logger"] != "uvicorn.access")

    # Hostile ids were never written: each request's records have the id it was answered with.
    text = log.read_text(errors="replace")
    for value in hostile:
        assert value.decode("latin-1") not in text
    for why, replacement in replaced.items():
        (line,) = by_id[replacement]
        assert line["logger"] == "uvicorn.access", why

    error, beacon = by_id["beacon-1"]
    assert error["logger"] == "openfeeder.ingest.http"
    assert "Traceback" in error["exc_info"]
    assert (beacon["path"].split("?")[0], beacon["status"]) == ("/tr", 500)
    # Records outside any request (start-up, shutdown) have none.
    assert any(r["message"] == "Application startup complete." for r in by_id[""])


def test_text_lines_stay_the_default(tmp_path: Path) -> None:
    url, _ = _store(tmp_path)
    log = tmp_path / "serve.log"
    server = ServeProcess(_env(url, tmp_path, OPENFEEDER_ACCESS_LOG="true"), log).start()
    try:
        answer = httpx.get(f"{server.url}/healthz", headers={"X-Request-ID": "abc"})
        assert answer.headers["x-request-id"] == "abc"  # the id is there in either format
    finally:
        _stop(server)
    lines = log.read_text(errors="replace").splitlines()
    assert any(line.endswith("INFO uvicorn.error: Application startup complete.") for line in lines)
    assert any('"GET /healthz HTTP/1.1" 200' in line for line in lines)
    for line in lines:
        assert TEXT_LINE.match(line), line
        assert not line.startswith("{"), line


def test_a_json_worker_writes_only_json(tmp_path: Path) -> None:
    url, _ = _store(tmp_path)
    log = tmp_path / "worker.log"
    worker = ServeProcess(_env(url, tmp_path, OPENFEEDER_LOG_FORMAT="json"), log, "worker")
    worker.start()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and "pipeline loop started" not in log.read_text():
        time.sleep(0.1)
    _stop(worker)
    messages = [record["message"] for record in _records(log)]
    for loop in ("pipeline", "jobs", "alerts"):
        assert f"{loop} loop started" in messages
        assert f"{loop} loop stopped" in messages


@contextmanager
def context_records() -> Iterator[list[logging.LogRecord]]:
    """Every record logged inside, as ``configure``'s handler sees it (its filter applied),
    without configuring logging in pytest's own process."""
    seen: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            seen.append(record)

    handler = Keep(logging.INFO)
    handler.addFilter(logs.ContextFilter())
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        yield seen
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


def test_a_batch_or_job_id_is_on_every_record_inside_it() -> None:
    logger = logging.getLogger("tests.ops.logs")
    with context_records() as seen:
        with logs.bound(batch_id="3-abc"):
            logger.warning("inside the batch")
            with logs.bound(job_id="j1"):
                logger.warning("inside a job of it")
        logger.warning("after")
    inside, nested, after = seen
    assert inside.batch_id == "3-abc"  # type: ignore[attr-defined]
    assert (nested.batch_id, nested.job_id) == ("3-abc", "j1")  # type: ignore[attr-defined]
    assert not hasattr(after, "batch_id")
    assert not hasattr(after, "job_id")


@pytest.mark.parametrize(
    ("sent", "kept"),
    [
        (b"0f3c9a7e-5d2b-4c1a-9e8f-112233445566", True),  # a UUID
        (b"Root=1-67891233-abcdef012345678912345678", True),  # a load balancer's trace id
        (b"a" * 128, True),
        (b"a" * 129, False),
        (b"", False),
        (b"abc\r\nX-Forged: 1", False),
        (b"abc\ndef", False),
        (b"abc\tdef", False),
        (b"abc\x00def", False),
        (b"abc\x7fdef", False),
        (b"abc def", False),
        (b'abc"def', False),
        (b"abc{def}", False),
        ("r\u00e9sum\u00e9".encode(), False),
    ],
)
def test_only_a_sane_request_id_is_kept(sent: bytes, kept: bool) -> None:
    # What uvicorn's parser lets through is shown over HTTP above; these reach the rule itself.
    scope: dict[str, Any] = {"headers": [(b"x-request-id", sent), (b"x-request-id", b"second")]}
    made = logs.request_id(scope)
    assert (made == sent.decode("latin-1")) is kept
    if not kept:
        assert GENERATED.fullmatch(made)
    assert logs.request_id(scope) == made  # made once per request


def test_uncaught_exceptions_are_json_records_too(tmp_path: Path) -> None:
    program = (
        "import threading, warnings\n"
        "from openfeeder import logs\n"
        "logs.configure('json')\n"
        "warnings.warn('a warning', UserWarning)\n"
        "thread = threading.Thread(target=lambda: 1 / 0, name='broken')\n"
        "thread.start(); thread.join()\n"
        "raise RuntimeError('nobody caught this')\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 1
    log = tmp_path / "stderr.log"
    log.write_text(done.stderr)
    warned, thread, main = _records(log)
    assert (warned["logger"], warned["level"]) == ("py.warnings", "WARNING")
    assert "a warning" in warned["message"]
    assert thread["message"] == "uncaught exception in thread broken"
    assert "ZeroDivisionError" in thread["exc_info"]
    assert main["message"] == "uncaught exception"
    assert "RuntimeError: nobody caught this" in main["exc_info"]


def test_a_failed_pipeline_batch_logs_under_its_batch_id(
    settings: Settings, db: Database, builder: Builder
) -> None:
    world = make_world(settings, db, builder)
    henry = world.browser()
    sent = [henry.hit(f"/p{i}/", T0 + timedelta(seconds=10 * i)) for i in range(3)]
    world.send(sent)
    pipeline = world.pipeline(steps=(*STEPS[:4], FailOn(sent[1].client_event_id), *STEPS[4:]))
    with context_records() as seen:
        assert pipeline.run_once() == 3
    mine = [r for r in seen if r.name == "openfeeder.pipeline.runner"]
    assert [r.msg for r in mine] == [
        "pipeline batch of shard %d failed; retrying it hit by hit",
        "pipeline: quarantining the next hit of shard %d",
    ]
    assert all(r.exc_info for r in mine)
    (batch_id,) = {r.batch_id for r in mine}  # type: ignore[attr-defined]
    (shard,) = {r.args[0] for r in mine}  # type: ignore[index]
    assert re.fullmatch(rf"{shard}-[0-9a-f]{{12}}", batch_id)


def test_a_failing_job_logs_under_its_job_id(
    settings: Settings, db: Database, builder: Builder, account: Account, member: Member
) -> None:
    builder.visits(account, builder.companies(1))
    queue = make_queue(settings, db, retry_delay=0)
    try:
        block_exports_dir(settings)
        exports.create_export(db, queue, account, member.user, "all_leads", FIRST, LAST)
        with context_records() as seen:
            assert queue.run_pending() == exports.MAX_ATTEMPTS
    finally:
        queue.stop()
    from_huey = [r for r in seen if r.name.startswith("huey")]
    assert from_huey, "huey logged nothing of the failing job"
    assert all(GENERATED_UUID.fullmatch(r.job_id) for r in from_huey)  # type: ignore[attr-defined]
    failures = [r for r in from_huey if r.exc_info]
    assert len(failures) == exports.MAX_ATTEMPTS


def test_a_browser_calling_the_api_may_read_the_request_id(make_client: Any) -> None:
    client = make_client()
    answer = client.get(
        "/accounts", headers={"Origin": "https://crm.example", "X-Request-ID": "crm-7"}
    )
    assert answer.status_code == 401  # no token: the id is on errors too
    assert answer.headers["x-request-id"] == "crm-7"
    exposed = answer.headers["access-control-expose-headers"].split(",")
    assert "X-Request-ID" in [name.strip() for name in exposed]
