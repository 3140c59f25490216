"""Flat rows from real responses: stable columns whatever the server sent, plain values
that CSV and JSON take as they are, and the server's extra attributes as extra columns."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator

import pytest
from harness import FIRST, LAST, App, Dataset

from openfeeder_client import (
    Client,
    Lead,
    Location,
    account_row,
    export_row,
    feed_row,
    lead_row,
    to_row,
    to_rows,
    visit_row,
)
from openfeeder_client.models import ExportRequest

PLAIN = (str, int, float, bool, type(None))


@pytest.fixture
def client(shared_app: App, dataset: Dataset) -> Iterator[Client]:
    with shared_app.client(dataset.token, sleep=shared_app.run_jobs) as opened:
        yield opened


def test_lead_rows_have_the_same_columns_whatever_was_sent(
    client: Client, dataset: Dataset
) -> None:
    full = [lead_row(lead) for lead in client.leads(dataset.premium.id, FIRST, LAST)]
    sparse = lead_row(
        client.leads(dataset.premium.id, FIRST, LAST, fields={"leads": ["name"]}).first()
        or Lead(id="none")
    )
    assert list(sparse) == list(full[0])
    assert list(full[0])[:3] == ["id", "name", "industry"]
    assert list(full[0])[-7:] == ["location_id", *(f"location_{n}" for n in Location.FIELDS)]
    assert {"employees_range_min", "employees_range_max"} <= set(full[0])
    for row in full:
        assert all(isinstance(value, PLAIN) for value in row.values())
        assert row["name"] == dataset.leads[str(row["id"])]
        assert row["industries"] == "Software Development"
        assert row["tags"] == ""
        assert row["location_city"] in ("Helsinki", "Boston")
        assert isinstance(row["last_visit_date"], str)
        assert row["last_visit_date"].startswith("2026-01-")
    assert sparse["website_url"] is None


def test_rows_survive_a_csv_and_a_json_round_trip(client: Client, dataset: Dataset) -> None:
    rows = list(to_rows(client.leads(dataset.premium.id, FIRST, LAST)))
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    read = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert [r["id"] for r in read] == [r["id"] for r in rows]
    assert [r["name"] for r in read] == [r["name"] for r in rows]
    assert json.loads(json.dumps(rows)) == rows


def test_visit_rows_show_the_route_and_the_location(client: Client, dataset: Dataset) -> None:
    for visit in client.visits(dataset.premium.id, FIRST, LAST, page_size=100):
        row = visit_row(visit)
        assert row == to_row(visit)
        assert row["visit_route"] == " > ".join(
            str(step.display_page_name) for step in visit.visit_route
        )
        assert isinstance(row["started_at"], str)
        assert row["started_at"].startswith("2026-01-")
        assert row["lead_id"] == visit.lead_id
        assert row["location_city"] in ("Helsinki", "Boston")
        assert all(isinstance(value, PLAIN) for value in row.values())


def test_account_feed_and_export_rows(client: Client, dataset: Dataset) -> None:
    account = client.account(dataset.premium.id)
    assert account_row(account)["subscription"] == "premium"
    assert account_row(account)["subscription_addons"] == ""
    finland = feed_row(client.custom_feed(dataset.premium.id, dataset.finland))
    assert finland == {
        "id": dataset.finland,
        "name": "Finland",
        "criteria": "country_code: Finland",
    }
    rows = [
        export_row(row)
        for row in client.export_leads(dataset.premium.id, dataset.finland, FIRST, LAST)
    ]
    assert {row["id"] for row in rows} == dataset.helsinki
    for row in rows:
        assert (row["stats_visits"], row["keywords"]) == (2, "")
        assert isinstance(row["quality"], int)
        assert list(row)[: len(lead_row(Lead(id="x")))] == list(lead_row(Lead(id="x")))


def test_extra_attributes_become_extra_columns() -> None:
    lead = Lead(id="x", extra={"name": "clash", "signals": ["a", "b"], "score": {"fit": 1}})
    row = lead_row(lead)
    assert row["name"] is None
    assert (row["extra_name"], row["signals"], row["score"]) == ("clash", "a; b", '{"fit": 1}')
    assert list(row)[-3:] == ["extra_name", "signals", "score"]


def test_only_models_have_rows() -> None:
    with pytest.raises(TypeError, match="no row for ExportRequest"):
        to_row(ExportRequest(id="e"))  # type: ignore[arg-type]
