"""The access matrix: every dashboard route of the route table, asked by someone signed out,
by a signed-in user who is not a member of the account, by a member whose role is
``member`` and by an admin — each unsafe request with no CSRF token, a wrong one and the
right one. Nothing leaks and nothing changes unless an admin (or, away from the admin-only
settings, a member) sends the right token."""

from __future__ import annotations

import re

import pytest
from starlette.testclient import TestClient

from openfeeder.app.routes import on
from openfeeder.domain.clock import SYSTEM_CLOCK
from openfeeder.routing import Auth, Surface
from openfeeder.services import feeds, members
from openfeeder.store import schema as t
from openfeeder.store.db import Database
from tests.dashboard.conftest import PASSWORD, csrf_of, give_password, sign_in
from tests.support.clients import MakeClient
from tests.support.factories import Builder

SESSION_ROUTES = [e for e in on(Surface.DASHBOARD) if e.auth is Auth.SESSION]
# The public forms: sign-in, an invitation, an unsubscribe link, a forgotten password.
PUBLIC_FORMS = [
    e for e in on(Surface.DASHBOARD) if e.auth is Auth.PUBLIC and e.methods[0] == "POST"
]
# Only an account's admins reach these: a member whose role is "member" gets 403.
ADMIN_ONLY = "/app/{account_id}/settings/"
SECRET = "Zebra Secret Holdings"


def _state(db: Database) -> tuple[object, ...]:
    """Everything a dashboard request could change."""
    with db.read() as conn:
        return tuple(
            tuple(conn.execute(sa_select(table)).all())
            for table in (
                t.leads,
                t.lead_followers,
                t.lead_notes,
                t.web_sessions,
                t.custom_feeds,
                t.traffic_rules,
                t.users,
                t.accounts,
                t.memberships,
                t.invitations,
                t.password_resets,
                t.api_tokens,
                t.alert_endpoints,
                t.alert_rules,
                t.alert_events,
                t.alert_deliveries,
                t.digest_subscriptions,
            )
        )


def sa_select(table: object) -> object:
    import sqlalchemy as sa

    return sa.select(table).order_by(*table.primary_key.columns)  # type: ignore[attr-defined]


# What a member's valid unsafe request carries besides its CSRF token.
VALID_FORM = {
    "name": "Renamed",
    "type_0": "city",
    "value_0": "Oulu",
    "kind": "country",
    "value": "SE",
    "email": "invited@example.com",
    "role": "admin",
    "timezone": "Europe/Helsinki",
    "session": "others",
    "current": PASSWORD,
    "password": "a new long password",
    "repeat": "a new long password",
    "url": "http://127.0.0.1:9/",  # the installation check: refused (loopback), nothing fetched
}
Owned = dict[str, str]
# Forms of routes that take other fields than VALID_FORM's (the endpoint ticked: the
# account's own).
ALERTS = "/app/{account_id}/settings/alerts"
FORMS = {
    # The owned digest is weekly: a daily one of the same feed is new.
    "/app/{account_id}/digests": lambda owned: {"feed": "all_leads", "cadence": "daily"},
    f"{ALERTS}/endpoints": lambda owned: {"kind": "webhook"},
    f"{ALERTS}/rules": lambda owned: {
        "feed": "all_leads",
        "trigger": "new_company",
        "cooldown": "0",
        f"endpoint_{owned['endpoint_id']}": "1",
    },
}


def _fill(path: str, account_id: int, owned: Owned) -> str:
    """The path with the account and one lead, feed, traffic rule, member, invitation,
    token, alert endpoint, alert rule and delivery (``owned``: ids of some account's)."""
    values = {"account_id": str(account_id), "action": "follow"} | owned
    return re.sub(r"{(\w+)}", lambda m: values[m.group(1)], path)


