"""The client installs on its own: in a fresh virtual environment, without the server or its
dependencies, with the command line only when the ``cli`` extra is asked for.

Dependencies come from the registry (through uv's cache), constrained to the versions in the
repository's lock file. Without uv the test is skipped, except under CI, where it fails.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

CLIENT = Path(__file__).resolve().parents[1]
LOCK = CLIENT.parents[1] / "requirements" / "dev.lock"


def _uv() -> str:
    uv = shutil.which("uv") or shutil.which("uv", path=str(Path.home() / ".local" / "bin"))
    if uv is None:
        message = "uv is not installed (scripts/bootstrap installs it)"
        if os.environ.get("CI"):
            pytest.fail(f"{message}; CI requires it")
        pytest.skip(message)
    return uv


def _python(venv: Path, code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(venv / "bin" / "python"), "-c", code], capture_output=True, text=True, check=False
    )


def test_the_client_installs_alone_in_a_fresh_virtual_environment(tmp_path: Path) -> None:
    uv = _uv()
    venv = tmp_path / "venv"
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}

    def install(requirement: str) -> None:
        python = str(venv / "bin" / "python")
        subprocess.run(
            [uv, "pip", "install", "--quiet", "--python", python, "-c", str(LOCK), requirement],
            env=env,
            check=True,
            timeout=240,
        )

    subprocess.run(
        [uv, "venv", "--quiet", "--python", sys.executable, str(venv)],
        env=env,
        check=True,
        timeout=60,
    )
    install(str(CLIENT))

    imported = _python(
        venv,
        "import pathlib, openfeeder_client; print(openfeeder_client.Client); "
        "print(pathlib.Path(openfeeder_client.__file__).with_name('py.typed').is_file())",
    )
    assert imported.returncode == 0, imported.stderr
    assert imported.stdout.split() == ["<class", "'openfeeder_client.client.Client'>", "True"]
    for absent in ("openfeeder", "starlette", "sqlalchemy", "click", "rich"):
        probe = _python(venv, f"import {absent}")
        assert probe.returncode != 0, f"{absent} is importable"
        assert "ModuleNotFoundError" in probe.stderr

    script = venv / "bin" / "openfeeder-client"
    without_extra = subprocess.run([str(script)], capture_output=True, text=True, check=False)
    assert without_extra.returncode == 1
    assert "pip install 'openfeeder-client[cli]'" in without_extra.stderr

    install(f"{CLIENT}[cli]")
    helped = subprocess.run([str(script), "--help"], capture_output=True, text=True, check=False)
    assert helped.returncode == 0, helped.stderr
    for command in ("accounts", "feeds", "leads", "visits", "export"):
        assert command in helped.stdout
    assert _python(venv, "import openfeeder").returncode != 0
