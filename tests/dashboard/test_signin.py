"""Signing in and out of the dashboard: the session cookie, one answer for unknown users and
wrong passwords, the limits, CSRF on every unsafe request, and the way back to a lead."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from starlette.testclient import TestClient

from openfeeder.domain.clock import FixedClock
from openfeeder.domain.errors import Unauthorized
from openfeeder.domain.models import Account
from openfeeder.ratelimit import MemoryCounter, RateLimiter
from openfeeder.services import signin
from openfeeder.store.db import Database
from tests.dashboard.conftest import PASSWORD, csrf_of, give_password, set_cookie, sign_in
from tests.support.clients import MakeClient
from tests.support.factories import Builder, Member


def test_signing_in_sets_an_httponly_lax_session_cookie_and_opens_the_first_account(
    make_client: MakeClient, db: Database, builder: Builder, member: Member
) -> None:
    account = builder.account(member)
    give_password(db, member)
    client = make_client()
    answer = sign_in(client, member.user.email.upper())  # emails are case-insensitive
    assert answer.status_code == 303
    assert answer.headers["location"] == "/app"
    cookie = set_cookie(answer, "openfeeder_session")
    assert cookie is not None
    attributes = {part.strip().split("=")[0].lower() for part in cookie.split(";")}
    assert {"httponly", "path", "max-age"} <= attributes
    assert "samesite=lax" in cookie.lower()
    assert "secure" not in attributes  # plain http here; see the https test below
    home = client.get("/app", follow_redirects=False)
    assert home.status_code == 303
    assert home.headers["location"] == f"/app/{account.id}/leads"
    assert client.get(home.headers["location"]).status_code == 200


def test_the_cookie_is_secure_when_the_public_url_is_https(
    make_client: MakeClient, db: Database, builder: Builder, member: Member
) -> None:
    builder.account(member)
    give_password(db, member)
    client = make_client(public_url="https://leads.example.com")
    client.base_url = "https://testserver"  # type: ignore[assignment]  # a browser on https
    answer = sign_in(client, member.user.email)
    cookie = set_cookie(answer, "openfeeder_session")
    assert cookie is not None
    assert "secure" in {part.strip().lower() for part in cookie.split(";")}


def test_unknown_email_and_wrong_password_get_the_same_answer(
    make_client: MakeClient, db: Database, member: Member
) -> None:
    give_password(db, member)
    client = make_client()
    wrong = sign_in(client, member.user.email, "not the password at all")
    unknown = sign_in(client, "nobody@example.com", PASSWORD)
    assert wrong.status_code == unknown.status_code == 401
    assert signin.WRONG in wrong.text
    assert signin.WRONG in unknown.text
    assert set_cookie(wrong, "openfeeder_session") is None
    assert client.get("/app", follow_redirects=False).headers["location"].startswith("/app/login")


def test_a_user_without_a_password_cannot_sign_in(make_client: MakeClient, member: Member) -> None:
    assert sign_in(make_client(), member.user.email, "").status_code == 401


def test_sign_in_attempts_are_limited_per_email(
    make_client: MakeClient, db: Database, member: Member
) -> None:
    give_password(db, member)
    # One fixed instant, so the attempts cannot straddle two of the limiter's minutes.
    client = make_client(limiter=RateLimiter(MemoryCounter(), clock=lambda: 1_800_000_000.0))
    answers = [
        sign_in(client, member.user.email, "wrong password here").status_code for _ in range(5)
    ]
    assert answers == [401] * 5
    limited = sign_in(client, member.user.email, PASSWORD)  # even the right one, for now
    assert limited.status_code == 429
    assert limited.headers["retry-after"].isdigit()
    assert "Too many sign-in attempts" in limited.text


def test_sign_in_without_the_form_token_is_refused(
    make_client: MakeClient, db: Database, member: Member
) -> None:
    give_password(db, member)
    client = make_client()
    answer = client.post("/app/login", data={"email": member.user.email, "password": PASSWORD})
    assert answer.status_code == 403
    assert set_cookie(answer, "openfeeder_session") is None


def test_a_lead_link_signed_out_goes_through_sign_in_and_back(
    make_client: MakeClient, db: Database, builder: Builder, member: Member
) -> None:
    account = builder.account(member)
    company = builder.companies(1)[0]
    builder.visits(account, [company])
    client = make_client()
    leads = client.get(
        f"/accounts/{account.id}/leads",
        params={"start_date": "2026-01-01", "end_date": "2026-01-31"},
        headers={"Authorization": f"Token token={member.token}"},
    ).json()["data"]
    link = leads[0]["attributes"]["view_in_leadfeeder"]
    path = link.removeprefix("http://testserver")
    assert path == f"/app/{account.id}/leads/{leads[0]['id']}"
    bounced = client.get(path, follow_redirects=False)
    assert bounced.status_code == 303
    assert (
        bounced.headers["location"]
        == f"/app/login?next=%2Fapp%2F{account.id}%2Fleads%2F{leads[0]['id']}"
    )
    give_password(db, member)
    answer = sign_in(client, member.user.email, next_path=path)
    assert answer.headers["location"] == path
    page = client.get(path)
    assert page.status_code == 200
    assert company.name in page.text


def test_sign_in_never_sends_anyone_off_the_site(
    make_client: MakeClient, db: Database, builder: Builder, member: Member
) -> None:
    builder.account(member)
    give_password(db, member)
    for target in (
        "https://evil.example/",
        "//evil.example/app",
        "/app\\..\\x",
        "/logout",
        "/app\x00",
    ):
        client = make_client()
        answer = sign_in(client, member.user.email, next_path=target)
        assert answer.headers["location"] == "/app", target


def test_sign_out_needs_the_csrf_token_and_ends_the_session(
    signed_in: TestClient, account: Account
) -> None:
    client = signed_in
    leads_page = f"/app/{account.id}/leads"
    forged = client.post("/app/logout", data={"csrf": "guess"}, follow_redirects=False)
    assert forged.status_code == 403
    assert client.get(leads_page, follow_redirects=False).status_code == 200  # still signed in
    token = csrf_of(client, leads_page)
    ended = client.post("/app/logout", data={"csrf": token}, follow_redirects=False)
    assert ended.status_code == 303
    assert ended.headers["location"] == "/app/login"
    assert client.get(leads_page, follow_redirects=False).status_code == 303


def test_a_changed_password_ends_every_session(
    signed_in: TestClient, db: Database, member: Member, account: Account
) -> None:
    client = signed_in
    assert client.get(f"/app/{account.id}/leads", follow_redirects=False).status_code == 200
    signin.set_password(db, member.user.email, "a brand new password")
    assert client.get(f"/app/{account.id}/leads", follow_redirects=False).status_code == 303


def test_sessions_expire_after_their_lifetime_and_when_idle(db: Database, member: Member) -> None:
    give_password(db, member)
    clock = FixedClock(datetime(2026, 3, 1, 9, tzinfo=UTC))
    limiter = RateLimiter(MemoryCounter())

    def new_session() -> str:
        return signin.sign_in(
            db, limiter, clock, member.user.email, PASSWORD, ip="127.0.0.1", user_agent="t"
        ).token

    busy = new_session()
    for _ in range(signin.SESSION_DAYS):  # used every day: alive until its lifetime ends
        assert signin.session_for(db, clock, busy) is not None
        clock.advance(timedelta(days=1))
    assert signin.session_for(db, clock, busy) is None
    idle = new_session()
    clock.advance(timedelta(days=signin.IDLE_DAYS, minutes=1))
    assert signin.session_for(db, clock, idle) is None
    assert signin.session_for(db, clock, None) is None
    assert signin.session_for(db, clock, "x" * 500) is None


def test_the_store_keeps_no_usable_session_token(db: Database, member: Member) -> None:
    give_password(db, member)
    clock = FixedClock(datetime(2026, 3, 1, 9, tzinfo=UTC))
    signed = signin.sign_in(
        db,
        RateLimiter(MemoryCounter()),
        clock,
        member.user.email,
        PASSWORD,
        ip=None,
        user_agent=None,
    )
    [stored] = signin.sessions_of(db, member.user)
    assert stored.id_hash != signed.token
    assert signin.session_for(db, clock, stored.id_hash) is None  # the hash is no cookie


def test_the_password_is_stored_as_argon2id(db: Database, member: Member) -> None:
    give_password(db, member)
    from openfeeder.store import web

    with db.read() as conn:
        found = web.password_hash(conn, member.user.email)
    assert found is not None
    assert found[1] is not None
    assert found[1].startswith("$argon2id$")
    assert PASSWORD not in found[1]


def test_short_passwords_are_refused(db: Database, member: Member) -> None:
    import pytest

    from openfeeder.domain.errors import BadRequest

    with pytest.raises(BadRequest, match="at least 10"):
        signin.set_password(db, member.user.email, "short")
    with pytest.raises(Unauthorized):
        signin.sign_in(
            db,
            RateLimiter(MemoryCounter()),
            FixedClock(datetime(2026, 1, 1, tzinfo=UTC)),
            member.user.email,
            "short",
            ip=None,
            user_agent=None,
        )