@pytest.fixture
def world(make_client: MakeClient, db: Database, builder: Builder) -> dict[str, object]:
    owner, outsider, colleague = builder.user(), builder.user(), builder.user()
    mine, theirs = builder.account(owner), builder.account(outsider)
    with db.write() as conn:
        conn.execute(
            t.memberships.insert().values(
                user_id=colleague.user.id, account_id=mine.id, role="member"
            )
        )
    outsider_colleague = builder.user()
    with db.write() as conn:
        conn.execute(
            t.memberships.insert().values(
                user_id=outsider_colleague.user.id, account_id=theirs.id, role="member"
            )
        )
    [secret] = builder.companies(1)
    from openfeeder.domain.models import Company
    from openfeeder.store.companies import upsert_companies

    with db.write() as conn:
        upsert_companies(conn, [Company(**{**secret.__dict__, "name": SECRET})])
    builder.visits(mine, builder.companies(1))
    builder.visits(theirs, [secret])
    with db.read() as conn:
        lead_ids = dict(conn.execute(sa_select_leads()).all())
    owned = {
        a.id: {
            "lead_id": lead_ids[a.id],
            "feed_id": feeds.create_feed(
                db, a, "Existing", [{"criterion_type": "tag", "search_value": "x"}]
            ).id,
            "rule_id": _rule(db, a),
            "user_id": str(other.user.id),
            "invitation_id": str(
                members.invite(
                    db, SYSTEM_CLOCK, a, admin.user, "pending@example.com", "member", "http://x"
                ).invitation.id
            ),
            "token_id": str(admin.token_id),
            **_alerts(db, a),
            "digest_id": _digest(db, a, admin),
        }
        for a, admin, other in ((mine, owner, colleague), (theirs, outsider, outsider_colleague))
    }
    for person in (owner, outsider, colleague):
        give_password(db, person)
    clients = {
        "signed out": make_client(),
        "outsider": make_client(),
        "owner": make_client(),
        "member role": make_client(),
    }
    sign_in(clients["outsider"], outsider.user.email)
    sign_in(clients["owner"], owner.user.email)
    sign_in(make_client(), owner.user.email)  # elsewhere: a session "sign out others" ends
    sign_in(clients["member role"], colleague.user.email)
    return {"mine": mine, "theirs": theirs, "owned": owned, "clients": clients}


def _rule(db: Database, account: object) -> str:
    from openfeeder.services import traffic

    traffic.add_rule(db, account, "hostname", "existing.example")  # type: ignore[arg-type]
    return str(traffic.rules(db, account)[0].id)  # type: ignore[arg-type]


def _alerts(db: Database, account: object) -> Owned:
    """An alert endpoint with a rule and a delivery (a test event) of the account."""
    from openfeeder.services import alerts

    now = SYSTEM_CLOCK.now()
    endpoint = alerts.create_endpoint(db, account, "webhook", "https://hooks.example.com/", now)  # type: ignore[arg-type]
    rule = alerts.create_rule(
        db,
        account,
        now,
        feed_id="all_leads",
        trigger="new_company",
        endpoint_ids=[endpoint.endpoint.id],  # type: ignore[arg-type]
    )
    delivery = alerts.send_test_event(db, account, endpoint.endpoint.id, now, "http://x")  # type: ignore[arg-type]
    return {
        "endpoint_id": str(endpoint.endpoint.id),
        "alert_rule_id": str(rule.id),
        "delivery_id": str(delivery.id),
    }


def _digest(db: Database, account: object, admin: object) -> str:
    """A weekly digest of the account's admin (whom the matrix's owner is, for ``mine``)."""
    from openfeeder.services import digests

    return str(
        digests.subscribe(
            db,
            SYSTEM_CLOCK.now(),
            admin.user.email,  # type: ignore[attr-defined]
            account.id,  # type: ignore[attr-defined]
            "all_leads",
            "weekly",
        ).id
    )


