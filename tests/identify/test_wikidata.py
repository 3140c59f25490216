"""``openfeeder companies import --format wikidata``: the SPARQL JSON results of the documented
query (a small fixture in that format) merged into companies by domain, on both stores."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from openfeeder.cli import main
from openfeeder.config import Settings
from openfeeder.domain.errors import BadRequest
from openfeeder.identify.companies import import_companies
from openfeeder.identify.wikidata import QUERY, import_wikidata
from openfeeder.store import identify as store
from openfeeder.store.db import Database

FIXTURE = Path(__file__).parent / "data" / "wikidata.json"


def _companies(db: Database) -> dict[str, store.Sourced]:
    with db.read() as conn:
        ids = store.company_ids_by_key(conn, {"nokia.com", "tuni.fi"})
        sourced = store.sourced_companies(conn, set(ids.values()))
        return {domain: sourced[id_] for domain, id_ in ids.items()}


def test_the_results_become_companies_by_domain(db: Database) -> None:
    result = import_wikidata(db, FIXTURE)
    assert (result.items, result.skipped) == (5, 3)
    assert result.imported is not None
    assert (result.imported.created, result.imported.updated) == (2, 0)
    found = _companies(db)
    nokia = found["nokia.com"].company
    assert nokia.name == "Nokia"
    assert nokia.website_url == "https://www.nokia.com/"
    assert nokia.industry == "telecommunications equipment"  # the first of its industries
    assert (nokia.employee_count, nokia.revenue) == (86896, "24200000000")
    assert nokia.linkedin_url == "https://www.linkedin.com/company/nokia"
    assert (nokia.twitter_handle, nokia.facebook_url) == ("nokia", "https://www.facebook.com/nokia")
    assert nokia.logo_url == (
        "https://commons.wikimedia.org/wiki/Special:FilePath/Nokia%20wordmark.svg"
    )
    assert found["nokia.com"].profile == {"country": "FI"}
    assert found["nokia.com"].sources["name"] == "wikidata"
    assert found["tuni.fi"].company.linkedin_url == (
        "https://www.linkedin.com/company/tampere-university"
    )


def test_imported_fields_are_kept_and_the_rest_filled_in(db: Database, tmp_path: Path) -> None:
    mine = tmp_path / "mine.jsonl"
    mine.write_text(
        json.dumps({"name": "Nokia Oyj", "domain": "nokia.com", "industry": "Networks"}) + "\n",
        encoding="utf-8",
    )
    first = import_companies(db, mine)
    result = import_wikidata(db, FIXTURE)
    assert result.imported is not None
    assert (result.imported.created, result.imported.updated) == (1, 1)
    nokia = _companies(db)["nokia.com"]
    assert (nokia.company.name, nokia.company.industry) == ("Nokia Oyj", "Networks")
    assert nokia.company.employee_count == 86896
    assert nokia.sources["name"] == "import"
    assert nokia.sources["employee_count"] == "wikidata"
    assert first.created == 1


def test_the_first_skipped_item_says_why(db: Database) -> None:
    result = import_wikidata(db, FIXTURE)
    assert result.first_skip == (
        "http://www.wikidata.org/entity/Q99999990: nokia.com is also another item's website"
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("not json", "not JSON"),
        ('{"head": {}}', "not SPARQL JSON results"),
        ('{"results": {"bindings": {}}}', "not SPARQL JSON results"),
        ('{"results": {"bindings": []}}', "no organisation with an official website"),
    ],
)
def test_a_bad_file_is_refused_and_nothing_written(
    db: Database, tmp_path: Path, text: str, message: str
) -> None:
    path = tmp_path / "results.json"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(BadRequest, match=message):
        import_wikidata(db, path)
    assert _companies(db) == {}


def _cli(settings: Settings, *args: str) -> Any:
    env = {"OPENFEEDER_DATABASE_URL": settings.database_url}
    return CliRunner().invoke(main, ["companies", "import", *args], env=env)


def test_the_command(settings: Settings, tmp_path: Path) -> None:
    done = _cli(settings, "--format", "wikidata", str(FIXTURE))
    assert done.exit_code == 0, done.output
    assert done.stdout.splitlines() == [
        "Read 5 organisations, 3 skipped.",
        "First skipped: http://www.wikidata.org/entity/Q99999990: nokia.com is also another "
        "item's website",
        "Imported 2 companies (2 new, 0 updated): 0 IP ranges, 2 domains, 0 AS numbers.",
    ]
    bad = tmp_path / "bad.json"
    bad.write_text("[]", encoding="utf-8")
    refused = _cli(settings, "--format", "wikidata", str(bad))
    assert refused.exit_code != 0
    assert "not SPARQL JSON results" in refused.output
    assert "Traceback" not in refused.output


def test_the_documented_query_is_the_one_in_the_docs() -> None:
    docs = (Path(__file__).parents[2] / "docs" / "identification.md").read_text(encoding="utf-8")
    assert QUERY in docs
