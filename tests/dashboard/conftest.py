"""Dashboard fixtures: a browser-like client (cookies kept), signing in through the form, and
one real Chromium per test module for the browser tests."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from starlette.testclient import TestClient

from openfeeder.services import signin
from openfeeder.store.db import Database
from tests.mail.conftest import certificate_authority, start_smtp  # noqa: F401 (fixtures)
from tests.support.browser import launch_chromium
from tests.support.clients import MakeClient
from tests.support.factories import Member

PASSWORD = "a long test password"
_HIDDEN = re.compile(r'<input type="hidden" name="(\w+)" value="([^"]*)">')


def hidden_fields(html: str) -> dict[str, str]:
    return dict(_HIDDEN.findall(html))


def give_password(db: Database, member: Member, password: str = PASSWORD) -> None:
    signin.set_password(db, member.user.email, password)


def sign_in(
    client: TestClient, email: str, password: str = PASSWORD, next_path: str | None = None
) -> httpx.Response:
    """Fills in and sends the sign-in form as a browser would; returns the answer to it."""
    form_page = client.get("/app/login", params={"next": next_path} if next_path else None)
    assert form_page.status_code == 200
    fields = hidden_fields(form_page.text)
    return client.post(
        "/app/login",
        data={**fields, "email": email, "password": password},
        follow_redirects=False,
    )


def csrf_of(client: TestClient, path: str) -> str:
    """The CSRF token a signed-in page carries (in its sign-out form)."""
    return hidden_fields(client.get(path).text)["csrf"]


def set_cookie(answer: httpx.Response, name: str) -> str | None:
    """The Set-Cookie header that sets ``name``, if the answer has one."""
    for header, value in answer.headers.multi_items():
        if header == "set-cookie" and value.startswith(f"{name}="):
            return value
    return None


@pytest.fixture
def signed_in(make_client: MakeClient, db: Database, member: Member) -> TestClient:
    """A client signed in as ``member`` (who gets a password for it)."""
    give_password(db, member)
    client = make_client()
    assert sign_in(client, member.user.email).status_code == 303
    return client


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    """Debian's Chromium, started once for a module's browser tests; each test opens its own
    context (cookies and storage of its own) in it."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        yield browser
        browser.close()