def _switched_off(db: Database, account: object, owned: Owned, path: str) -> None:
    """What an enable button turns on starts off, so that pressing it changes something."""
    from openfeeder.services import alerts

    if path.endswith("/endpoints/{endpoint_id}/enable"):
        alerts.set_endpoint_enabled(db, account, int(owned["endpoint_id"]), False)  # type: ignore[arg-type]
    if path.endswith("/rules/{alert_rule_id}/enable"):
        alerts.set_rule_enabled(db, account, int(owned["alert_rule_id"]), False)  # type: ignore[arg-type]


def sa_select_leads() -> object:
    import sqlalchemy as sa

    return sa.select(t.leads.c.account_id, t.leads.c.id)


def test_the_matrix_has_every_session_route() -> None:
    methods = {(e.path, m) for e in SESSION_ROUTES for m in e.methods}
    assert ("/app/{account_id}/leads", "GET") in methods
    assert ("/app/{account_id}/leads/{lead_id}/{action}", "POST") in methods
    assert ("/app/logout", "POST") in methods
    assert ("/app/{account_id}/settings/members", "POST") in methods
    assert ("/app/{account_id}/settings/tokens/{token_id}/disable", "POST") in methods
    assert ("/app/me/password", "POST") in methods
    assert ("/app/{account_id}/digests", "POST") in methods
    assert ("/app/{account_id}/digests/{digest_id}/remove", "POST") in methods
    assert any(path.startswith(ADMIN_ONLY) for path, _ in methods)


@pytest.mark.parametrize("endpoint", SESSION_ROUTES, ids=lambda e: f"{e.methods[0]} {e.path}")
def test_nobody_reaches_what_is_not_theirs(
    world: dict[str, object], db: Database, endpoint: object
) -> None:
    mine, theirs = world["mine"], world["theirs"]
    owned: dict[int, Owned] = world["owned"]  # type: ignore[assignment]
    clients: dict[str, TestClient] = world["clients"]  # type: ignore[assignment]
    method = endpoint.methods[0]  # type: ignore[attr-defined]
    path: str = endpoint.path  # type: ignore[attr-defined]
    their_path = _fill(path, theirs.id, owned[theirs.id])  # type: ignore[attr-defined]
    cross_path = _fill(path, mine.id, owned[theirs.id])  # type: ignore[attr-defined]
    my_path = _fill(path, mine.id, owned[mine.id])  # type: ignore[attr-defined]
    # A path naming a lead or feed: that of another account, through my own account.
    crosses = any(
        f"{{{name}}}" in path
        for name in (
            "lead_id",
            "feed_id",
            "rule_id",
            "user_id",
            "invitation_id",
            "token_id",
            "endpoint_id",
            "alert_rule_id",
            "delivery_id",
            "digest_id",
        )
    )
    admin_only = path.startswith(ADMIN_ONLY)
    owner_csrf = csrf_of(clients["owner"], f"/app/{mine.id}/leads")  # type: ignore[attr-defined]
    outsider_csrf = csrf_of(clients["outsider"], f"/app/{theirs.id}/leads")  # type: ignore[attr-defined]
    member_csrf = csrf_of(clients["member role"], f"/app/{mine.id}/leads")  # type: ignore[attr-defined]

    if method == "GET":
        signed_out = clients["signed out"].get(my_path, follow_redirects=False)
        assert signed_out.status_code == 303
        assert signed_out.headers["location"].startswith("/app/login?next=")
        if "{account_id}" in path:
            targets = [their_path] + ([cross_path] if crosses else [])
            for target in targets:
                answer = clients["owner"].get(target, follow_redirects=False)
                assert answer.status_code == 404, target
                assert SECRET not in answer.text
        as_member = clients["member role"].get(my_path, follow_redirects=False)
        if admin_only:
            assert as_member.status_code == 403, my_path
            assert SECRET not in as_member.text
        else:
            assert as_member.status_code in (200, 303), my_path
        assert clients["owner"].get(my_path, follow_redirects=False).status_code in (200, 303)
        return

    for account in (mine, theirs):
        _switched_off(db, account, owned[account.id], path)  # type: ignore[attr-defined]
    form = VALID_FORM | FORMS.get(path, lambda _: {})(owned[mine.id])  # type: ignore[attr-defined, no-untyped-call]
    before = _state(db)
    attempts = [
        (clients["signed out"], my_path, {}),
        (clients["signed out"], my_path, {"csrf": owner_csrf}),
        (clients["owner"], my_path, {}),
        (clients["owner"], my_path, {"csrf": "wrong"}),
        (clients["owner"], my_path, {"csrf": outsider_csrf}),  # another session's token
    ]
    if admin_only:
        attempts.append((clients["member role"], my_path, {"csrf": member_csrf}))
    if "{account_id}" in path:
        attempts.append((clients["owner"], their_path, {"csrf": owner_csrf}))
    if crosses:
        attempts.append((clients["owner"], cross_path, {"csrf": owner_csrf}))
    for client, target, sent in attempts:
        answer = client.post(target, data=sent | form, follow_redirects=False)
        assert answer.status_code in (403, 404), (target, form, answer.status_code)
        assert SECRET not in answer.text
    assert _state(db) == before
    allowed = clients["owner"].post(
        my_path, data={"csrf": owner_csrf} | form, follow_redirects=False
    )
    # 200: a page that shows a new secret once (an invitation link, a token) instead of
    # redirecting.
    assert allowed.status_code in (200, 303), allowed.text
    if path.endswith("/tracking/check"):
        assert _state(db) == before  # the installation check answers with what it found
    else:
        assert _state(db) != before


