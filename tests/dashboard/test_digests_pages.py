"""The Digests page (``/app/<account>/digests``): a member lists, adds and removes their own
digest subscriptions — the same rows ``openfeeder digests list`` shows — with form errors for
a bad feed or cadence and a repeat; an admin also sees, and may remove, every member's; a
member sees and removes only their own."""

from __future__ import annotations

import re

from starlette.testclient import TestClient

from openfeeder.domain.clock import SYSTEM_CLOCK
from openfeeder.domain.models import Account
from openfeeder.services import digests, feeds
from openfeeder.store import members as member_store
from openfeeder.store.db import Database
from tests.dashboard.conftest import csrf_of, give_password, sign_in
from tests.support.clients import MakeClient
from tests.support.factories import Builder, Member


def _page(client: TestClient, account: Account) -> str:
    answer = client.get(f"/app/{account.id}/digests")
    assert answer.status_code == 200
    return answer.text


def _add(client: TestClient, account: Account, **form: str) -> object:
    path = f"/app/{account.id}/digests"
    return client.post(path, data={"csrf": csrf_of(client, path)} | form, follow_redirects=False)


def _colleague(
    db: Database, builder: Builder, make_client: MakeClient, account: Account, role: str
) -> tuple[Member, TestClient]:
    person = builder.user()
    with db.write() as conn:
        member_store.add_membership(conn, person.user.id, account.id, role)
    give_password(db, person)
    client = make_client()
    assert sign_in(client, person.user.email).status_code == 303
    return person, client


def test_a_member_adds_lists_and_removes_their_digests(
    signed_in: TestClient, db: Database, member: Member, account: Account
) -> None:
    feed = feeds.create_feed(
        db, account, "Big <b>Finns</b>", [{"criterion_type": "country_code", "search_value": "FI"}]
    )
    text = _page(signed_in, account)
    assert "Nobody in this account gets a digest yet." in text
    assert f'<option value="{feed.id}">Big &lt;b&gt;Finns&lt;/b&gt;</option>' in text
    assert '<option value="new_leads">' in text
    for feed_id, cadence in ((feed.id, "weekly"), ("new_leads", "daily")):
        answer = _add(signed_in, account, feed=feed_id, cadence=cadence)
        assert answer.status_code == 303  # type: ignore[attr-defined]
        assert answer.headers["location"] == f"/app/{account.id}/digests"  # type: ignore[attr-defined]
    mine = digests.list_subscriptions(db, email=member.user.email)
    assert sorted((s.feed_id, s.cadence) for s in mine) == sorted(
        [(feed.id, "weekly"), ("new_leads", "daily")]
    )
    text = _page(signed_in, account)
    for s in mine:
        row = re.search(rf'<tr id="digest-{s.id}">(.*?)</tr>', text, re.S)
        assert row is not None
        assert s.cadence in row.group(1)
    assert "Big &lt;b&gt;Finns&lt;/b&gt;" in text
    assert "<b>Finns" not in text

    weekly = next(s for s in mine if s.cadence == "weekly")
    path = f"/app/{account.id}/digests/{weekly.id}/remove"
    answer = signed_in.post(
        path,
        data={"csrf": csrf_of(signed_in, f"/app/{account.id}/digests")},
        follow_redirects=False,
    )
    assert answer.status_code == 303
    assert [s.cadence for s in digests.list_subscriptions(db, email=member.user.email)] == ["daily"]
    assert f'id="digest-{weekly.id}"' not in _page(signed_in, account)


