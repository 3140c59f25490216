"""The seed, Leadfeeder's API documentation (``leadfeeder-api.txt``), for every test that
reads it: where it is, its text, and the example requests and responses it shows.

The file is ``OPENFEEDER_SEED_FILE`` when that is set (a relative path is taken from the
repository's root), else ``../shared/seed/leadfeeder-api.txt`` beside the repository."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
DEFAULT = Path("..") / "shared" / "seed" / "leadfeeder-api.txt"


def seed_file() -> Path:
    """Where the seed is (or would be: it may not be checked out)."""
    return (ROOT / (os.environ.get("OPENFEEDER_SEED_FILE") or DEFAULT)).resolve()


def seed_text() -> str:
    """The seed's text; fails the test when the file is missing."""
    path = seed_file()
    if not path.is_file():
        pytest.fail(f"the seed file is missing at {path}; set OPENFEEDER_SEED_FILE")
    return path.read_text(encoding="utf-8")


def seed_examples() -> list[tuple[str, str, Any]]:
    """(method, URL, JSON body) for every curl example followed by a JSON response."""
    text = seed_text()
    out = []
    url_pattern = re.compile(r'"(https://api\.leadfeeder\.com[^"\s]*)')
    for curl in re.finditer(r"curl ", text):
        match = url_pattern.search(text, curl.end(), curl.end() + 400)
        if match is None or match.group(1).endswith("..."):
            continue
        method = "POST" if "-XPOST" in text[curl.end() : match.start()] else "GET"
        rest = text[match.end() :]
        start = rest.find("\n{")
        next_curl = rest.find("curl ")
        if start < 0 or (0 <= next_curl < start):
            continue
        body = _balanced(rest[start + 1 :])
        out.append((method, match.group(1), _loads_lenient(body)))
    return out


def _balanced(text: str) -> str:
    depth = 0
    for index, char in enumerate(text):
        depth += {"{": 1, "}": -1}.get(char, 0)
        if depth == 0:
            return text[: index + 1]
    raise AssertionError("unbalanced JSON in the seed")


def _loads_lenient(text: str) -> Any:
    # The seed's accounts example has a trailing comma; JSON does not allow it.
    return json.loads(re.sub(r",\s*([\]}])", r"\1", text))