# ── the public forms: no session, but the double-submit form token ──


def test_the_public_forms_include_the_password_reset() -> None:
    paths = {e.path for e in PUBLIC_FORMS}
    assert {"/app/login", "/app/reset", "/app/reset/{token}", "/app/invite/{token}"} <= paths


@pytest.fixture
def links(db: Database, builder: Builder) -> dict[str, str]:
    """A working token for each public form whose path takes one (a reset link of a user with
    a password, an invitation); an unknown one for the rest."""
    from openfeeder.ratelimit import MemoryCounter, RateLimiter
    from openfeeder.services import resets

    person = builder.user()
    give_password(db, person)
    account = builder.account(person)
    requested = resets.request_reset(
        db, RateLimiter(MemoryCounter()), SYSTEM_CLOCK, person.user.email, ip=None, base_url="x"
    )
    assert requested is not None
    invited = members.invite(db, SYSTEM_CLOCK, account, None, "new@example.com", "member", "x")
    return {
        "/app/reset/{token}": requested.link.rsplit("/", 1)[1],
        "/app/invite/{token}": invited.link.rsplit("/", 1)[1],
    }


@pytest.mark.parametrize("endpoint", PUBLIC_FORMS, ids=lambda e: f"POST {e.path}")
def test_no_public_form_is_taken_without_its_form_token(
    make_client: MakeClient, db: Database, links: dict[str, str], endpoint: object
) -> None:
    path: str = endpoint.path  # type: ignore[attr-defined]
    target = path.replace("{token}", links.get(path, "unknown-token"))
    form = VALID_FORM | {"email": "new@example.com"}
    browser, other = make_client(), make_client()
    browser.get("/app/login")  # each gets its form token's cookie
    other.get("/app/login")
    mine, theirs = (c.cookies["openfeeder_login_csrf"] for c in (browser, other))
    assert mine != theirs
    before = _state(db)
    for client, sent in (
        (make_client(), {}),  # no cookie, no field
        (browser, {}),  # the cookie, no field
        (browser, {"csrf": "forged"}),
        (browser, {"csrf": theirs}),  # another browser's token: not this cookie's
    ):
        answer = client.post(target, data=sent | form, follow_redirects=False)
        assert answer.status_code == 403, (target, sent)
    assert _state(db) == before
    # With its own token the form gets past the check to its handler (which then judges it).
    answer = browser.post(target, data={"csrf": mine} | form, follow_redirects=False)
    assert answer.status_code != 403
    if path == "/app/reset/{token}":
        assert answer.status_code == 303
        assert _state(db) != before  # the password is set, the link used up
