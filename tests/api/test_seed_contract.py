"""The seed's examples are the contract: each example request, replayed over real HTTP
against a real `openfeeder serve` holding the demo, returns the documented status and a
body of the documented shape (same attribute names, same JSON types; ids and values differ).

The seed's JSON examples are parsed from the seed file itself, so a change there shows here.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.seed import seed_examples
from tests.support.servers import ServeProcess, drop_postgres_database, fresh_postgres_database

BIN = Path(sys.executable).parent / "openfeeder"

# Where the seed disagrees with itself we follow its attribute tables (docs/api.md):
# lf_client_id is a String in the table (a number in the example); crm_organization_id is an
# Integer in the table ("" in one example).
TYPE_EXCEPTIONS = {("visits", "lf_client_id"), ("leads", "crm_organization_id")}
# "Present only when … the visitor has Adobe cookies" (the seed's visit table).
OPTIONAL = {("visits", "adobe_cookies")}


@dataclass
class Demo:
    base: str
    token: str
    accounts: list[dict[str, str]]

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        headers = {"Authorization": f"Token token={self.token}", "User-Agent": "seed-test"}
        return httpx.get(self.base + path, headers=headers, timeout=30, **kwargs)

    def post(self, path: str, **kwargs: Any) -> httpx.Response:
        headers = {"Authorization": f"Token token={self.token}", "User-Agent": "seed-test"}
        return httpx.post(self.base + path, headers=headers, timeout=30, **kwargs)

    @property
    def premium(self) -> str:
        return next(a["id"] for a in self.accounts if a["subscription"] == "premium")


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def demo(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Demo]:
    """`openfeeder demo --json`, then `openfeeder serve` on a free port, as a user would."""
    workdir = tmp_path_factory.mktemp("demo")
    url = (
        f"sqlite:///{workdir / 'demo.db'}"
        if request.param == "sqlite"
        else fresh_postgres_database(f"openfeeder_demo_{os.getpid()}")
    )
    env = {
        "OPENFEEDER_DATABASE_URL": url,
        "OPENFEEDER_DATA_DIR": str(workdir / "data"),
        # The replay makes more than 100 requests in a minute; the limits have their own tests.
        "OPENFEEDER_RATE_LIMIT_PER_MINUTE": "100000",
    }
    loaded = subprocess.run(
        [str(BIN), "demo", "--json"],
        env={k: v for k, v in os.environ.items() if not k.startswith("OPENFEEDER_")} | env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert loaded.returncode == 0, loaded.stderr
    printed = json.loads(loaded.stdout)
    server = ServeProcess(env, workdir / "serve.log").start()
    try:
        yield Demo(server.url, printed["token"], printed["accounts"])
    finally:
        server.stop()
        if request.param == "postgresql":
            drop_postgres_database(url)


def json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    return type(value).__name__


def assert_same_shape(kind: str, seed: dict[str, Any], ours: list[dict[str, Any]]) -> None:
    """Every attribute the seed shows is in our objects of that type, with the same JSON type
    wherever both sides have a value. Optional attributes (the seed's ``adobe_cookies``
    appears only on visits that have them) need only appear on one of our objects."""
    names = {name for attributes in ours for name in attributes}
    missing = sorted(name for name in set(seed) - names if (kind, name) not in OPTIONAL)
    assert not missing, f"{kind}: attributes missing from our response: {missing}"
    for name, value in seed.items():
        if value is None or (kind, name) in TYPE_EXCEPTIONS:
            continue
        values = [a[name] for a in ours if a.get(name) is not None]
        for mine in values:
            assert json_type(mine) == json_type(value), (kind, name, mine, value)
            if isinstance(value, list) and value and mine:
                assert json_type(mine[0]) == json_type(value[0]), (kind, name)
            if isinstance(value, dict) and kind != "custom_feeds":
                assert set(value) <= set(mine), (kind, name)


def assert_document_like(seed: dict[str, Any], ours: dict[str, Any]) -> None:
    assert set(seed) <= set(ours), (sorted(seed), sorted(ours))
    seed_data = seed["data"] if isinstance(seed["data"], list) else [seed["data"]]
    our_data = ours["data"] if isinstance(ours["data"], list) else [ours["data"]]
    assert our_data, "our response has no data to compare"
    by_type: dict[str, list[dict[str, Any]]] = {}
    for obj in our_data + ours.get("included", []):
        assert isinstance(obj["id"], str)
        by_type.setdefault(obj["type"], []).append(obj)
    for obj in seed_data + seed.get("included", []):
        kind = obj["type"]
        assert kind in by_type, f"no {kind} in our response"
        assert_same_shape(kind, obj.get("attributes", {}), [o["attributes"] for o in by_type[kind]])
        for mine in by_type[kind]:
            assert set(obj.get("relationships", {})) <= set(mine.get("relationships", {})), kind
    if "links" in seed:
        assert set(seed["links"]) <= set(ours["links"]) | {"next"}


def _dates() -> tuple[str, str]:
    today = datetime.now(UTC).date()
    return (today - timedelta(days=89)).isoformat(), today.isoformat()


def our_path(method: str, url: str, demo: Demo) -> str:
    """The seed's URL with its sample ids, dates and feeds replaced by the demo's."""
    start, end = _dates()
    path = url.removeprefix("https://api.leadfeeder.com")
    path = path.replace("<account_id>", demo.premium).replace(
        "/accounts/6002", f"/accounts/{demo.premium}"
    )
    path = re.sub(r"start_date=[\d-]+", f"start_date={start}", path)
    path = re.sub(r"end_date=[\d-]+", f"end_date={end}", path)
    if "/custom-feed" in path and re.search(r"/custom-feeds?/\d+", path):
        feeds = demo.get(f"/accounts/{demo.premium}/custom-feeds").json()["data"]
        custom = next(f["id"] for f in feeds if f["id"].isdigit())
        path = re.sub(r"(/custom-feeds?/)\d+", rf"\g<1>{custom}", path)
    if "/leads/" in path:
        leads = demo.get(f"/accounts/{demo.premium}/leads?start_date={start}&end_date={end}").json()
        lead = leads["data"][0]["id"]
        path = re.sub(r"/leads/[^/?]+", f"/leads/{lead}", path)
    return path


def test_the_seed_has_examples_for_every_endpoint() -> None:
    urls = {url.split("?")[0] for _, url, _ in seed_examples()}
    assert len(seed_examples()) >= 12
    assert any(u.endswith("/website-tracking-script") for u in urls)
    assert any("/download/" in u for u in urls)


def test_every_seed_example_replays_against_the_demo(demo: Demo) -> None:
    _start, _end = _dates()
    replayed = 0
    for method, url, seed_body in seed_examples():
        if "errors" in seed_body:
            continue  # the 429 bodies: tests/test_ratelimit.py compares them to the letter
        if method == "POST" or "/export-requests" in url or "/download/" in url:
            continue  # the export round trip is replayed below, in order
        response = demo.get(our_path(method, url, demo))
        assert response.status_code == 200, (url, response.text)
        assert response.headers["content-type"] == "application/vnd.api+json"
        assert_document_like(seed_body, response.json())
        replayed += 1
    assert replayed >= 11


def test_seed_export_round_trip_replays_against_the_demo(demo: Demo) -> None:
    examples = {
        (method, url.split("?")[0].rsplit("/", 1)[0] if "/download/" in url else url): body
        for method, url, body in seed_examples()
    }
    start, end = _dates()
    form = {
        "account_id": demo.premium,
        "custom_feed_id": "all_leads",
        "start_date": start,
        "end_date": end,
    }
    created = demo.post("/export-requests", data=form)
    assert created.status_code == 201, created.text
    seed_created = examples[("POST", "https://api.leadfeeder.com/export-requests")]
    assert_document_like(seed_created, created.json())
    assert created.json()["data"]["attributes"]["status"] == "pending"
    status_url = created.json()["data"]["attributes"]["status_url"]
    assert created.headers["location"] == status_url
    export_id = created.json()["data"]["id"]
    deadline = time.monotonic() + 60
    while True:
        status = demo.get(f"/export-requests/{export_id}")
        assert status.status_code == 200
        if (
            status.json()["data"]["attributes"]["status"] != "pending"
            or time.monotonic() > deadline
        ):
            break
        time.sleep(0.3)
    seed_status = next(b for (m, u), b in examples.items() if "/export-requests/" in u)
    assert_document_like(seed_status, status.json())
    attributes = status.json()["data"]["attributes"]
    assert attributes["status"] == "processed"
    assert (
        httpx.get(status_url, headers={"Authorization": f"Token token={demo.token}"}).json()
        == status.json()
    )
    download = httpx.get(attributes["download_url"], timeout=30)  # no token: a capability URL
    assert download.status_code == 200
    seed_report = examples[("GET", "https://api.leadfeeder.com/download")]
    report = download.json()
    assert_document_like(seed_report, report)
    visits_total = sum(row["attributes"]["stats"]["visits"] for row in report["data"])
    assert visits_total > 0


def test_every_leads_visits_equal_the_visits_endpoint_on_the_demo(demo: Demo) -> None:
    """For every lead in an interval, `visits` equals what the visits endpoint returns."""
    start, end = _dates()
    dates = f"start_date={start}&end_date={end}"
    url: str | None = f"/accounts/{demo.premium}/leads?{dates}&page[size]=100"
    checked = 0
    while url:
        page = demo.get(url.removeprefix(demo.base)).json()
        for lead in page["data"]:
            visits = demo.get(
                f"/accounts/{demo.premium}/leads/{lead['id']}/visits?{dates}&page[size]=100"
            ).json()
            assert visits["meta"]["total_count"] == lead["attributes"]["visits"], lead["id"]
            assert len(visits["data"]) == min(100, lead["attributes"]["visits"])
            checked += 1
        url = page["links"].get("next")
    assert checked >= 300