def test_bad_input_is_a_form_error_and_changes_nothing(
    signed_in: TestClient, db: Database, member: Member, account: Account
) -> None:
    assert _add(signed_in, account, feed="all_leads", cadence="daily").status_code == 303  # type: ignore[attr-defined]
    cases = (
        ({"feed": "all_leads", "cadence": "hourly"}, 400, "cadence must be daily or weekly"),
        ({"feed": "no-such-feed", "cadence": "daily"}, 400, "There is no such feed"),
        ({"cadence": "daily"}, 400, "There is no such feed"),
        ({"feed": "all_leads", "cadence": "daily"}, 409, "You get this digest already."),
        ({"feed": "x" * 5000, "cadence": "weekly"}, 400, "There is no such feed"),
    )
    for form, status, message in cases:
        answer = _add(signed_in, account, **form)
        assert answer.status_code == status, form  # type: ignore[attr-defined]
        assert message in answer.text, form  # type: ignore[attr-defined]
        assert 'role="alert"' in answer.text  # type: ignore[attr-defined]
    assert len(digests.list_subscriptions(db, email=member.user.email)) == 1
    # Unknown, non-numeric and other people's ids are a not-found page.
    csrf = csrf_of(signed_in, f"/app/{account.id}/digests")
    for bad in ("999999", "abc", "1" * 30):
        answer = signed_in.post(f"/app/{account.id}/digests/{bad}/remove", data={"csrf": csrf})
        assert answer.status_code == 404, bad


def test_an_admin_sees_everyones_and_a_member_only_their_own(
    signed_in: TestClient,
    make_client: MakeClient,
    db: Database,
    builder: Builder,
    member: Member,
    account: Account,
) -> None:
    # ``member`` (the account's maker) is an admin; a colleague whose role is member.
    colleague, colleague_client = _colleague(db, builder, make_client, account, "member")
    now = SYSTEM_CLOCK.now()
    admins = digests.subscribe(db, now, member.user.email, account.id, "all_leads", "daily")
    theirs = digests.subscribe(db, now, colleague.user.email, account.id, "new_leads", "weekly")

    admin_page = _page(signed_in, account)
    assert colleague.user.email in admin_page
    assert f'id="digest-{theirs.id}"' in admin_page
    assert 'aria-label="Settings"' in admin_page  # the settings navigation, for admins
    member_page = _page(colleague_client, account)
    assert f'id="digest-{theirs.id}"' in member_page
    assert f'id="digest-{admins.id}"' not in member_page
    assert member.user.email not in member_page
    assert 'aria-label="Settings"' not in member_page

    # A member cannot remove an admin's; an admin may remove a member's.
    member_csrf = csrf_of(colleague_client, f"/app/{account.id}/digests")
    answer = colleague_client.post(
        f"/app/{account.id}/digests/{admins.id}/remove", data={"csrf": member_csrf}
    )
    assert answer.status_code == 404
    assert len(digests.list_subscriptions(db, account_id=account.id)) == 2
    admin_csrf = csrf_of(signed_in, f"/app/{account.id}/digests")
    answer = signed_in.post(
        f"/app/{account.id}/digests/{theirs.id}/remove",
        data={"csrf": admin_csrf},
        follow_redirects=False,
    )
    assert answer.status_code == 303
    assert [s.id for s in digests.list_subscriptions(db, account_id=account.id)] == [admins.id]
    # What a member adds is their own.
    assert _add(colleague_client, account, feed="all_leads", cadence="weekly").status_code == 303  # type: ignore[attr-defined]
    (added,) = digests.list_subscriptions(db, email=colleague.user.email)
    assert added.feed_id == "all_leads"


def test_another_accounts_digests_are_not_reachable(
    signed_in: TestClient, db: Database, builder: Builder, account: Account
) -> None:
    stranger = builder.user()
    elsewhere = builder.account(stranger)
    theirs = digests.subscribe(
        db, SYSTEM_CLOCK.now(), stranger.user.email, elsewhere.id, "all_leads", "daily"
    )
    assert signed_in.get(f"/app/{elsewhere.id}/digests").status_code == 404
    csrf = csrf_of(signed_in, f"/app/{account.id}/digests")
    # Through one's own account, naming the other account's subscription.
    answer = signed_in.post(f"/app/{account.id}/digests/{theirs.id}/remove", data={"csrf": csrf})
    assert answer.status_code == 404
    answer = signed_in.post(
        f"/app/{elsewhere.id}/digests",
        data={"csrf": csrf, "feed": "all_leads", "cadence": "weekly"},
    )
    assert answer.status_code == 404
    assert len(digests.list_subscriptions(db, account_id=elsewhere.id)) == 1
