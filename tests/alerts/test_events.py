"""Rules over what the pipeline records: every trigger, the feed a rule watches (the lead
list's criteria), cooldowns, disabled rules, and exactly one event per (rule, lead, visit)
whatever retries or a second worker do — on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from openfeeder.domain.clock import FixedClock
from openfeeder.domain.errors import BadRequest
from openfeeder.pipeline import STEPS, make_pipeline
from openfeeder.pipeline.model import Batch, Event, TransientError
from openfeeder.pipeline.steps import Step
from openfeeder.services import alerts, feeds
from openfeeder.services.alerts import evaluate_visits
from openfeeder.services.alerts.events import stored_body
from openfeeder.store import alerts as alerts_store
from openfeeder.store import schema as t
from openfeeder.store.db import Database
from tests.support.pipeline import GLOBEX_IP, T0, World

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


def events(db: Database) -> list[dict[str, Any]]:
    with db.read() as conn:
        rows = conn.execute(sa.select(t.alert_events).order_by(t.alert_events.c.created_at))
        return [dict(row._mapping) for row in rows]


def body_of(db: Database, event_id: str) -> dict[str, Any]:
    with db.write() as conn:
        body = stored_body(conn, event_id, "http://of.example")
    assert body is not None
    return body


def deliveries(db: Database) -> list[dict[str, Any]]:
    with db.read() as conn:
        rows = conn.execute(sa.select(t.alert_deliveries).order_by(t.alert_deliveries.c.id))
        return [dict(row._mapping) for row in rows]


def rule(world: World, url: str, trigger: str, feed_id: str = "all_leads", **options: Any) -> Any:
    endpoint = alerts.create_endpoint(world.db, world.account, "webhook", url, NOW).endpoint
    return alerts.create_rule(
        world.db,
        world.account,
        NOW,
        feed_id=feed_id,
        trigger=trigger,
        endpoint_ids=[endpoint.id],
        **options,
    )


def visit(world: World, at: datetime, *paths: str, **browser: Any) -> None:
    """One visit (hits a minute apart) of a new browser of ACME unless told otherwise."""
    person = world.browser(**browser)
    world.send([person.hit(path, at + timedelta(minutes=i)) for i, path in enumerate(paths)])


def process(world: World, clock: FixedClock | None = None) -> None:
    pipeline = make_pipeline(
        world.settings, world.db, identifier=world.identifier, clock=clock or FixedClock(NOW)
    )
    pipeline.run_once()


def test_new_company_fires_on_the_leads_first_visit_only(world: World) -> None:
    rule(world, "http://127.0.0.1:9/", "new_company")
    visit(world, T0, "/", "/pricing")
    process(world)
    visit(world, T0 + timedelta(days=1), "/")  # a later visit of the same company
    process(world)
    made = events(world.db)
    assert [e["type"] for e in made] == ["lead.new_company"]
    assert made[0]["payload"] is None  # the first delivery builds it
    body = body_of(world.db, made[0]["id"])
    assert body_of(world.db, made[0]["id"]) == body  # built once, then kept
    assert body["id"] == made[0]["id"]
    lead = body["data"]["lead"]["data"]
    assert lead["type"] == "leads"
    assert lead["attributes"]["name"] == world.acme.name
    assert lead["attributes"]["view_in_leadfeeder"].endswith(f"/leads/{lead['id']}")
    assert body["data"]["lead"]["included"][0]["type"] == "locations"
    route = body["data"]["visit"]["data"]["attributes"]["visit_route"]
    assert [step["page_path"] for step in route] == ["/", "/pricing"]
    assert body["data"]["account"]["id"] == str(world.account.id)
    assert len(deliveries(world.db)) == 1


def test_a_rule_watches_its_feed_with_the_lead_lists_criteria(world: World) -> None:
    us_only = feeds.create_feed(
        world.db,
        world.account,
        "US companies",
        [{"criterion_type": "country_code", "search_value": "US"}],
    )
    rule(world, "http://127.0.0.1:9/", "new_company", feed_id=us_only.id)
    visit(world, T0, "/")  # ACME, in Helsinki: not in the feed
    visit(world, T0 + timedelta(minutes=5), "/", ip=GLOBEX_IP)  # Globex, in Boston
    process(world)
    made = events(world.db)
    assert len(made) == 1
    lead = body_of(world.db, made[0]["id"])["data"]["lead"]["data"]
    assert lead["attributes"]["name"] == world.globex.name


def test_returning_fires_after_the_days_away(world: World) -> None:
    rule(world, "http://127.0.0.1:9/", "returning", params={"days": 3}, cooldown_seconds=0)
    visit(world, T0, "/")
    visit(world, T0 + timedelta(days=1), "/")  # back after a day: too soon
    process(world)
    assert events(world.db) == []
    visit(world, T0 + timedelta(days=5), "/")  # four days after the last one
    process(world)
    assert [e["type"] for e in events(world.db)] == ["lead.returning"]


def test_page_visit_matches_the_pattern_against_path_or_url(world: World) -> None:
    by_path = rule(world, "http://127.0.0.1:9/", "page_visit", params={"pattern": "/pricing*"})
    by_url = rule(
        world,
        "http://127.0.0.1:9/",
        "page_visit",
        params={"pattern": "https://www.example.com/docs/*/install"},
    )
    visit(world, T0, "/", "/about")
    visit(world, T0 + timedelta(minutes=1), "/PRICING/enterprise", ip=GLOBEX_IP)
    process(world)
    visit(world, T0 + timedelta(hours=2), "/docs/v2/install")
    process(world)
    fired = sorted(
        (e["rule_id"], body_of(world.db, e["id"])["data"]["lead"]["data"]["attributes"]["name"])
        for e in events(world.db)
    )
    assert fired == sorted([(by_path.id, world.globex.name), (by_url.id, world.acme.name)])


def test_quality_fires_once_the_lead_reaches_it(world: World) -> None:
    rule(world, "http://127.0.0.1:9/", "quality", params={"quality": 3})
    visit(world, T0, "/")
    process(world)
    assert events(world.db) == []  # one page: not yet
    visit(world, T0 + timedelta(hours=2), *[f"/page/{i}" for i in range(12)])
    process(world)
    made = events(world.db)
    assert [e["type"] for e in made] == ["lead.quality"]
    assert made[0]["quality"] >= 3
    assert body_of(world.db, made[0]["id"])["data"]["lead"]["data"]["attributes"]["quality"] >= 3


def test_cooldown_holds_back_a_second_event_about_the_company(world: World) -> None:
    clock = FixedClock(NOW)
    rule(world, "http://127.0.0.1:9/", "page_visit", params={"pattern": "*"}, cooldown_seconds=3600)
    visit(world, T0, "/")
    visit(world, T0 + timedelta(hours=1), "/")
    process(world, clock)
    assert len(events(world.db)) == 1  # the second visit came within the hour
    clock.advance(timedelta(minutes=59))
    visit(world, T0 + timedelta(hours=2), "/")
    process(world, clock)
    assert len(events(world.db)) == 1
    clock.advance(timedelta(minutes=2))
    visit(world, T0 + timedelta(hours=3), "/")
    process(world, clock)
    assert len(events(world.db)) == 2


def test_no_cooldown_fires_for_every_visit_and_disabled_rules_never(world: World) -> None:
    every = rule(
        world, "http://127.0.0.1:9/", "page_visit", params={"pattern": "*"}, cooldown_seconds=0
    )
    off = rule(world, "http://127.0.0.1:9/", "page_visit", params={"pattern": "*"})
    alerts.set_rule_enabled(world.db, world.account, off.id, False)
    visit(world, T0, "/")
    visit(world, T0 + timedelta(hours=1), "/")
    process(world)
    assert [e["rule_id"] for e in events(world.db)] == [every.id, every.id]


def test_alike_rules_are_asked_once_but_each_keeps_its_cooldown_and_endpoint(
    world: World,
) -> None:
    pattern = {"pattern": "*/pricing"}
    hourly = rule(
        world, "http://127.0.0.1:9/a", "page_visit", params=pattern, cooldown_seconds=3600
    )
    every = rule(world, "http://127.0.0.1:9/b", "page_visit", params=pattern, cooldown_seconds=0)
    other = rule(world, "http://127.0.0.1:9/c", "page_visit", params={"pattern": "*/jobs"})
    visit(world, T0, "/", "/pricing")
    visit(world, T0 + timedelta(hours=1), "/pricing")
    process(world)
    made = events(world.db)
    assert sorted(e["rule_id"] for e in made) == sorted([hourly.id, every.id, every.id])
    assert other.id not in {e["rule_id"] for e in made}
    sent = {
        (e["rule_id"], d["endpoint_id"])
        for e in made
        for d in deliveries(world.db)
        if d["event_id"] == e["id"]
    }
    assert sent == {(hourly.id, hourly.endpoint_ids[0]), (every.id, every.endpoint_ids[0])}


def test_a_key_taken_before_the_insert_is_skipped_with_its_deliveries(world: World) -> None:
    made = rule(world, "http://127.0.0.1:9/", "new_company")
    visit(world, T0, "/")
    process(world)
    (first,) = events(world.db)
    endpoint = made.endpoint_ids[0]
    taken = {k: first[k] for k in ("account_id", "rule_id", "lead_pk", "visit_id", "type")}
    fresh = taken | {"visit_id": "another-visit"}
    rows = [
        taken | {"id": "a" * 36, "quality": 1, "created_at": NOW},
        fresh | {"id": "b" * 36, "quality": 2, "created_at": NOW},
    ]
    due = [
        {
            "event_id": r["id"],
            "endpoint_id": endpoint,
            "status": "pending",
            "attempts": 0,
            "next_attempt_at": NOW,
            "created_at": NOW,
        }
        for r in rows
    ]
    with world.db.write() as conn:
        alerts_store.add_events(conn, rows, due)
    assert sorted(e["id"] for e in events(world.db)) == sorted([first["id"], "b" * 36])
    assert sorted(d["event_id"] for d in deliveries(world.db)) == sorted([first["id"], "b" * 36])


def test_evaluating_the_same_visits_again_makes_no_second_event(world: World) -> None:
    rule(world, "http://127.0.0.1:9/", "new_company")
    visit(world, T0, "/")
    process(world)
    assert len(events(world.db)) == 1
    with world.db.read() as conn:
        visits = {(a, v) for a, v in conn.execute(sa.select(t.visits.c.account_id, t.visits.c.id))}
    for _ in range(2):  # as a retried batch or another worker would
        with world.db.write() as conn:
            assert evaluate_visits(conn, visits, NOW, "http://x") == 0
    assert len(events(world.db)) == 1
    assert len(deliveries(world.db)) == 1


class FailOnce(Step):
    """Fails the first batch after every other step has written (a crash before commit)."""

    name = "fail_once"

    def __init__(self) -> None:
        self.failed = False

    def run(self, batch: Batch, event: Event) -> Event:
        return event

    def finish(self, batch: Batch) -> None:
        if not self.failed:
            self.failed = True
            raise TransientError("the store went away")


def test_a_retried_batch_makes_its_event_once(world: World) -> None:
    rule(world, "http://127.0.0.1:9/", "new_company")
    visit(world, T0, "/", "/pricing")
    pipeline = make_pipeline(
        world.settings,
        world.db,
        identifier=world.identifier,
        steps=[*STEPS, FailOnce()],
        clock=FixedClock(NOW),
    )
    with pytest.raises(TransientError):
        pipeline.run_once()
    assert events(world.db) == []  # rolled back with the visits
    pipeline.run_once()
    pipeline.run_once()
    assert len(events(world.db)) == 1
    assert len(deliveries(world.db)) == 1


def test_two_workers_evaluating_at_once_make_one_event(world: World) -> None:
    rule(world, "http://127.0.0.1:9/", "new_company")
    visit(world, T0, "/")
    steps = [s for s in STEPS if s.name != "alerting"]
    make_pipeline(world.settings, world.db, identifier=world.identifier, steps=steps).run_once()
    with world.db.read() as conn:
        visits = {(a, v) for a, v in conn.execute(sa.select(t.visits.c.account_id, t.visits.c.id))}
    made: list[int] = []
    start = threading.Barrier(2)

    def worker() -> None:
        start.wait()
        with world.db.write() as conn:
            made.append(evaluate_visits(conn, visits, NOW, "http://x"))

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert len(events(world.db)) == 1
    assert len(deliveries(world.db)) == 1
    assert sorted(made)[0] in (0, 1)


def test_bad_rules_are_refused_with_the_reason(world: World) -> None:
    endpoint = alerts.create_endpoint(world.db, world.account, "webhook", "https://a.example/", NOW)
    base: dict[str, Any] = {"feed_id": "all_leads", "endpoint_ids": [endpoint.endpoint.id]}
    cases: list[tuple[dict[str, Any], str]] = [
        ({"trigger": "sometimes"}, "trigger must be one of"),
        ({"trigger": "returning", "params": {"days": 0}}, "days must be a whole number"),
        ({"trigger": "page_visit", "params": {"pattern": "*" * 20}}, "wildcards"),
        ({"trigger": "quality", "params": {"quality": 11}}, "quality must be"),
        ({"trigger": "new_company", "feed_id": "nope"}, "Custom feed nope"),
        ({"trigger": "new_company", "endpoint_ids": [999]}, "endpoint 999"),
        ({"trigger": "new_company", "cooldown_seconds": -1}, "cooldown"),
    ]
    for changes, message in cases:
        with pytest.raises(BadRequest, match=message):
            alerts.create_rule(world.db, world.account, NOW, **(base | changes))
