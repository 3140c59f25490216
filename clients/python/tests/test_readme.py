"""The README stays true: its five-line example runs against a real server and prints what
it should, and every command and option of the command line is in it."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import click
from harness import Dataset

from openfeeder_client.cli import cli

README = Path(__file__).resolve().parents[1] / "README.md"


def _python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.S)


def test_the_five_line_example_runs(server: str, dataset: Dataset) -> None:
    example = _python_blocks()[0]
    code = [line for line in example.splitlines() if line.strip()]
    assert len(code) == 5
    runnable = (
        example.replace("<token>", dataset.token)
        .replace("http://127.0.0.1:8000", server)
        .replace("<account id>", str(dataset.premium.id))
    )
    ran = subprocess.run(
        [sys.executable, "-c", runnable], capture_output=True, text=True, check=False, timeout=60
    )
    assert ran.returncode == 0, ran.stderr
    names, *leads = ran.stdout.splitlines()
    assert names == repr([dataset.premium.name, dataset.lite.name])
    assert len(leads) == len(dataset.leads)
    assert {line.rsplit(" ", 1)[-1] for line in leads} == {"Helsinki", "Boston"}


def test_every_command_and_option_is_documented() -> None:
    text = README.read_text(encoding="utf-8")
    assert isinstance(cli, click.Group)
    undocumented = [name for name in cli.commands if f"`openfeeder-client {name}" not in text]
    for command in [cli, *cli.commands.values()]:
        for param in command.params:
            if isinstance(param, click.Option) and not any(f"`{o}" in text for o in param.opts):
                undocumented.append(f"{command.name} {param.opts[0]}")
    assert not undocumented, f"missing from README.md: {undocumented}"
