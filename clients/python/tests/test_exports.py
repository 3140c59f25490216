"""Exports through the client: request, wait with backoff, download — as rows, to a path or
to a file object — in-process and over HTTP; an export the server fails, one that never
finishes in time, and a download asked for too early."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from pathlib import Path

import pytest
from harness import FIRST, LAST, App, Dataset, FakeClock
from tests.support.factories import Builder

from openfeeder.jobs.queue import make_queue
from openfeeder.services.exports import LocalExportFiles
from openfeeder_client import (
    Client,
    ExportFailed,
    ExportRequest,
    ExportTimeout,
    OpenfeederClientError,
)


def test_export_round_trip_yields_every_lead_as_a_row(client: Client, dataset: Dataset) -> None:
    polled: list[ExportRequest] = []
    progress: list[tuple[int, int | None]] = []
    rows = list(
        client.export_leads(
            dataset.premium.id,
            "all_leads",
            FIRST,
            LAST,
            on_poll=polled.append,
            on_progress=lambda done, total: progress.append((done, total)),
        )
    )
    assert sorted(row.lead.id for row in rows) == sorted(dataset.leads)
    for row in rows:
        assert row.id == row.lead.id
        assert row.lead.name == dataset.leads[row.lead.id]
        assert row.lead.location is not None
        assert row.lead.location.city in ("Helsinki", "Boston")
        assert row.stats.visits == 2
        assert row.stats.last_visit is not None
        assert row.quality is not None
    assert polled
    assert {state.status for state in polled} == {"pending"}
    assert progress
    assert progress[-1][0] == progress[-1][1]  # every byte the server announced arrived


def test_export_of_a_feed_streamed_to_a_path(
    client: Client, dataset: Dataset, tmp_path: Path
) -> None:
    target = tmp_path / "finland.json"
    done = client.export_leads(dataset.premium.id, dataset.finland, FIRST, LAST, to=target)
    assert done.status == "processed"
    assert done.download_url is not None
    report = json.loads(target.read_text())
    assert {row["id"] for row in report["data"]} == dataset.helsinki
    assert list(tmp_path.iterdir()) == [target]  # no temporary file left behind


def test_export_streamed_to_a_file_object(client: Client, dataset: Dataset) -> None:
    buffer = io.BytesIO()
    created = client.request_export(dataset.premium.id, dataset.finland, FIRST, LAST)
    assert created.status == "pending"
    assert created.download_url is None
    assert created.created_at is not None
    assert created.status_url is not None
    assert created.status_url.endswith(created.id)
    done = client.wait_for_export(created.id, poll_interval=0.05)
    assert client.export_request(done) == done
    size = client.download_export(done, buffer)
    assert size == len(buffer.getvalue())
    assert len(json.loads(buffer.getvalue())["data"]) == len(dataset.helsinki)


def test_a_download_before_the_export_is_processed_is_refused(
    client: Client, dataset: Dataset
) -> None:
    created = client.request_export(dataset.premium.id, "all_leads", FIRST, LAST)
    with pytest.raises(OpenfeederClientError, match="no download URL yet"):
        client.download_export(created, io.BytesIO())


def test_an_export_the_server_fails_raises_export_failed(
    make_app: Callable[..., App], builder: Builder, tmp_path: Path
) -> None:
    member = builder.user()
    account = builder.account(member)
    builder.visits(account, builder.companies(3))
    app = make_app()
    settings = app.services.settings
    files = app.services.export_files
    assert isinstance(files, LocalExportFiles)
    # A queue that retries at once, so the export uses up its attempts while we wait.
    slow_retries, app.services.queue = (
        app.services.queue,
        make_queue(settings, app.services.db, files=files, retry_delay=0),
    )
    slow_retries.close()
    files.directory.parent.mkdir(parents=True, exist_ok=True)
    files.directory.write_text("a file where the export directory should be")
    with app.client(member.token, sleep=app.run_jobs) as client:
        with pytest.raises(ExportFailed, match="failed on the server") as raised:
            client.export_leads(account.id, "all_leads", FIRST, LAST, to=tmp_path / "out.json")
        assert raised.value.export.status == "failed"
        assert raised.value.export.download_url is None
    assert not (tmp_path / "out.json").exists()


def test_an_export_still_pending_after_the_timeout_raises_export_timeout(
    make_app: Callable[..., App], builder: Builder, clock: FakeClock
) -> None:
    member = builder.user()
    account = builder.account(member)
    app = make_app()  # nobody runs its jobs: the export stays pending
    client = app.client(member.token, clock=clock, sleep=clock.sleep)
    with client, pytest.raises(ExportTimeout, match=r"still pending after 30 s") as raised:
        client.export_leads(account.id, "all_leads", FIRST, LAST, timeout=30)
    assert raised.value.export.status == "pending"
    assert clock.slept == [0.5, 1, 2, 4, 8, 10, 4.5]  # doubling, capped, then what was left
