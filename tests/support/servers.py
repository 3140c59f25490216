"""Real servers for tests: a free port on 127.0.0.1, waiting for a server to answer, and
``openfeeder serve`` as a child process (the seed contract, the tracker and client tests)."""

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
    """``openfeeder serve`` as a child process, to be stopped however a test likes."""

    def __init__(self, env: Mapping[str, str], log: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        # Only the settings given here: none leak in from the environment the tests run in.
        inherited = {k: v for k, v in os.environ.items() if not k.startswith("OPENFEEDER_")}
        self.env = inherited | dict(env) | {"OPENFEEDER_PORT": str(self.port)}
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> ServeProcess:
        command = Path(sys.executable).with_name("openfeeder")
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [str(command), "serve"], env=self.env, stdout=log, stderr=subprocess.STDOUT
            )
        try:
            wait_until_up(self.url + "/openapi.json", process=self.process)
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
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()
