"""The people pages: members and roles, invitations by link (and the public page the link
opens), API tokens that the API then takes, the account's name and time zone as the API
shows them, and a person's own page (password, sessions)."""

from __future__ import annotations

import re
from datetime import timedelta
from html import unescape

import httpx
import sqlalchemy as sa
from starlette.testclient import TestClient

from openfeeder.domain.models import Account
from openfeeder.services import members
from openfeeder.store import schema as t
from openfeeder.store.db import Database
from tests.dashboard.conftest import PASSWORD, csrf_of, give_password, hidden_fields, sign_in
from tests.support.clients import MakeClient, auth
from tests.support.factories import Builder, Member

NEW_PASSWORD = "another long password"


def _post(client: TestClient, path: str, form_page: str, **data: str) -> httpx.Response:
    return client.post(
        path, data={"csrf": csrf_of(client, form_page), **data}, follow_redirects=False
    )


def _invite(client: TestClient, account: Account, email: str, role: str = "member") -> str:
    """Invites through the members page; the link it shows once."""
    path = f"/app/{account.id}/settings/members"
    answer = client.post(path, data={"csrf": csrf_of(client, path), "email": email, "role": role})
    assert answer.status_code == 200, answer.text
    found = re.search(r'<pre id="invite-link" class="snippet">([^<]+)</pre>', answer.text)
    assert found is not None
    return unescape(found.group(1))


def _role(db: Database, account: Account, user_id: int) -> str | None:
    m = t.memberships.c
    with db.read() as conn:
        query = sa.select(m.role).where(m.account_id == account.id, m.user_id == user_id)
        return conn.execute(query).scalar_one_or_none()


def _add(db: Database, builder: Builder, account: Account, role: str) -> Member:
    person = builder.user()
    with db.write() as conn:
        conn.execute(
            t.memberships.insert().values(user_id=person.user.id, account_id=account.id, role=role)
        )
    give_password(db, person)
    return person


def test_an_invitation_link_signs_a_new_person_up_into_the_account(
    signed_in: TestClient, make_client: MakeClient, db: Database, account: Account
) -> None:
    link = _invite(signed_in, account, "New.Person@Example.com")
    assert link.startswith("http://testserver/app/invite/")
    members_page = signed_in.get(f"/app/{account.id}/settings/members").text
    assert "new.person@example.com" in members_page  # pending
    assert link not in members_page  # the link is shown only once
    with db.read() as conn:
        stored = conn.execute(sa.select(t.invitations)).one()
    assert link.rsplit("/", 1)[1] not in str(tuple(stored))  # only the hash is kept
    assert stored.expires_at - stored.created_at == timedelta(days=members.INVITE_DAYS)

    invitee = make_client()
    path = link.removeprefix("http://testserver")
    page = invitee.get(path)
    assert page.status_code == 200
    assert account.name in page.text
    assert "new.person@example.com" in page.text
    fields = hidden_fields(page.text)
    differ = invitee.post(
        path, data={**fields, "name": "New", "password": PASSWORD, "repeat": "something else"}
    )
    assert differ.status_code == 400
    assert "differ" in differ.text
    fields = hidden_fields(differ.text)
    joined = invitee.post(
        path,
        data={**fields, "name": "New Person", "password": PASSWORD, "repeat": PASSWORD},
        follow_redirects=False,
    )
    assert joined.status_code == 303
    assert joined.headers["location"] == f"/app/{account.id}/leads"
    assert invitee.get(f"/app/{account.id}/leads").status_code == 200
    with db.read() as conn:
        user = conn.execute(
            sa.select(t.users).where(t.users.c.email == "new.person@example.com")
        ).one()
    assert user.name == "New Person"
    assert user.password_hash.startswith("$argon2id$")
    assert _role(db, account, user.id) == "member"
    # The link is used up: a clear page, not a second membership.
    again = make_client().get(path)
    assert again.status_code == 410
    assert "used already" in again.text
    assert signed_in.get(f"/app/{account.id}/settings/members").text.count("No pending") == 1


