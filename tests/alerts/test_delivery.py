"""The delivery loop against a real receiver on 127.0.0.1: retries with the same webhook-id
until the receiver takes the event, signatures the ``standardwebhooks`` package verifies (and
a replayed old timestamp it refuses), the delivery log, retries used up, an endpoint disabled
after days of failures (with its hook called), replay, test events and SSRF refusals."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from standardwebhooks import Webhook, WebhookVerificationError

from openfeeder.config import Settings
from openfeeder.domain.alerts import RETRY_DELAYS
from openfeeder.domain.clock import FixedClock
from openfeeder.domain.errors import BadRequest
from openfeeder.domain.models import Account
from openfeeder.services import alerts
from openfeeder.services.alerts import delivery as delivery_module
from openfeeder.services.alerts.signing import signed_headers
from openfeeder.store import schema as t
from openfeeder.store.db import Database
from tests.alerts.conftest import Receiver
from tests.alerts.test_events import process, visit
from tests.support.pipeline import T0, World


def deliverer(settings: Settings, db: Database, clock: FixedClock) -> alerts.Deliverer:
    return alerts.Deliverer(settings, db, clock=clock, rng=random.Random(7))


def webhook_rule(world: World, url: str, now: datetime) -> alerts.NewEndpoint:
    made = alerts.create_endpoint(world.db, world.account, "webhook", url, now, name="CRM")
    alerts.create_rule(
        world.db,
        world.account,
        now,
        feed_id="all_leads",
        trigger="new_company",
        endpoint_ids=[made.endpoint.id],
    )
    return made


def test_the_event_arrives_on_the_third_try_signed_and_replays_are_refused(
    world: World, receiver: Receiver
) -> None:
    # The clock starts ten minutes in the past: the first attempt's timestamp is then old
    # enough for a receiver to refuse it as a replay, the third's is current.
    clock = FixedClock(datetime.now(UTC) - timedelta(minutes=10))
    receiver.fail_first = 2
    made = webhook_rule(world, receiver.url, clock.now())
    assert made.secret is not None
    assert made.secret.startswith("whsec_")
    visit(world, T0, "/", "/pricing")
    process(world, clock)
    loop = deliverer(world.settings, world.db, clock)
    assert loop.run_once() == 1
    assert loop.run_once() == 0  # the retry is not due yet
    clock.advance(RETRY_DELAYS[0] * 1.2)
    assert loop.run_once() == 1
    clock.advance(RETRY_DELAYS[1] * 1.2)
    assert loop.run_once() == 1
    assert loop.run_once() == 0
    loop.close()

    first, second, third = receiver.requests
    event_id = first.headers["webhook-id"]
    assert second.headers["webhook-id"] == third.headers["webhook-id"] == event_id
    hook = Webhook(made.secret)
    body = hook.verify(third.body, third.headers)
    assert body["id"] == event_id
    assert body["type"] == "lead.new_company"
    assert set(body["data"]) >= {"account", "lead", "visit"}
    with pytest.raises(WebhookVerificationError):
        hook.verify(first.body, first.headers)  # a replay of the first: its timestamp is old
    with pytest.raises(WebhookVerificationError):
        Webhook(alerts.rotate_secret(world.db, world.account, made.endpoint.id)).verify(
            third.body, third.headers
        )  # a secret it was not signed with

    (only,) = alerts.list_deliveries(world.db, world.account)
    assert (only.status, only.attempts, only.last_error) == ("delivered", 3, None)
    _, attempts = alerts.delivery_log(world.db, world.account, only.id)
    assert [a.response_status for a in attempts] == [500, 500, 204]
    assert attempts[0].response_excerpt == "failing on purpose"
    assert attempts[0].request_headers["webhook-id"] == event_id
    assert attempts[2].request_body == third.body.decode()
    assert all(a.latency_ms >= 0 for a in attempts)


def test_rotation_signs_with_both_secrets(world: World, receiver: Receiver) -> None:
    clock = FixedClock(datetime.now(UTC))
    made = webhook_rule(world, receiver.url, clock.now())
    newer = alerts.rotate_secret(world.db, world.account, made.endpoint.id)
    alerts.send_test_event(world.db, world.account, made.endpoint.id, clock.now(), "http://x")
    deliverer(world.settings, world.db, clock).run_once()
    (request,) = receiver.requests
    assert len(request.headers["webhook-signature"].split(" ")) == 2
    for secret in (made.secret, newer):
        assert Webhook(secret).verify(request.body, request.headers)["type"] == "test"
    alerts.finish_rotation(world.db, world.account, made.endpoint.id)
    (endpoint,) = alerts.list_endpoints(world.db, world.account)
    assert endpoint.secrets == (newer,)


def test_retries_follow_the_schedule_then_stop(world: World, receiver: Receiver) -> None:
    clock = FixedClock(datetime(2026, 3, 10, 12, 0, tzinfo=UTC))
    receiver.fail_first = 100
    made = webhook_rule(world, receiver.url, clock.now())
    settings = world.settings.model_copy(update={"alerts_disable_after_days": 30.0})
    alerts.send_test_event(world.db, world.account, made.endpoint.id, clock.now(), "http://x")
    loop = deliverer(settings, world.db, clock)
    waits = []
    for _ in range(len(RETRY_DELAYS) + 1):
        before = clock.now()
        assert loop.run_once() == 1
        (item,) = alerts.list_deliveries(world.db, world.account)
        if item.next_attempt_at is not None:
            waits.append(item.next_attempt_at - before)
            clock.set(item.next_attempt_at)
    assert item.status == "failed"
    assert item.attempts == len(RETRY_DELAYS) + 1
    assert item.last_error == "HTTP 500"
    for wait, delay in zip(waits, RETRY_DELAYS, strict=True):
        assert delay * 0.89 <= wait <= delay * 1.11
    clock.advance(timedelta(days=2))
    assert loop.run_once() == 0
    # A replay sends it again at once, as the same event.
    receiver.fail_first = 0
    alerts.replay_delivery(world.db, world.account, item.id, clock.now())
    assert loop.run_once() == 1
    assert len(set(receiver.ids())) == 1
    (item,) = alerts.list_deliveries(world.db, world.account)
    assert item.status == "delivered"


def test_an_endpoint_failing_for_days_is_disabled_and_its_admins_told(
    world: World, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    told: list[Any] = []
    monkeypatch.setattr(
        delivery_module, "ENDPOINT_DISABLED_NOTIFIERS", [lambda _s, endpoint: told.append(endpoint)]
    )
    clock = FixedClock(datetime(2026, 3, 10, 12, 0, tzinfo=UTC))
    receiver.fail_first = 1000
    made = webhook_rule(world, receiver.url, clock.now())
    loop = deliverer(world.settings, world.db, clock)
    for day in range(7):
        alerts.send_test_event(world.db, world.account, made.endpoint.id, clock.now(), "x")
        loop.run_once()
        (endpoint,) = alerts.list_endpoints(world.db, world.account)
        if day < 5:
            assert endpoint.enabled, f"disabled after {day} days"
        clock.advance(timedelta(days=1))
    (endpoint,) = alerts.list_endpoints(world.db, world.account)
    assert not endpoint.enabled
    assert endpoint.disabled_at is not None
    assert "failed since 2026-03-10" in (endpoint.disabled_reason or "")
    assert [e.id for e in told] == [endpoint.id]
    # Nothing goes to a disabled endpoint; enabling it again sends what waits.
    sent = len(receiver.requests)
    alerts.send_test_event(world.db, world.account, made.endpoint.id, clock.now(), "x")
    assert loop.run_once() == 0
    receiver.fail_first = 0
    alerts.set_endpoint_enabled(world.db, world.account, endpoint.id, True)
    assert loop.run_once() >= 1
    assert len(receiver.requests) > sent


def test_a_success_ends_the_failure_streak(world: World, receiver: Receiver) -> None:
    clock = FixedClock(datetime(2026, 3, 10, 12, 0, tzinfo=UTC))
    receiver.fail_first = 1
    made = webhook_rule(world, receiver.url, clock.now())
    loop = deliverer(world.settings, world.db, clock)
    alerts.send_test_event(world.db, world.account, made.endpoint.id, clock.now(), "x")
    loop.run_once()
    assert alerts.get_endpoint(world.db, world.account, made.endpoint.id).failing_since
    clock.advance(timedelta(minutes=2))
    loop.run_once()
    assert alerts.get_endpoint(world.db, world.account, made.endpoint.id).failing_since is None


@pytest.mark.parametrize(
    "url",
    [
        "http://10.1.2.3/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]:9/hook",
        "http://127.0.0.1:9/hook",
        "http://[::ffff:192.168.0.1]/hook",
        "http://0.0.0.0:9/hook",
    ],
)
def test_private_and_loopback_targets_are_refused(
    settings: Settings, db: Database, account: Account, url: str
) -> None:
    clock = FixedClock(datetime(2026, 3, 10, 12, 0, tzinfo=UTC))
    made = alerts.create_endpoint(db, account, "webhook", url, clock.now())
    alerts.send_test_event(db, account, made.endpoint.id, clock.now(), "x")
    deliverer(settings, db, clock).run_once()  # loopback not allowed in these settings
    (item,) = alerts.list_deliveries(db, account)
    assert item.status == "pending"
    assert (item.last_error or "").startswith("refused:")


def test_the_test_event_carries_the_newest_visit(world: World, receiver: Receiver) -> None:
    clock = FixedClock(datetime.now(UTC))
    made = alerts.create_endpoint(world.db, world.account, "webhook", receiver.url, clock.now())
    visit(world, T0, "/", "/contact")
    process(world, clock)
    alerts.send_test_event(world.db, world.account, made.endpoint.id, clock.now(), "http://x")
    deliverer(world.settings, world.db, clock).run_once()
    (request,) = receiver.requests
    body = Webhook(made.secret).verify(request.body, request.headers)
    assert body["type"] == "test"
    assert body["data"]["lead"]["data"]["attributes"]["name"] == world.acme.name
    route = body["data"]["visit"]["data"]["attributes"]["visit_route"]
    assert [s["page_path"] for s in route] == ["/", "/contact"]


def test_a_body_template_renders_the_event(world: World, receiver: Receiver) -> None:
    clock = FixedClock(datetime.now(UTC))
    template = '{"text": "{{type}} for {{data.account.attributes.name}}", "id": "{{id}}"}'
    made = alerts.create_endpoint(
        world.db, world.account, "webhook", receiver.url, clock.now(), template=template
    )
    delivery = alerts.send_test_event(world.db, world.account, made.endpoint.id, clock.now(), "x")
    deliverer(world.settings, world.db, clock).run_once()
    (request,) = receiver.requests
    assert request.body.decode() == (
        f'{{"text": "test for {world.account.name}", "id": "{request.headers["webhook-id"]}"}}'
    )
    assert Webhook(made.secret).verify(request.body, request.headers)["id"] == delivery.event_id


def test_bad_endpoints_are_refused_with_the_reason(db: Database, account: Account) -> None:
    now = datetime(2026, 3, 10, tzinfo=UTC)
    cases = [
        ({"kind": "pager", "url": "https://a.example/"}, "kind must be one of"),
        ({"kind": "email", "url": "https://a.example/"}, "not an email address"),
        ({"kind": "email", "url": "mailto:"}, "at least one address"),
        ({"kind": "webhook", "url": "ftp://a.example/"}, "http"),
        ({"kind": "webhook", "url": "https:///nohost"}, "http"),
        ({"kind": "slack", "url": "https://a.example/", "template": "{{x}}"}, "Only webhook"),
        ({"kind": "webhook", "url": "https://a.example/", "template": "{{> x}}"}, "partials"),
        ({"kind": "webhook", "url": "https://a.example/", "template": "{{#a}}"}, "does not parse"),
    ]
    for options, message in cases:
        with pytest.raises(BadRequest, match=message):
            alerts.create_endpoint(db, account, now=now, **options)


def test_signatures_follow_the_spec_example() -> None:
    # The Standard Webhooks specification's example secret, id, timestamp and body.
    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    body = b'{"test": 2432232314}'
    headers = signed_headers([secret], "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body)
    assert headers["webhook-signature"] == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def test_deliveries_are_in_the_store_as_one_row_per_endpoint(world: World) -> None:
    now = datetime(2026, 3, 10, tzinfo=UTC)
    one = alerts.create_endpoint(world.db, world.account, "webhook", "https://a.example/", now)
    two = alerts.create_endpoint(world.db, world.account, "slack", "https://b.example/", now)
    alerts.create_rule(
        world.db,
        world.account,
        now,
        feed_id="all_leads",
        trigger="new_company",
        endpoint_ids=[one.endpoint.id, two.endpoint.id],
    )
    visit(world, T0, "/")
    process(world, FixedClock(now))
    with world.db.read() as conn:
        rows = conn.execute(sa.select(t.alert_deliveries.c.endpoint_id)).scalars().all()
    assert sorted(rows) == sorted([one.endpoint.id, two.endpoint.id])
