"""The ``openfeeder-client`` command line against a real ``openfeeder serve``: each command
in each output format, configuration from flags and the environment, the progress bar on
stderr with stdout left clean, errors as one line and an exit status, and the installed
script in a pipe."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from harness import Dataset

from openfeeder_client import __version__
from openfeeder_client.cli import cli

DATES = ["--start", "2026-01-01", "--end", "2026-01-31"]
PARSED = ["json", "jsonl", "csv"]


@pytest.fixture
def run(server: str, dataset: Dataset) -> Callable[..., Result]:
    """``run(*args, env=None)``: the command line with the server's URL and the token in its
    environment; its result, with stdout and stderr apart."""

    def invoke(*args: str, env: dict[str, str] | None = None) -> Result:
        environment = {"OPENFEEDER_BASE_URL": server, "OPENFEEDER_TOKEN": dataset.token}
        return CliRunner().invoke(cli, list(args), env=environment | (env or {}))

    return invoke


def parse(fmt: str, output: str) -> list[dict[str, Any]]:
    if fmt == "json":
        rows: list[dict[str, Any]] = json.loads(output)
        return rows
    if fmt == "jsonl":
        return [json.loads(line) for line in output.splitlines()]
    return list(csv.DictReader(io.StringIO(output)))


def ok(result: Result) -> str:
    assert result.exit_code == 0, (result.stdout, result.stderr, result.exception)
    assert result.stderr == ""  # no progress bar or message unless stderr is a terminal
    return result.stdout


@pytest.mark.parametrize("fmt", PARSED)
def test_accounts(run: Callable[..., Result], dataset: Dataset, fmt: str) -> None:
    rows = parse(fmt, ok(run("accounts", "--format", fmt)))
    assert {str(r["id"]) for r in rows} == {str(dataset.premium.id), str(dataset.lite.id)}
    assert {r["subscription"] for r in rows} == {"premium", "lite"}


def test_accounts_as_a_table(run: Callable[..., Result], dataset: Dataset) -> None:
    output = ok(run("accounts"))
    assert "website_tracking_status" in output
    assert dataset.premium.name in output
    assert dataset.lite.name in output


@pytest.mark.parametrize("fmt", ["table", *PARSED])
def test_feeds(run: Callable[..., Result], dataset: Dataset, fmt: str) -> None:
    output = ok(run("feeds", str(dataset.premium.id), "--format", fmt))
    if fmt == "table":
        assert "country_code: Finland" in output
        return
    rows = parse(fmt, output)
    assert [r["id"] for r in rows][-1] == dataset.finland
    assert rows[-1]["criteria"] == "country_code: Finland"


@pytest.mark.parametrize("fmt", PARSED)
def test_leads_across_pages(run: Callable[..., Result], dataset: Dataset, fmt: str) -> None:
    output = ok(run("leads", str(dataset.premium.id), *DATES, "--page-size", "10", "--format", fmt))
    rows = parse(fmt, output)
    assert sorted(r["id"] for r in rows) == sorted(dataset.leads)
    assert {r["name"] for r in rows} == set(dataset.leads.values())


def test_leads_as_a_table(run: Callable[..., Result], dataset: Dataset) -> None:
    output = ok(run("leads", str(dataset.premium.id), *DATES, "--page-size", "20"))
    for lead_id, name in dataset.leads.items():
        assert lead_id in output
        assert name in output
    assert "location_city" in output.splitlines()[1]


def test_leads_of_a_feed(run: Callable[..., Result], dataset: Dataset) -> None:
    args = ["leads", str(dataset.premium.id), *DATES, "--feed", dataset.finland]
    rows = parse("jsonl", ok(run(*args, "--format", "jsonl")))
    assert {r["id"] for r in rows} == dataset.helsinki


@pytest.mark.parametrize("fmt", ["table", *PARSED])
def test_visits(run: Callable[..., Result], dataset: Dataset, fmt: str) -> None:
    output = ok(
        run("visits", str(dataset.premium.id), *DATES, "--page-size", "30", "--format", fmt)
    )
    if fmt == "table":
        assert output.count(" > ") >= 1
        assert len({lead for lead in dataset.leads if lead in output}) == len(dataset.leads)
        return
    rows = parse(fmt, output)
    assert len({r["id"] for r in rows}) == len(rows) == dataset.visits
    assert {r["lead_id"] for r in rows} == set(dataset.leads)


def test_visits_of_one_lead(run: Callable[..., Result], dataset: Dataset) -> None:
    lead = next(iter(dataset.helsinki))
    args = ["visits", str(dataset.premium.id), *DATES, "--lead", lead, "--format", "json"]
    rows = parse("json", ok(run(*args)))
    assert [r["lead_id"] for r in rows] == [lead, lead]


@pytest.mark.parametrize("fmt", ["table", *PARSED])
def test_export_rows(run: Callable[..., Result], dataset: Dataset, fmt: str) -> None:
    output = ok(run("export", str(dataset.premium.id), *DATES, "--format", fmt))
    if fmt == "table":
        assert all(name in output for name in dataset.leads.values())
        return
    rows = parse(fmt, output)
    assert sorted(r["id"] for r in rows) == sorted(dataset.leads)
    assert {str(r["stats_visits"]) for r in rows} == {"2"}


def test_export_to_a_file(run: Callable[..., Result], dataset: Dataset, tmp_path: Path) -> None:
    target = tmp_path / "export.json"
    args = ["export", str(dataset.premium.id), *DATES, "--feed", dataset.finland, "-o", target]
    result = run(*map(str, args))
    assert result.exit_code == 0, result.stderr
    assert result.stdout == ""
    assert result.stderr.startswith("saved export ")
    assert str(target) in result.stderr
    assert {row["id"] for row in json.loads(target.read_text())["data"]} == dataset.helsinki


def test_the_progress_bar_goes_to_stderr_and_stdout_stays_clean(
    run: Callable[..., Result], dataset: Dataset
) -> None:
    args = ["leads", str(dataset.premium.id), *DATES, "--page-size", "10", "--progress"]
    result = run(*args, "--format", "jsonl")
    assert result.exit_code == 0, result.stderr
    assert len(parse("jsonl", result.stdout)) == 57
    assert "leads" in result.stderr
    assert "57/57" in result.stderr
    exported = run("export", str(dataset.premium.id), *DATES, "--progress", "--format", "csv")
    assert exported.exit_code == 0, exported.stderr
    assert len(parse("csv", exported.stdout)) == 57
    assert "downloaded" in exported.stderr


def test_flags_win_over_the_environment(
    run: Callable[..., Result], server: str, dataset: Dataset
) -> None:
    environment = {"OPENFEEDER_BASE_URL": "http://127.0.0.1:9", "OPENFEEDER_TOKEN": "wrong"}
    flags = ["--base-url", server, "--token", dataset.token]
    rows = parse("json", ok(run(*flags, "accounts", "--format", "json", env=environment)))
    assert len(rows) == 2


def test_errors_are_one_line_on_stderr_with_a_failing_status(
    run: Callable[..., Result], dataset: Dataset
) -> None:
    refused = run("accounts", env={"OPENFEEDER_TOKEN": "wrong"})
    assert refused.exit_code == 1
    assert refused.stdout == ""
    assert refused.stderr.startswith("Error: 401: Unauthorized")
    lite = run("leads", str(dataset.lite.id), *DATES)
    assert lite.exit_code == 1
    assert "402: Premium required" in lite.stderr
    bad = run("leads", str(dataset.premium.id), "--start", "2026-02-01", "--end", "2026-01-01")
    assert bad.exit_code == 1
    assert "(parameter start_date)" in bad.stderr
    unreachable = run("accounts", env={"OPENFEEDER_BASE_URL": "http://127.0.0.1:9"})
    assert unreachable.exit_code == 1
    assert unreachable.stderr.startswith("Error: ConnectError")


def test_a_missing_token_is_a_usage_error(run: Callable[..., Result]) -> None:
    result = run("accounts", env={"OPENFEEDER_TOKEN": ""})
    assert result.exit_code == 2
    assert "no API token: pass --token or set OPENFEEDER_TOKEN" in result.stderr
    assert run("leads", "--help", env={"OPENFEEDER_TOKEN": ""}).exit_code == 0


def test_the_installed_script_in_a_pipe(server: str, dataset: Dataset) -> None:
    script = Path(sys.executable).parent / "openfeeder-client"
    env = {"OPENFEEDER_BASE_URL": server, "OPENFEEDER_TOKEN": dataset.token, "PATH": ""}
    args = ["leads", str(dataset.premium.id), *DATES, "--page-size", "25", "--format", "csv"]
    piped = subprocess.run(
        [str(script), *args], env=env, capture_output=True, text=True, check=False, timeout=60
    )
    assert piped.returncode == 0, piped.stderr
    assert piped.stderr == ""
    assert sorted(r["id"] for r in parse("csv", piped.stdout)) == sorted(dataset.leads)
    version = subprocess.run(
        [sys.executable, "-m", "openfeeder_client", "--version"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert version.stdout.strip() == f"openfeeder-client, version {__version__}"
