"""Real servers for tests: the PostgreSQL and Redis the store and queue tests use (skipped
without them, except under CI), a free port on 127.0.0.1, waiting for a server to answer,
and ``openfeeder serve`` as a child process (the seed contract, the tracker and client
tests)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from openfeeder.store.engine import create_engine

POSTGRES_URL = os.environ.get(
    "OPENFEEDER_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)


def _redis_url() -> str:
    """OPENFEEDER_TEST_REDIS_URL (default database 15); under pytest-xdist each worker takes
    the database below the previous one's (gw0: 15, gw1: 14, ...), since the Redis tests
    flush theirs."""
    url = sa.make_url(os.environ.get("OPENFEEDER_TEST_REDIS_URL", "redis://127.0.0.1:6379/15"))
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw")
    base = int(url.database or 0)
    return url.set(database=str((base - int(worker or 0)) % 16)).render_as_string(
        hide_password=False
    )


REDIS_URL = _redis_url()
IN_CI = bool(os.environ.get("CI"))


def unavailable(what: str, error: Exception) -> None:
    """Skip (or, under CI, fail) a test whose server is not there."""
    message = f"{what} is not reachable ({error.__class__.__name__}: {error})"
    if IN_CI:
        pytest.fail(f"{message}; CI requires it")
    pytest.skip(message)


def fresh_postgres_database(name: str) -> str:
    """Create (or recreate) an empty database next to the server's ``test`` one; its URL."""
    admin = create_engine(POSTGRES_URL)
    try:
        with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    except sa.exc.OperationalError as error:
        unavailable("PostgreSQL", error)
    finally:
        admin.dispose()
    return admin.url.set(database=name).render_as_string(hide_password=False)


def drop_postgres_database(url: str) -> None:
    admin = create_engine(POSTGRES_URL)
    name = sa.make_url(url).database
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.dispose()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until_up(
    url: str, timeout: float = 30.0, process: subprocess.Popen[bytes] | None = None
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}")
        try:
            httpx.get(url, timeout=1.0)
            return
        except httpx.TransportError:
            time.sleep(0.1)
    raise TimeoutError(f"{url} did not come up in {timeout} s")


class ServeProcess:
    """``openfeeder serve`` (or, with ``command="worker"``, ``openfeeder worker``) as a child
    process, to be stopped however a test likes. ``program`` is the ``openfeeder`` to run
    (this environment's unless a test installed another: the packaging test's wheel), from
    ``cwd`` (this process's unless given)."""

    def __init__(
        self,
        env: Mapping[str, str],
        log: Path,
        command: str = "serve",
        program: Path | None = None,
        cwd: Path | None = None,
    ) -> None:
        self.command = command
        self.program = program or Path(sys.executable).with_name("openfeeder")
        self.cwd = cwd
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        # Only the settings given here: none leak in from the environment the tests run in.
        inherited = {k: v for k, v in os.environ.items() if not k.startswith("OPENFEEDER_")}
        # No scheduled IP database download (a test that wants one says so): tests stay on
        # 127.0.0.1.
        offline = {"OPENFEEDER_GEOIP_UPDATE_INTERVAL": "0"}
        self.env = inherited | offline | dict(env) | {"OPENFEEDER_PORT": str(self.port)}
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 120.0) -> ServeProcess:
        """Starts the process and, for ``serve``, waits up to ``timeout`` seconds for it to
        answer: a liveness bound, not a speed check (on a loaded shared machine the first
        start, imports and migrations, has taken over 30 s)."""
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [str(self.program), self.command],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.cwd,
            )
        if self.command != "serve":
            return self  # a worker serves nothing to wait for
        try:
            wait_until_up(self.url + "/openapi.json", timeout, process=self.process)
        except (RuntimeError, TimeoutError) as error:
            self.stop()
            tail = self.log.read_text(errors="replace")[-3000:]
            raise RuntimeError(f"openfeeder serve did not start: {error}\n{tail}") from None
        return self

    def kill(self) -> None:
        """SIGKILL: no shutdown handler runs, nothing is flushed."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.kill()
