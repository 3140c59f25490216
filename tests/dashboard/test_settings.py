"""Settings for admins: the tracking page (snippet, status, when the tracker was last heard)
and traffic rules, which the pipeline then applies; members who are not admins are refused."""

from __future__ import annotations

import re
from html import unescape

import sqlalchemy as sa
from starlette.testclient import TestClient

from openfeeder.domain.models import Account
from openfeeder.store import schema as t
from openfeeder.store.db import Database
from tests.dashboard.conftest import csrf_of, give_password, sign_in
from tests.support.clients import MakeClient, auth
from tests.support.factories import Builder, Member


def test_the_tracking_page_shows_the_snippet_and_the_status(
    signed_in: TestClient, builder: Builder, member: Member, account: Account
) -> None:
    page = signed_in.get(f"/app/{account.id}/settings/tracking")
    assert page.status_code == 200
    api = signed_in.get(
        f"/accounts/{account.id}/website-tracking-script", headers=auth(member.token)
    ).json()["data"]["attributes"]["script_html"]
    snippet = re.search(r'<pre id="snippet" class="snippet">(.*?)</pre>', page.text, re.S)
    assert snippet is not None
    assert unescape(snippet.group(1)) == api
    assert "Not installed" in page.text
    builder.visits(account, builder.companies(1))
    page = signed_in.get(f"/app/{account.id}/settings/tracking")
    assert "OK — visits are being recorded" in unescape(page.text)
    assert re.search(r"<dt>Last visit</dt><dd>2026-01-\d\d \d\d:\d\d UTC</dd>", page.text)


def test_admins_add_and_remove_traffic_rules_and_the_store_has_them(
    signed_in: TestClient, db: Database, account: Account
) -> None:
    path = f"/app/{account.id}/settings/rules"
    for kind, value in (
        ("ip_range", "198.51.100.7/24"),
        ("country", "fi"),
        ("hostname", "*.Acme.example."),
    ):
        answer = signed_in.post(
            path,
            data={"csrf": csrf_of(signed_in, path), "kind": kind, "value": value},
            follow_redirects=False,
        )
        assert answer.status_code == 303
    with db.read() as conn:
        stored = conn.execute(
            sa.select(t.traffic_rules.c.kind, t.traffic_rules.c.value)
            .where(t.traffic_rules.c.account_id == account.id)
            .order_by(t.traffic_rules.c.kind)
        ).all()
    assert [tuple(row) for row in stored] == [
        ("country", "FI"),
        ("hostname", "acme.example"),
        ("ip_range", "198.51.100.0/24"),
    ]
    page = signed_in.get(path).text
    rule_id = re.search(r"/settings/rules/(\d+)/delete", page).group(1)  # type: ignore[union-attr]
    removed = signed_in.post(
        f"{path}/{rule_id}/delete", data={"csrf": csrf_of(signed_in, path)}, follow_redirects=False
    )
    assert removed.status_code == 303
    with db.read() as conn:
        left = conn.execute(sa.select(sa.func.count()).select_from(t.traffic_rules)).scalar_one()
    assert left == 2


def test_bad_rules_are_form_errors(signed_in: TestClient, account: Account) -> None:
    path = f"/app/{account.id}/settings/rules"
    for kind, value, says in (
        ("ip_range", "10.0.0.0/33", "not an IP address"),
        ("country", "Finland", "two-letter ISO code"),
        ("hostname", "no spaces allowed.example", "not a host name"),
        ("office", "x", "A rule is one of"),
    ):
        answer = signed_in.post(
            path, data={"csrf": csrf_of(signed_in, path), "kind": kind, "value": value}
        )
        assert answer.status_code == 400
        assert says in unescape(answer.text)


def test_members_who_are_not_admins_cannot_see_or_change_settings(
    make_client: MakeClient, db: Database, builder: Builder, account: Account
) -> None:
    colleague = builder.user()
    builder.account()  # another account, so ids differ from the member's
    with db.write() as conn:
        conn.execute(
            t.memberships.insert().values(
                user_id=colleague.user.id, account_id=account.id, role="member"
            )
        )
    give_password(db, colleague)
    client = make_client()
    sign_in(client, colleague.user.email)
    for path in (f"/app/{account.id}/settings/tracking", f"/app/{account.id}/settings/rules"):
        assert client.get(path).status_code == 403
    token = csrf_of(client, f"/app/{account.id}/leads")
    answer = client.post(
        f"/app/{account.id}/settings/rules", data={"csrf": token, "kind": "country", "value": "FI"}
    )
    assert answer.status_code == 403
    with db.read() as conn:
        assert (
            conn.execute(sa.select(sa.func.count()).select_from(t.traffic_rules)).scalar_one() == 0
        )