def test_an_existing_user_signs_in_to_accept_with_the_invited_role(
    signed_in: TestClient, make_client: MakeClient, db: Database, builder: Builder, account: Account
) -> None:
    other = builder.user()
    give_password(db, other)
    link = _invite(signed_in, account, other.user.email, "admin")
    invitee = make_client()
    path = link.removeprefix("http://testserver")
    page = invitee.get(path)
    assert "sign in to accept" in page.text
    wrong = invitee.post(path, data={**hidden_fields(page.text), "password": "not the password"})
    assert wrong.status_code == 401
    assert "Wrong email or password." in wrong.text
    assert _role(db, account, other.user.id) is None
    joined = invitee.post(
        path, data={**hidden_fields(wrong.text), "password": PASSWORD}, follow_redirects=False
    )
    assert joined.status_code == 303
    assert _role(db, account, other.user.id) == "admin"
    assert invitee.get(f"/app/{account.id}/settings/members").status_code == 200


def test_bad_expired_and_revoked_links_are_clear_pages(
    signed_in: TestClient, make_client: MakeClient, db: Database, account: Account
) -> None:
    stranger = make_client()
    assert stranger.get("/app/invite/nonsense").status_code == 404
    assert stranger.get("/app/invite/" + "x" * 500).status_code == 404
    unknown = stranger.post("/app/invite/nonsense", data={"password": "x"})
    assert unknown.status_code in (403, 404)  # no form token: refused before anything else
    link = _invite(signed_in, account, "late@example.com").removeprefix("http://testserver")
    with db.write() as conn:
        conn.execute(t.invitations.update().values(expires_at=sa.func.current_timestamp()))
    expired = stranger.get(link)
    assert expired.status_code == 410
    assert "expired" in expired.text

    link = _invite(signed_in, account, "gone@example.com").removeprefix("http://testserver")
    members_path = f"/app/{account.id}/settings/members"
    invitation_id = re.search(
        r"/settings/invitations/(\d+)/revoke", signed_in.get(members_path).text
    )
    assert invitation_id is not None
    revoked = _post(
        signed_in,
        f"/app/{account.id}/settings/invitations/{invitation_id.group(1)}/revoke",
        members_path,
    )
    assert revoked.status_code == 303
    answer = stranger.get(link)
    assert answer.status_code == 410
    assert "withdrawn" in answer.text


def test_a_second_invitation_to_the_same_email_replaces_the_first(
    signed_in: TestClient, make_client: MakeClient, account: Account
) -> None:
    first = _invite(signed_in, account, "twice@example.com").removeprefix("http://testserver")
    second = _invite(signed_in, account, "twice@example.com").removeprefix("http://testserver")
    assert make_client().get(first).status_code == 410
    assert make_client().get(second).status_code == 200


def test_bad_invitations_are_form_errors(
    signed_in: TestClient, member: Member, account: Account
) -> None:
    path = f"/app/{account.id}/settings/members"
    for email, role, says in (
        ("not an email", "member", "is not an email address"),
        ("x@example.com", "owner", "The role must be one of"),
        (member.user.email, "member", "already a member"),
    ):
        answer = signed_in.post(
            path, data={"csrf": csrf_of(signed_in, path), "email": email, "role": role}
        )
        assert answer.status_code in (400, 409)
        assert says in unescape(answer.text)


def test_accepting_is_rate_limited_per_link(
    signed_in: TestClient, make_client: MakeClient, account: Account
) -> None:
    path = _invite(signed_in, account, "guess@example.com").removeprefix("http://testserver")
    client = make_client()
    statuses = []
    for _ in range(members.ACCEPT_PER_LINK.per_minute + 1):
        fields = hidden_fields(client.get(path).text)
        answer = client.post(path, data={**fields, "name": "G", "password": "short", "repeat": "x"})
        statuses.append(answer.status_code)
    assert statuses[-1] == 429
    assert set(statuses[:-1]) == {400}


