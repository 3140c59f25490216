"""The packaging test: ``uv build`` makes the wheel and sdist, the wheel goes into a fresh
virtual environment outside the checkout (its dependencies from ``requirements/runtime.lock``,
hashes checked), and from an empty directory that install alone loads the demo, serves it,
answers an API call with the demo's token and shows the dashboard's sign-in page. The
documented ``uv tool install`` of the same wheel is checked to run as well.

Everything it makes is under the test's tmp directory; uv's own download cache is uv's."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import sysconfig
from pathlib import Path

import httpx
import pytest

from openfeeder import __version__
from tests.support.servers import IN_CI, ServeProcess

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.packaging


def _uv() -> str:
    """uv on PATH, else where ``scripts/bootstrap`` installs it (pip's user scheme)."""
    found = shutil.which("uv")
    if found:
        return found
    user = Path(sysconfig.get_path("scripts", f"{os.name}_user")) / "uv"
    if user.is_file():
        return str(user)
    if IN_CI:
        pytest.fail("uv is missing; scripts/bootstrap installs it")
    pytest.skip("uv is not installed (scripts/bootstrap installs it)")


def _run(*args: str | Path, cwd: Path, env: dict[str, str] | None = None) -> str:
    result = subprocess.run(
        [str(arg) for arg in args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert result.returncode == 0, f"{args[:3]} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout


def _outside_env(tmp: Path) -> dict[str, str]:
    """This process's environment without the checkout's venv or any openfeeder setting."""
    drop = ("OPENFEEDER_", "VIRTUAL_ENV", "PYTHONPATH", "UV_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(drop)}
    return env | {
        "OPENFEEDER_DATABASE_URL": f"sqlite:///{tmp / 'store.db'}",
        "OPENFEEDER_DATA_DIR": str(tmp / "data"),
        "OPENFEEDER_GEOIP_UPDATE_INTERVAL": "0",
        "OPENFEEDER_REVERSE_DNS": "false",
    }


def test_the_wheel_installs_and_serves_without_the_checkout(tmp_path: Path) -> None:
    uv = _uv()
    dist, venv, work = tmp_path / "dist", tmp_path / "venv", tmp_path / "work"
    work.mkdir()
    _run(uv, "build", "--out-dir", dist, "--quiet", ROOT, cwd=work)
    wheels = list(dist.glob(f"openfeeder-{__version__}-py3-none-any.whl"))
    assert len(wheels) == 1, sorted(p.name for p in dist.iterdir())
    assert (dist / f"openfeeder-{__version__}.tar.gz").is_file()

    _run(uv, "venv", "--quiet", "--python", sys.executable, venv, cwd=work)
    python = venv / "bin" / "python"
    lock = ROOT / "requirements" / "runtime.lock"
    _run(
        uv,
        "pip",
        "install",
        "--quiet",
        "--python",
        python,
        "--require-hashes",
        "-r",
        lock,
        cwd=work,
    )
    _run(uv, "pip", "install", "--quiet", "--python", python, "--no-deps", wheels[0], cwd=work)

    env = _outside_env(tmp_path)
    program = venv / "bin" / "openfeeder"
    # The package imported is the installed one, its data files beside it.
    where = _run(python, "-c", "import openfeeder; print(openfeeder.__file__)", cwd=work, env=env)
    assert Path(where.strip()).is_relative_to(venv)
    assert _run(program, "--version", cwd=work, env=env).split() == [
        "openfeeder,",
        "version",
        __version__,
    ]

    # The README's way: `uv tool install` (its own environment, constrained to the lock).
    tools = env | {"UV_TOOL_DIR": str(tmp_path / "tools"), "UV_TOOL_BIN_DIR": str(tmp_path / "bin")}
    _run(uv, "tool", "install", "--quiet", "-c", lock, wheels[0], cwd=work, env=tools)
    tool = tmp_path / "bin" / "openfeeder"
    assert _run(tool, "--version", cwd=work, env=env).split()[-1] == __version__

    loaded = json.loads(_run(program, "demo", "--json", cwd=work, env=env))
    server = ServeProcess(env, tmp_path / "serve.log", program=program, cwd=work).start()
    try:
        accounts = httpx.get(
            f"{server.url}/accounts",
            headers={"Authorization": f"Token token={loaded['token']}"},
            timeout=10,
        )
        assert accounts.status_code == 200, accounts.text
        names = {item["attributes"]["name"] for item in accounts.json()["data"]}
        assert names == {account["name"] for account in loaded["accounts"]}
        assert httpx.get(f"{server.url}/healthz", timeout=10).text == "ok\n"
        ready = httpx.get(f"{server.url}/readyz", timeout=10)
        assert ready.status_code == 200, ready.text  # schema at head from the wheel's migrations
        login = httpx.get(f"{server.url}/app/login", timeout=10)
        assert login.status_code == 200
        assert '<form method="post"' in login.text
        assert "password" in login.text
        css = httpx.get(f"{server.url}/app/static/app.css", timeout=10)
        assert css.status_code == 200
        assert css.content == (ROOT / "src/openfeeder/dashboard/static/app.css").read_bytes()
    finally:
        server.stop()
    # uvicorn re-raises the SIGTERM once it has shut down cleanly.
    assert server.process is not None
    log = (tmp_path / "serve.log").read_text(errors="replace")
    assert server.process.returncode in (0, -signal.SIGTERM), log[-2000:]
    assert "Application shutdown complete." in log
