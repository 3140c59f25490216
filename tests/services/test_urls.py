"""``public_base_url``: the one rule for the service's absolute links, in its order of
precedence, always without a trailing slash."""

from __future__ import annotations

import pytest

from openfeeder.config import Settings
from openfeeder.services.urls import public_base_url


@pytest.mark.parametrize(
    ("public_url", "request_base_url", "expected"),
    [
        ("https://leads.example.com/", "http://10.0.0.5:8000/", "https://leads.example.com"),
        ("https://leads.example.com", None, "https://leads.example.com"),
        (None, "http://testserver/", "http://testserver"),
        (None, "https://proxy.example/openfeeder/", "https://proxy.example/openfeeder"),
        (None, None, "http://0.0.0.0:9000"),
        (None, "", "http://0.0.0.0:9000"),
    ],
)
def test_public_url_then_the_request_then_the_listening_address(
    public_url: str | None, request_base_url: str | None, expected: str
) -> None:
    settings = Settings(public_url=public_url, host="0.0.0.0", port=9000)  # noqa: S104
    assert public_base_url(settings, request_base_url) == expected