def test_admins_change_roles_and_remove_members_but_never_the_last_admin(
    signed_in: TestClient, db: Database, builder: Builder, member: Member, account: Account
) -> None:
    colleague = _add(db, builder, account, "member")
    path = f"/app/{account.id}/settings/members"
    page = signed_in.get(path).text
    assert colleague.user.email in page
    assert member.user.email in page
    alone = _post(signed_in, f"{path}/{member.user.id}/role", path, role="member")
    assert alone.status_code == 409
    assert "at least one admin" in alone.text
    assert _role(db, account, member.user.id) == "admin"
    removed_self = _post(signed_in, f"{path}/{member.user.id}/remove", path)
    assert removed_self.status_code == 409

    promoted = _post(signed_in, f"{path}/{colleague.user.id}/role", path, role="admin")
    assert promoted.status_code == 303
    assert _role(db, account, colleague.user.id) == "admin"
    bad = _post(signed_in, f"{path}/{colleague.user.id}/role", path, role="boss")
    assert bad.status_code == 400
    removed = _post(signed_in, f"{path}/{colleague.user.id}/remove", path)
    assert removed.status_code == 303
    assert _role(db, account, colleague.user.id) is None
    assert _post(signed_in, f"{path}/999999/remove", path).status_code == 404


def test_a_created_token_works_against_the_api_until_disabled(
    signed_in: TestClient, db: Database, builder: Builder, member: Member, account: Account
) -> None:
    colleague = _add(db, builder, account, "member")
    outsider = builder.user()
    builder.account(outsider)
    path = f"/app/{account.id}/settings/tokens"
    page = signed_in.get(path).text
    assert colleague.user.email in page  # members' tokens are listed
    assert outsider.user.email not in page
    empty = signed_in.post(path, data={"csrf": csrf_of(signed_in, path), "name": "  "})
    assert empty.status_code == 400
    assert "Give the token a name" in empty.text
    created = signed_in.post(path, data={"csrf": csrf_of(signed_in, path), "name": "CRM <sync>"})
    assert created.status_code == 200
    found = re.search(r'<pre id="new-token" class="snippet">([^<]+)</pre>', created.text)
    assert found is not None
    token = found.group(1)
    assert "CRM &lt;sync&gt;" in created.text
    assert token not in signed_in.get(path).text  # shown once
    listed = signed_in.get("/accounts", headers=auth(token))
    assert listed.status_code == 200
    assert [a["id"] for a in listed.json()["data"]] == [str(account.id)]

    with db.read() as conn:
        token_id = conn.execute(
            sa.select(t.api_tokens.c.id).where(t.api_tokens.c.name == "CRM <sync>")
        ).scalar_one()
    disabled = _post(signed_in, f"{path}/{token_id}/disable", path)
    assert disabled.status_code == 303
    assert signed_in.get("/accounts", headers=auth(token)).status_code == 403
    assert "disabled" in signed_in.get(path).text
    # Another account's member's token is not this admin's to disable.
    foreign = _post(signed_in, f"{path}/{outsider.token_id}/disable", path)
    assert foreign.status_code == 404
    assert signed_in.get("/accounts", headers=auth(outsider.token)).status_code == 200


def test_the_account_name_and_time_zone_change_and_the_api_shows_it(
    signed_in: TestClient, member: Member, account: Account
) -> None:
    path = f"/app/{account.id}/settings/account"
    for zone in ("Mars/Olympus", "America", "localtime", "../../etc/passwd"):
        bad = signed_in.post(
            path, data={"csrf": csrf_of(signed_in, path), "name": "X", "timezone": zone}
        )
        assert bad.status_code == 400
        assert "is not an IANA time zone" in unescape(bad.text)
    empty = signed_in.post(
        path, data={"csrf": csrf_of(signed_in, path), "name": " ", "timezone": "UTC"}
    )
    assert empty.status_code == 400
    assert "must not be empty" in empty.text
    saved = _post(signed_in, path, path, name="Acme <Oy>", timezone="Europe/Helsinki")
    assert saved.status_code == 303
    assert "Saved." in signed_in.get(saved.headers["location"]).text
    api = signed_in.get(f"/accounts/{account.id}", headers=auth(member.token)).json()
    assert api["data"]["attributes"]["name"] == "Acme <Oy>"
    assert api["data"]["attributes"]["timezone"] == "Europe/Helsinki"


