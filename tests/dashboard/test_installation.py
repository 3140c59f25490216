"""The tracking page's "Check installation": this server fetches a page an admin names from a
real HTTP server on 127.0.0.1 (loopback allowed only by the setting the tests turn on) and
says whether the account's snippet is on it, or why not; bad addresses are form errors, other
addresses are refused, and checks are rate-limited per account."""

from __future__ import annotations

import re
from collections.abc import Iterator
from html import unescape

import pytest
from starlette.testclient import TestClient

from openfeeder.domain.models import Account
from openfeeder.services.accounts import script_html
from tests.dashboard.conftest import csrf_of, give_password, sign_in
from tests.support.clients import MakeClient
from tests.support.downloads import FileServer, file_server
from tests.support.factories import Builder, Member

PAGE = "<!doctype html><html><head><title>Shop</title>{head}</head><body>{body}</body></html>"


@pytest.fixture
def site() -> Iterator[FileServer]:
    with file_server() as files:
        yield files


def admin(make_client: MakeClient, db: object, member: Member, **changes: object) -> TestClient:
    give_password(db, member)  # type: ignore[arg-type]
    client = make_client(**changes)
    assert sign_in(client, member.user.email).status_code == 303
    return client


@pytest.fixture
def checker(make_client: MakeClient, db: object, member: Member) -> TestClient:
    """A signed-in admin on a server whose installation check may fetch from 127.0.0.1."""
    return admin(make_client, db, member, website_allow_loopback=True, website_timeout=0.5)


def check(client: TestClient, account: Account, url: str) -> tuple[int, str]:
    """Sends the form; the answer's status and what the page says about the check."""
    path = f"/app/{account.id}/settings/tracking"
    answer = client.post(f"{path}/check", data={"csrf": csrf_of(client, path), "url": url})
    said = re.search(
        r'<p class="(?:check[^"]*|error)" role="(?:status|alert)">(.*?)</p>', answer.text, re.S
    )
    assert said is not None, answer.text
    return answer.status_code, unescape(re.sub(r"<[^>]+>", "", said.group(1)))


def snippet(client: TestClient, account: Account) -> str:
    """The snippet as the tracking page shows it, for an admin to copy."""
    page = client.get(f"/app/{account.id}/settings/tracking").text
    found = re.search(r'<pre id="snippet" class="snippet">(.*?)</pre>', page, re.S)
    assert found is not None
    return unescape(found.group(1))


def test_the_snippet_is_found_on_a_page_that_has_it_and_through_a_redirect(
    checker: TestClient, site: FileServer, account: Account
) -> None:
    mine = snippet(checker, account)
    with_it = site.serve("/", PAGE.format(head=mine, body="Hello").encode())
    assert check(checker, account, with_it) == (
        200,
        f"Installed: This account's tracking script is on {with_it}.",
    )
    moved = site.serve("/old", b"", mode="redirect", location="/")
    assert (
        check(checker, account, moved)[1]
        == f"Installed: This account's tracking script is on {with_it}."
    )
    # The script tag on its own (without the loader) counts too.
    loads = re.search(r"ce\('([^']+)'", mine).group(1)  # type: ignore[union-attr]
    direct = f"{loads}{account.script_hash}.js"  # http://testserver/lftracker_v1_<id>.js
    tag = site.serve(
        "/tag", PAGE.format(head=f'<script async src="{direct}"></script>', body="").encode()
    )
    assert check(checker, account, tag)[1].startswith("Installed:")


