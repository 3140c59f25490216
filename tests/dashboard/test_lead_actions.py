"""Working a lead from its page: follow, assign, tag, note, mark handled — each one a form
with the CSRF token, each visible to the API as the API already shows leads."""

from __future__ import annotations

import re
from html import unescape

import pytest
from starlette.testclient import TestClient

from openfeeder.domain.models import Account
from openfeeder.services import admin
from openfeeder.store.db import Database
from tests.dashboard.conftest import csrf_of
from tests.support.clients import auth
from tests.support.factories import Builder, Member

INTERVAL = {"start_date": "2026-01-01", "end_date": "2026-01-31"}


@pytest.fixture
def lead_path(builder: Builder, account: Account, signed_in: TestClient) -> str:
    builder.visits(account, builder.companies(1))
    feed = signed_in.get(
        f"/app/{account.id}/leads",
        params={"range": "custom", "start": "2026-01-01", "end": "2026-01-31"},
    )
    found = re.search(r'href="(/app/\d+/leads/[^"/]+)"', feed.text)
    assert found is not None
    return found.group(1)


def _api_lead(
    client: TestClient, member: Member, account: Account, feed: str = "all_leads"
) -> list[dict]:
    path = (
        f"/accounts/{account.id}/leads"
        if feed == "all_leads"
        else f"/accounts/{account.id}/custom-feeds/{feed}/leads"
    )
    answer = client.get(path, params=INTERVAL, headers=auth(member.token))
    assert answer.status_code == 200, answer.text
    return answer.json()["data"]


def _post(client: TestClient, path: str, **form: str) -> int:
    token = csrf_of(client, path.rsplit("/", 1)[0])
    return client.post(path, data={"csrf": token, **form}, follow_redirects=False).status_code


def test_follow_then_unfollow_shows_in_the_api_followed_feed(
    signed_in: TestClient, member: Member, account: Account, lead_path: str
) -> None:
    assert _post(signed_in, f"{lead_path}/follow") == 303
    assert len(_api_lead(signed_in, member, account, "followed_companies")) == 1
    assert "Unfollow" in signed_in.get(lead_path).text
    assert _post(signed_in, f"{lead_path}/unfollow") == 303
    assert _api_lead(signed_in, member, account, "followed_companies") == []


def test_assign_tag_note_and_mark_handled(
    signed_in: TestClient,
    db: Database,
    builder: Builder,
    member: Member,
    account: Account,
    lead_path: str,
) -> None:
    colleague = builder.user("colleague@example.com")
    admin.add_member(db, colleague.user.email, account.id)
    [lead] = _api_lead(signed_in, member, account)
    assert lead["attributes"]["status"] == "new"

    assert _post(signed_in, f"{lead_path}/assign", assignee="Colleague@Example.com") == 303
    assert _post(signed_in, f"{lead_path}/tags", tags=" hot , Nordics,hot,, <b>x</b> ") == 303
    assert (
        _post(signed_in, f"{lead_path}/notes", body="Called them.\nCall back in May <script>")
        == 303
    )
    [lead] = _api_lead(signed_in, member, account)
    assert lead["attributes"]["assignee"] == "colleague@example.com"
    assert lead["attributes"]["tags"] == ["hot", "Nordics", "<b>x</b>"]
    assert lead["attributes"]["status"] == "handled"
    page = signed_in.get(lead_path).text
    assert "Called them.\nCall back in May &lt;script&gt;" in page
    assert "&lt;b&gt;x&lt;/b&gt;" in page

    assert _post(signed_in, f"{lead_path}/assign", assignee="") == 303
    assert _api_lead(signed_in, member, account)[0]["attributes"]["status"] == "new"
    assert _post(signed_in, f"{lead_path}/handled") == 303
    [lead] = _api_lead(signed_in, member, account)
    assert lead["attributes"]["status"] == "handled"
    assert lead["attributes"]["assignee"] == member.user.email


@pytest.mark.parametrize(
    ("action", "form", "says"),
    [
        ("assign", {"assignee": "stranger@example.com"}, "only to members"),
        ("tags", {"tags": ",".join(f"t{i}" for i in range(21))}, "at most 20 tags"),
        ("tags", {"tags": "x" * 51}, "at most 50 characters"),
        ("tags", {"tags": "a\x00b"}, "control characters"),
        ("notes", {"body": "   "}, "empty"),
        ("notes", {"body": "n" * 5001}, "longer than 5000"),
        ("explode", {}, "no such action"),
    ],
)
def test_bad_actions_get_an_error_page_and_change_nothing(
    signed_in: TestClient,
    member: Member,
    account: Account,
    lead_path: str,
    action: str,
    form: dict[str, str],
    says: str,
) -> None:
    before = _api_lead(signed_in, member, account)
    token = csrf_of(signed_in, lead_path)
    answer = signed_in.post(f"{lead_path}/{action}", data={"csrf": token, **form})
    assert answer.status_code in (400, 404)
    assert says in unescape(answer.text)
    assert _api_lead(signed_in, member, account) == before