def test_changing_the_password_needs_the_current_one_and_ends_other_sessions(
    signed_in: TestClient, make_client: MakeClient, db: Database, member: Member
) -> None:
    elsewhere = make_client()
    sign_in(elsewhere, member.user.email)
    assert elsewhere.get("/app/me").status_code == 200
    page = signed_in.get("/app/me").text
    assert page.count("this session") == 1
    assert len(re.findall(r'name="session" value="[0-9a-f]{64}"', page)) == 1  # the other one
    wrong = _post(
        signed_in, "/app/me/password", "/app/me",
        current="wrong password", password=NEW_PASSWORD, repeat=NEW_PASSWORD,
    )  # fmt: skip
    assert wrong.status_code == 400
    assert "current password is wrong" in wrong.text
    short = _post(
        signed_in, "/app/me/password", "/app/me", current=PASSWORD, password="short", repeat="short"
    )
    assert short.status_code == 400
    assert elsewhere.get("/app/me", follow_redirects=False).status_code == 200
    changed = _post(
        signed_in, "/app/me/password", "/app/me",
        current=PASSWORD, password=NEW_PASSWORD, repeat=NEW_PASSWORD,
    )  # fmt: skip
    assert changed.status_code == 303
    assert signed_in.get("/app/me").status_code == 200  # this session stays
    assert elsewhere.get("/app/me", follow_redirects=False).status_code == 303  # that one ended
    assert sign_in(make_client(), member.user.email).status_code == 401
    assert sign_in(make_client(), member.user.email, NEW_PASSWORD).status_code == 303
    with db.read() as conn:
        hashed = conn.execute(
            sa.select(t.users.c.password_hash).where(t.users.c.id == member.user.id)
        ).scalar_one()
    assert hashed.startswith("$argon2id$")


def test_sessions_are_listed_and_ended_one_or_all_others(
    signed_in: TestClient, make_client: MakeClient, member: Member
) -> None:
    second, third = make_client(), make_client()
    sign_in(second, member.user.email)
    sign_in(third, member.user.email)
    page = signed_in.get("/app/me", headers={"user-agent": "Mozilla <Test>"}).text
    assert "testclient" in page
    ids = re.findall(r'name="session" value="([0-9a-f]{64})"', page)
    assert len(ids) == 2
    ended = _post(signed_in, "/app/me/sessions/end", "/app/me", session=ids[0])
    assert ended.status_code == 303
    alive = [c.get("/app/me", follow_redirects=False).status_code for c in (second, third)]
    assert sorted(alive) == [200, 303]
    mine = _post(signed_in, "/app/me/sessions/end", "/app/me", session="x" * 64)
    assert mine.status_code == 404
    others = _post(signed_in, "/app/me/sessions/end", "/app/me", session="others")
    assert others.status_code == 303
    assert [c.get("/app/me", follow_redirects=False).status_code for c in (second, third)] == [
        303,
        303,
    ]
    assert signed_in.get("/app/me").status_code == 200


def test_an_admin_who_makes_themselves_a_member_lands_on_the_leads_and_loses_settings(
    signed_in: TestClient, db: Database, builder: Builder, member: Member, account: Account
) -> None:
    _add(db, builder, account, "admin")
    path = f"/app/{account.id}/settings/members"
    answer = _post(signed_in, f"{path}/{member.user.id}/role", path, role="member")
    assert answer.status_code == 303
    assert answer.headers["location"] == f"/app/{account.id}/leads"
    assert _role(db, account, member.user.id) == "member"
    assert signed_in.get(path).status_code == 403
    assert signed_in.get(f"/app/{account.id}/leads").status_code == 200
