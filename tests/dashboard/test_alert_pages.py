"""The alerts pages: an admin adds a webhook endpoint whose signing secret is shown once and
signs a test event a real receiver on 127.0.0.1 gets (verified with ``standardwebhooks``),
rotates it, adds a rule, reads the delivery log and a delivery's attempts and replays it;
bad input is a form error; a member of role ``member`` gets 403 and changes nothing."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from html import unescape

import httpx
import pytest
from standardwebhooks import Webhook
from starlette.testclient import TestClient

from openfeeder.config import Settings
from openfeeder.domain.models import Account
from openfeeder.services import alerts
from openfeeder.store import schema as t
from openfeeder.store.db import Database
from tests.alerts.conftest import Receiver, receiver  # noqa: F401 (the fixture)
from tests.dashboard.conftest import csrf_of, give_password, sign_in
from tests.support.clients import MakeClient
from tests.support.factories import Builder, Member

_SECRET = re.compile(r'<pre id="new-secret" class="snippet">([^<]+)</pre>')


@pytest.fixture
def admin_client(make_client: MakeClient, db: Database, member: Member) -> TestClient:
    give_password(db, member)
    client = make_client(alerts_allow_loopback=True, alerts_timeout=5.0)
    assert sign_in(client, member.user.email).status_code == 303
    return client


def _page(account: Account) -> str:
    return f"/app/{account.id}/settings/alerts"


def _post(client: TestClient, account: Account, path: str, **data: str) -> httpx.Response:
    return client.post(
        _page(account) + path,
        data={"csrf": csrf_of(client, _page(account)), **data},
        follow_redirects=False,
    )


def _now() -> datetime:
    return datetime.now(UTC)


def _deliver(settings: Settings, db: Database) -> int:
    changed = settings.model_copy(update={"alerts_allow_loopback": True, "alerts_timeout": 5.0})
    deliverer = alerts.Deliverer(changed, db)
    try:
        return deliverer.run_once()
    finally:
        deliverer.close()  # its HTTP client's connections, not left to the garbage collector


def test_a_webhook_secret_is_shown_once_and_signs_the_test_event(
    admin_client: TestClient,
    settings: Settings,
    db: Database,
    builder: Builder,
    member: Member,
    receiver: Receiver,  # noqa: F811
) -> None:
    account = builder.account(member)
    builder.visits(account, builder.companies(1))
    created = _post(
        admin_client, account, "/endpoints", kind="webhook", url=receiver.url, name="CRM <in>"
    )
    assert created.status_code == 200, created.text
    found = _SECRET.search(created.text)
    assert found is not None
    secret = unescape(found.group(1))
    assert secret.startswith("whsec_")
    assert "CRM &lt;in&gt;" in created.text
    assert "CRM <in>" not in created.text
    listing = admin_client.get(_page(account))
    assert secret not in listing.text
    assert _SECRET.search(listing.text) is None

    [endpoint] = alerts.list_endpoints(db, account)
    tested = _post(admin_client, account, f"/endpoints/{endpoint.id}/test")
    assert tested.status_code == 303
    assert tested.headers["location"] == _page(account) + "/deliveries?done=tested"
    log = admin_client.get(tested.headers["location"])
    assert "A test event is on its way" in log.text
    assert ">pending<" in log.text
    assert _deliver(settings, db) == 1
    [request] = receiver.requests
    payload = Webhook(secret).verify(request.body, request.headers)
    assert payload["type"] == "test"
    assert payload["data"]["lead"]["data"]["type"] == "leads"
    assert payload["data"]["account"]["id"] == str(account.id)

    log = admin_client.get(_page(account) + "/deliveries")
    assert ">delivered<" in log.text
    [delivery] = alerts.list_deliveries(db, account)
    detail = admin_client.get(_page(account) + f"/deliveries/{delivery.id}")
    assert detail.status_code == 200
    assert "HTTP 204" in detail.text
    assert "webhook-signature" in detail.text

    # Replay: the same event again, the same webhook-id, still signed by the secret.
    replayed = _post(admin_client, account, f"/deliveries/{delivery.id}/replay")
    assert replayed.status_code == 303
    assert replayed.headers["location"].endswith("?done=replayed")
    assert _deliver(settings, db) == 1
    assert receiver.ids() == [request.headers["webhook-id"]] * 2
    Webhook(secret).verify(receiver.requests[1].body, receiver.requests[1].headers)

    # Rotation: a new secret shown once; both it and the old one verify the next delivery.
    rotated = _post(admin_client, account, f"/endpoints/{endpoint.id}/rotate")
    assert rotated.status_code == 200
    found = _SECRET.search(rotated.text)
    assert found is not None
    assert unescape(found.group(1)) != secret
    _post(admin_client, account, f"/endpoints/{endpoint.id}/test")
    _deliver(settings, db)
    third = receiver.requests[2]
    for key in (secret, unescape(found.group(1))):
        Webhook(key).verify(third.body, third.headers)


def test_endpoints_and_rules_are_listed_switched_and_deleted(
    admin_client: TestClient, db: Database, builder: Builder, member: Member
) -> None:
    account = builder.account(member)
    slack = "https://hooks.slack.com/services/T000/B000/very-secret-part"
    assert _post(admin_client, account, "/endpoints", kind="slack", url=slack).status_code == 303
    [endpoint] = alerts.list_endpoints(db, account)
    page = admin_client.get(_page(account)).text
    assert "hooks.slack.com/…" in page
    assert "very-secret-part" not in page
    assert "Rotate secret" not in page  # only webhooks sign

    rule = _post(
        admin_client,
        account,
        "/rules",
        feed="all_leads",
        trigger="page_visit",
        pattern="*/pricing*",
        cooldown="3600",
        **{f"endpoint_{endpoint.id}": "1"},
    )
    assert rule.status_code == 303, rule.text
    [made] = alerts.list_rules(db, account)
    assert made.params == {"pattern": "*/pricing*"}
    assert made.cooldown_seconds == 3600
    assert made.endpoint_ids == (endpoint.id,)
    row = re.search(r'<tr id="rule-\d+">(.*?)</tr>', admin_client.get(_page(account)).text, re.S)
    assert row is not None
    for shown in ("All leads", "*/pricing*", "1 hour", endpoint.name, "enabled"):
        assert shown in unescape(row.group(1))

    assert _post(admin_client, account, f"/rules/{made.id}/disable").status_code == 303
    assert not alerts.list_rules(db, account)[0].enabled
    assert _post(admin_client, account, f"/rules/{made.id}/enable").status_code == 303
    assert alerts.list_rules(db, account)[0].enabled
    assert _post(admin_client, account, f"/endpoints/{endpoint.id}/disable").status_code == 303
    assert not alerts.list_endpoints(db, account)[0].enabled
    assert _post(admin_client, account, f"/endpoints/{endpoint.id}/enable").status_code == 303
    assert alerts.list_endpoints(db, account)[0].enabled
    assert _post(admin_client, account, f"/rules/{made.id}/delete").status_code == 303
    assert alerts.list_rules(db, account) == []
    assert _post(admin_client, account, f"/endpoints/{endpoint.id}/delete").status_code == 303
    assert alerts.list_endpoints(db, account) == []
    assert _post(admin_client, account, f"/endpoints/{endpoint.id}/delete").status_code == 404


@pytest.mark.parametrize(
    ("path", "form", "message"),
    [
        ("/endpoints", {"kind": "pigeon", "url": "https://example.com/"}, "kind"),
        ("/endpoints", {"kind": "webhook", "url": "ftp://example.com/"}, "http(s) URL"),
        ("/endpoints", {"kind": "email", "url": "not an address"}, ""),
        (
            "/endpoints",
            {"kind": "slack", "url": "https://x.example/", "template": "{{a}}"},
            "template",
        ),
        ("/rules", {"feed": "all_leads", "trigger": "returning", "days": "lots"}, "days"),
        ("/rules", {"feed": "all_leads", "trigger": "quality", "quality": "11"}, "quality"),
        ("/rules", {"feed": "all_leads", "trigger": "page_visit", "pattern": " "}, "pattern"),
        ("/rules", {"feed": "nope", "trigger": "new_company"}, "nope"),
        ("/rules", {"feed": "all_leads", "trigger": "new_company", "cooldown": "-1"}, "cooldown"),
        ("/rules", {"feed": "all_leads", "trigger": "sometimes"}, "trigger"),
        ("/rules", {"feed": "all_leads", "trigger": "new_company", "no_endpoint": "1"}, "endpoint"),
    ],
)
def test_bad_input_is_a_form_error(
    admin_client: TestClient,
    db: Database,
    builder: Builder,
    member: Member,
    path: str,
    form: dict[str, str],
    message: str,
) -> None:
    account = builder.account(member)
    endpoint = alerts.create_endpoint(
        db, account, "slack", "https://hooks.example.com/x", _now()
    ).endpoint
    if path == "/rules" and "no_endpoint" not in form:
        form = form | {"cooldown": form.get("cooldown", "0"), f"endpoint_{endpoint.id}": "1"}
    answer = _post(admin_client, account, path, **form)
    assert answer.status_code == 400, answer.text
    error = re.search(r'<p class="error" role="alert">([^<]+)</p>', answer.text)
    assert error is not None
    assert message in unescape(error.group(1))
    assert len(alerts.list_endpoints(db, account)) == 1
    assert alerts.list_rules(db, account) == []


def test_the_log_pages_newest_first(
    admin_client: TestClient, db: Database, builder: Builder, member: Member
) -> None:
    account = builder.account(member)
    endpoint = alerts.create_endpoint(
        db, account, "webhook", "https://hooks.example.com/x", _now()
    ).endpoint
    made = [
        alerts.send_test_event(db, account, endpoint.id, _now(), "http://x").id for _ in range(53)
    ]
    first = admin_client.get(_page(account) + "/deliveries").text
    ids = [int(i) for i in re.findall(r"deliveries/(\d+)\">#", first)]
    assert ids == made[::-1][:50]
    older = re.search(r'href="[^"]+\?before=(\d+)" rel="next"', first)
    assert older is not None
    second = admin_client.get(_page(account) + f"/deliveries?before={older.group(1)}").text
    assert [int(i) for i in re.findall(r"deliveries/(\d+)\">#", second)] == made[::-1][50:]
    assert 'rel="next"' not in second
    other = alerts.create_endpoint(
        db, account, "webhook", "https://other.example.com/x", _now()
    ).endpoint
    theirs = alerts.send_test_event(db, account, other.id, _now(), "http://x").id
    only = admin_client.get(_page(account) + f"/deliveries?endpoint={other.id}").text
    assert [int(i) for i in re.findall(r"deliveries/(\d+)\">#", only)] == [theirs]
    assert "Only the deliveries to" in only
    assert admin_client.get(_page(account) + "/deliveries?endpoint=999999").status_code == 404
    bad = admin_client.get(_page(account) + "/deliveries?before=x")
    assert bad.status_code == 400
    assert "whole number" in bad.text


def test_a_member_gets_403_and_changes_nothing(
    make_client: MakeClient, db: Database, builder: Builder, member: Member
) -> None:
    account = builder.account(member)
    colleague = builder.user()
    endpoint = alerts.create_endpoint(
        db, account, "webhook", "https://hooks.example.com/x", _now()
    ).endpoint
    give_password(db, colleague)
    client = make_client()
    with db.write() as conn:
        conn.execute(
            t.memberships.insert().values(
                user_id=colleague.user.id, account_id=account.id, role="member"
            )
        )
    assert sign_in(client, colleague.user.email).status_code == 303
    assert client.get(_page(account)).status_code == 403
    assert client.get(_page(account) + "/deliveries").status_code == 403
    csrf = csrf_of(client, f"/app/{account.id}/leads")
    for path in (
        "/endpoints",
        f"/endpoints/{endpoint.id}/delete",
        f"/endpoints/{endpoint.id}/test",
    ):
        answer = client.post(
            _page(account) + path,
            data={"csrf": csrf, "kind": "webhook", "url": "https://example.com/"},
            follow_redirects=False,
        )
        assert answer.status_code == 403
    assert alerts.list_endpoints(db, account) == [endpoint]
    assert alerts.list_deliveries(db, account) == []


def test_a_hostile_answer_is_shown_escaped(
    admin_client: TestClient,
    settings: Settings,
    db: Database,
    builder: Builder,
    member: Member,
    receiver: Receiver,  # noqa: F811
) -> None:
    account = builder.account(member)
    receiver.status = 418
    receiver.answer = b"<script>window.__xss=1</script><img src=x onerror=alert(1)>"
    endpoint = alerts.create_endpoint(db, account, "webhook", receiver.url, _now()).endpoint
    delivery = alerts.send_test_event(db, account, endpoint.id, _now(), "http://x")
    assert _deliver(settings, db) == 1
    log = admin_client.get(_page(account) + "/deliveries").text
    assert ">pending<" in log  # failed once, retried later
    detail = admin_client.get(_page(account) + f"/deliveries/{delivery.id}").text
    assert "HTTP 418" in detail
    assert "&lt;script&gt;window.__xss=1&lt;/script&gt;" in detail
    assert "<script>window.__xss" not in detail
    assert "<img src=x" not in detail
