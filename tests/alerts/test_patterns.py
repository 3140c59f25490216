"""Page patterns (``page_visit`` rules): ``*`` any run, ``?`` one character, the rest itself,
over the whole text, case-insensitively."""

from __future__ import annotations

import pytest

from openfeeder.domain.alerts import glob_match


@pytest.mark.parametrize(
    ("pattern", "text", "expected"),
    [
        ("/pricing", "/pricing", True),
        ("/pricing", "/pricing/", False),
        ("/pricing", "/PRICING", True),
        ("*/pricing*", "https://acme.example/pricing?plan=pro", True),
        ("*/pricing*", "https://acme.example/about", False),
        ("/blog/*/comments", "/blog/2026/03/post/comments", True),
        ("/blog/*/comments", "/blog/comments", False),
        ("/docs/v?/*", "/docs/v2/install", True),
        ("/docs/v?/*", "/docs/v10/install", False),
        ("*a*b*c", "xxaxxbxxc", True),
        ("*a*b*c", "xxcxxbxxa", False),
        ("?", "", False),
        ("*", "", True),
        ("ab*ba", "aba", False),  # head and tail may not overlap
    ],
)
def test_glob_match(pattern: str, text: str, expected: bool) -> None:
    assert glob_match(pattern, text) is expected
