"""The docs stay true: every setting is in docs/configuration.md with its real default, and
every route of the OpenAPI document is in docs/api.md with an example, as are the attributes
sparse fieldsets may name."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from openfeeder.api.openapi import openapi_document
from openfeeder.api.resources import TYPES
from openfeeder.app import routes
from openfeeder.config import Settings
from openfeeder.domain.drops import DropReason
from openfeeder.pipeline import STEPS

DOCS = Path(__file__).resolve().parents[1] / "docs"
ROUTE_HEADING = re.compile(r"^#{2,4} `(GET|POST|PUT|PATCH|DELETE) (/\S*)`$", re.MULTILINE)


def table_rows(text: str) -> list[list[str]]:
    """The cells of every Markdown table row, header and separator rows included."""
    return [
        [cell.strip() for cell in line.strip().strip("|").split("|")]
        for line in text.splitlines()
        if line.startswith("|")
    ]


def shown_default(value: Any) -> str:
    """A default as configuration.md writes it."""
    if value is None:
        return "unset"
    if value == []:
        return "empty"
    if isinstance(value, bool):
        return "`true`" if value else "`false`"
    return f"`{value}`"


def test_every_setting_is_documented_with_its_default() -> None:
    text = (DOCS / "configuration.md").read_text(encoding="utf-8")
    documented = {
        row[0].strip("`"): row[1] for row in table_rows(text) if row[0].startswith("`OPENFEEDER_")
    }
    prefix = Settings.model_config.get("env_prefix", "")
    for name, field in Settings.model_fields.items():
        variable = f"{prefix}{name}".upper()
        assert variable in documented, f"{variable} is missing from the table"
        default = field.get_default(call_default_factory=True)
        assert documented[variable] == shown_default(default), variable
        assert f"## `{variable}`" in text, f"{variable} has no section"
    stale = set(documented) - {f"{prefix}{name}".upper() for name in Settings.model_fields}
    assert not stale, f"documented settings that do not exist: {stale}"


def route_sections() -> dict[tuple[str, str], str]:
    """Each ``### `METHOD /path` `` heading of docs/api.md and the text up to the next one."""
    text = (DOCS / "api.md").read_text(encoding="utf-8")
    headings = list(ROUTE_HEADING.finditer(text))
    sections: dict[tuple[str, str], str] = {}
    for heading, following in zip(headings, [*headings[1:], None], strict=True):
        end = following.start() if following else text.find("\n## ", heading.end())
        key = (heading[1], heading[2])
        assert key not in sections, f"{key} is documented twice"
        sections[key] = text[heading.end() : end if end != -1 else None]
    return sections


def documented_routes() -> set[tuple[str, str]]:
    paths = openapi_document(routes.documented())["paths"]
    return {(method.upper(), path) for path, item in paths.items() for method in item}


def test_every_route_of_the_openapi_document_is_in_api_md() -> None:
    sections = route_sections()
    missing = documented_routes() - set(sections)
    assert not missing, f"routes missing from docs/api.md: {sorted(missing)}"
    unknown = set(sections) - documented_routes()
    assert not unknown, f"docs/api.md documents routes the API does not have: {sorted(unknown)}"


@pytest.mark.parametrize(("method", "path"), sorted(documented_routes()))
def test_every_route_has_an_example_request(method: str, path: str) -> None:
    section = route_sections().get((method, path), "")
    examples = re.findall(r"```sh\n(.*?)```", section, re.DOTALL)
    assert examples, f"no example for {method} {path}"
    shape = re.sub(r"\\\{[^}]*\\\}", '[^/?" ]+', re.escape(path))
    url = re.compile(r"http://127\.0\.0\.1:8000" + shape + r"(?=[?\"\s]|$)")
    calls = [e for e in examples if e.startswith("curl ") and url.search(e)]
    assert calls, f"no curl example calls {method} {path}"
    if method != "GET":
        assert any(f"-X{method}" in call for call in calls)


def test_sparse_fieldset_table_lists_every_attribute() -> None:
    text = (DOCS / "api.md").read_text(encoding="utf-8")
    rows = {row[0].strip("`"): row[1] for row in table_rows(text) if len(row) == 2}
    for type_, names in TYPES.items():
        assert type_ in rows, f"{type_} is missing from the sparse fieldset table"
        assert rows[type_] == ", ".join(f"`{name}`" for name in names), type_


def test_the_pipeline_table_lists_each_step_with_its_drop_reasons() -> None:
    text = (DOCS / "pipeline.md").read_text(encoding="utf-8")
    section = text.split("## Steps", 1)[1].split("\n## ", 1)[0]
    rows = [row for row in table_rows(section) if row[0].isdigit()]
    documented = [(row[1].strip("`"), set(re.findall(r"`([a-z_]+)`", row[3]))) for row in rows]
    assert documented == [(step.name, {str(r) for r in step.drops}) for step in STEPS]
    # Every reason is some step's, or the runner's own for a hit set aside after an error.
    declared = set().union(*(step.drops for step in STEPS))
    assert declared | {DropReason.ERROR} == set(DropReason)
    assert "`error`" in section