def test_pages_without_the_snippet_say_why(
    checker: TestClient, site: FileServer, builder: Builder, account: Account
) -> None:
    plain = site.serve("/plain", PAGE.format(head="", body="No tracker here").encode())
    assert check(checker, account, plain) == (
        200,
        f"Not installed: The tracking script is not on {plain}.",
    )
    other = builder.account()
    theirs = script_html("http://testserver", other.script_hash)
    foreign = site.serve("/foreign", PAGE.format(head=theirs, body="").encode())
    said = check(checker, account, foreign)[1]
    assert said.startswith(
        f"Not installed: {foreign} has a tracking script (script id {other.script_hash})"
    )
    elsewhere = script_html("https://old-server.example", account.script_hash)
    moved = site.serve("/moved", PAGE.format(head=elsewhere, body="").encode())
    said = check(checker, account, moved)[1]
    assert (
        "the tracker is loaded from https://old-server.example, not from http://testserver" in said
    )
    data = site.serve("/data.json", b'{"not": "html"}', content_type="application/json")
    assert check(checker, account, data)[1] == (
        f"Not installed: {data} is application/json, not HTML: "
        "the snippet is looked for on HTML pages."
    )
    site.fail("/gone", 404)
    assert check(checker, account, site.url + "/gone")[1] == (
        f"Not installed: {site.url}/gone answered HTTP 404."
    )
    slow = site.serve("/slow", b"", mode="hang")
    assert check(checker, account, slow)[1] == (
        f"Not installed: {slow} did not answer within 0.5 seconds."
    )


def test_a_huge_page_is_read_only_as_far_as_the_bound(
    checker: TestClient, site: FileServer, account: Account
) -> None:
    filler = "<p>" + "x" * 1000 + "</p>\n"
    body = PAGE.format(head="", body=filler * 3000 + snippet(checker, account))  # ~3 MB
    huge = site.serve("/huge", body.encode())
    assert check(checker, account, huge) == (
        200,
        f"Not installed: The tracking script is not on {huge} (only its first 1 MiB was read).",
    )


def test_loopback_and_private_addresses_are_refused_without_the_setting(
    make_client: MakeClient, db: object, site: FileServer, member: Member, account: Account
) -> None:
    client = admin(make_client, db, member)
    page = site.serve("/", PAGE.format(head="", body="").encode())
    for url, why in (
        (page, "127.0.0.1 resolves to 127.0.0.1, a loopback address"),
        ("http://10.1.2.3/", "10.1.2.3 resolves to 10.1.2.3, a private address"),
        ("http://[::1]:8080/", "::1 resolves to ::1, a loopback address"),
        ("http://169.254.169.254/latest/meta-data/", "a link-local address"),
    ):
        status, said = check(client, account, url)
        assert status == 200
        assert said.startswith(f"Not installed: {url} was not fetched: "), said
        assert why in said
    assert site.paths() == []  # nothing reached the server


def test_bad_addresses_are_form_errors(checker: TestClient, account: Account) -> None:
    for url, says in (
        ("", "Give the address of a page"),
        ("ftp://example.com/", "Only http:// and https://"),
        ("javascript:alert(1)", "Only http:// and https://"),
        ("https://example.com/" + "a" * 2000, "longer than 2000 characters"),
        ("https://exa mple.com/", "spaces or control characters"),
        ("https://user:secret@example.com/", "no user name or password"),
        ("https://example.com:99999/", "not a web address"),
        ("http:///nohost", "needs a host name"),
    ):
        status, said = check(checker, account, url)
        assert status == 400, url
        assert says in said, (url, said)


def test_checks_are_rate_limited_per_account(
    make_client: MakeClient, db: object, site: FileServer, member: Member, account: Account
) -> None:
    client = admin(
        make_client,
        db,
        member,
        website_allow_loopback=True,
        installation_checks_per_minute=2,
    )
    page = site.serve("/", PAGE.format(head="", body="").encode())
    assert [check(client, account, page)[0] for _ in range(2)] == [200, 200]
    status, said = check(client, account, page)
    assert status == 429
    assert said == "At most 2 installation checks a minute. Try again in a minute."
    assert len(site.paths()) == 2


def test_members_who_are_not_admins_cannot_check(
    signed_in: TestClient, db: object, member: Member, account: Account
) -> None:
    import sqlalchemy as sa

    from openfeeder.store import schema as t

    m = t.memberships.c
    with db.write() as conn:  # type: ignore[attr-defined]
        conn.execute(
            sa.update(t.memberships).where(m.user_id == member.user.id).values(role="member")
        )
    path = f"/app/{account.id}/settings/tracking"
    csrf = csrf_of(signed_in, f"/app/{account.id}/leads")
    answer = signed_in.post(f"{path}/check", data={"csrf": csrf, "url": "https://example.com/"})
    assert answer.status_code == 403
