"""The pipeline's runner and upkeep on each backend: the same events twice through two
concurrent workers make each visit exactly once, a crash mid-batch loses and repeats nothing,
identification is one call per account per batch, IP truncation, the janitor, the
Prometheus counters and the in-process loop."""

from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa
from prometheus_client import generate_latest

from openfeeder.domain.drops import DropReason
from openfeeder.ingest.append import IncomingHit
from openfeeder.pipeline import STEPS, Pipeline, make_pipeline
from openfeeder.pipeline.model import Batch, Event, TransientError
from openfeeder.pipeline.steps import Step
from openfeeder.store import schema as t
from openfeeder.store.db import Database
from openfeeder.store.hits import shard_of
from openfeeder.store.identify import cache_put
from tests.support.factories import Builder
from tests.support.pipeline import (
    ACME_IP,
    GLOBEX_IP,
    GOOGLEBOT,
    NOBODY_IP,
    T0,
    Browser,
    World,
    count,
    hits,
    paths,
    unprocessed,
    visits,
)

# --- Exactly once ---------------------------------------------------------------------------


def scenario(
    world: World, visitors: int
) -> tuple[list[IncomingHit], set[tuple[str, tuple[str, ...]]]]:
    """Visitors from both companies, each with two visits of a few pageviews; the hits in
    the order browsers would send them, and the visits they must make."""
    sent: list[tuple[datetime, IncomingHit]] = []
    expected = set()
    for number in range(visitors):
        browser = world.browser(ip=ACME_IP if number % 2 else GLOBEX_IP)
        for visit in range(2):
            start = T0 + timedelta(minutes=3 * number + 90 * visit)
            route = tuple(f"/v{visit}/p{page}/" for page in range(1 + (number + visit) % 4))
            for page, path in enumerate(route):
                sent.append(
                    (
                        start + timedelta(seconds=20 * page),
                        browser.hit(path, start + timedelta(seconds=20 * page)),
                    )
                )
            expected.add((browser.client_id, route))
    sent.sort(key=lambda item: item[0])
    return [hit for _, hit in sent], expected


def made(db: Database) -> set[tuple[str, tuple[str, ...]]]:
    return {(v["lf_client_id"], tuple(paths(v))) for v in visits(db)}


def test_the_same_events_twice_through_two_workers_at_once_make_each_visit_once(
    world: World,
) -> None:
    sent, expected = scenario(world, visitors=24)
    assert world.send(sent) == len(sent)
    assert world.send(sent) == 0  # a browser's retries are deduplicated on clientEventId

    # Two workers, each with its own engine (as two processes would have), small batches.
    workers = []
    for _ in range(2):
        db = Database(world.settings.database_url)
        settings = world.settings.model_copy(update={"pipeline_batch_size": 7})
        workers.append((db, make_pipeline(settings, db, identifier=world.identifier)))
    start = threading.Barrier(len(workers))
    failures: list[BaseException] = []

    def work(pipeline: Pipeline) -> None:
        try:
            start.wait()
            deadline = time.monotonic() + 60
            while unprocessed(world.db) and time.monotonic() < deadline:
                if not pipeline.run_once():
                    time.sleep(0.01)
        except BaseException as error:  # reported by the main thread
            failures.append(error)

    threads = [threading.Thread(target=work, args=(p,)) for _, p in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(90)
    for db, _ in workers:
        db.dispose()
    assert not failures, failures
    assert unprocessed(world.db) == 0

    # Every hit processed exactly once between them, every visit made once and whole.
    assert sum(p.counters.totals()["processed"] for _, p in workers) == len(sent)
    assert made(world.db) == expected
    assert count(world.db, t.visits) == len(expected)
    with world.db.read() as conn:
        totals = conn.execute(sa.select(sa.func.sum(t.leads.c.visits_total))).scalar_one()
        per_day = conn.execute(sa.select(sa.func.sum(t.lead_day_stats.c.visits))).scalar_one()
        pageviews = conn.execute(sa.select(sa.func.sum(t.lead_day_stats.c.pageviews))).scalar_one()
    assert totals == per_day == len(expected)
    assert pageviews == len(sent)

    # The same events once more, after processing: nothing new, nothing to do.
    assert world.send(sent) == 0
    assert world.pipeline().run_once() == 0
    assert made(world.db) == expected


class CrashAfterRecording(Step):
    """Fails once, after the record step wrote the batch's visits: a crash before commit."""

    name = "crash"

    def __init__(self) -> None:
        self.armed = True

    def run(self, batch: Batch, event: Event) -> Event | DropReason:
        return event

    def finish(self, batch: Batch) -> None:
        if self.armed:
            self.armed = False
            raise TransientError("the power went out")


def test_a_crash_mid_batch_loses_nothing_and_repeats_nothing(world: World) -> None:
    sent, expected = scenario(world, visitors=6)
    world.send(sent)
    pipeline = world.pipeline(steps=(*STEPS, CrashAfterRecording()))
    with pytest.raises(TransientError):
        pipeline.run_once()
    for table in (t.visits, t.leads, t.visitor_sessions, t.lead_day_stats):
        assert count(world.db, table) == 0, table.name
    assert unprocessed(world.db) == len(sent)
    assert pipeline.counters.totals()["processed"] == 0

    assert pipeline.run_once() == len(sent)
    assert made(world.db) == expected
    assert count(world.db, t.visits) == len(expected)


def same_shard_client_ids(count: int) -> list[str]:
    """Client ids that ingest puts in one shard, so their hits come in one batch."""
    found = []
    for number in range(10_000):
        client_id = f"LF1.1.{number:016x}.1767225600000"
        if shard_of(client_id) == 0:
            found.append(client_id)
            if len(found) == count:
                return found
    raise AssertionError("not enough client ids")


def test_identification_is_one_call_per_account_per_batch_for_new_visits_only(
    world: World, builder: Builder
) -> None:
    other = builder.account()
    ids = same_shard_client_ids(4)
    browsers = [
        world.browser(ip=ip, client_id=client_id)
        for ip, client_id in zip((ACME_IP, GLOBEX_IP, NOBODY_IP), ids, strict=False)
    ]
    browsers.append(Browser(world.ingestor, other, 99, ip=ACME_IP, client_id=ids[3]))
    world.send([b.hit(f"/{n}/", T0 + timedelta(seconds=n)) for n in range(3) for b in browsers])
    pipeline = world.pipeline()
    assert pipeline.run_once() == 12
    assert pipeline.counters.totals()["batches"] == 1
    assert sorted(world.identifier.calls) == sorted(
        [(world.account.id, sorted([ACME_IP, GLOBEX_IP, NOBODY_IP])), (other.id, [ACME_IP])]
    )
    world.send([b.hit("/later/", T0 + timedelta(minutes=5)) for b in browsers])
    pipeline.run_once()
    assert len(world.identifier.calls) == 2  # open visits are not identified again
    assert len(visits(world.db)) == 3


# --- Settings, upkeep, metrics, the loop ----------------------------------------------------


def test_ips_are_truncated_once_processed_when_configured(world: World) -> None:
    ivan = world.browser()
    world.send([ivan.hit("/", T0)])
    world.pipeline(truncate_ips=True).run_once()
    world.send([world.browser(ip="2001:db8:1234:5678::1").hit("/", T0)])
    assert [h["ip"] for h in hits(world.db)] == ["192.0.2.0", "2001:db8:1234:5678::1"]
    world.pipeline(truncate_ips=True).run_once()
    assert [h["ip"] for h in hits(world.db)] == ["192.0.2.0", "2001:db8:1234::"]
    assert len(visits(world.db)) == 1  # identified by the full IP before truncation


def test_upkeep_deletes_old_hits_finished_sessions_and_unneeded_salts(world: World) -> None:
    nc = "LF1.1.00000000000000bb.1767225600000.NC"
    early, later = world.browser(client_id=nc), world.browser(client_id=nc, ip=GLOBEX_IP)
    recent = world.browser()
    now, day5 = T0 + timedelta(days=40), T0 + timedelta(days=5)
    processed = [
        early.hit("/", T0),
        later.hit("/", day5),
        recent.hit("/", now - timedelta(minutes=9)),
    ]
    world.send(processed)
    pipeline = world.pipeline()
    pipeline.run_once()
    waiting = world.browser().hit("/", day5 + timedelta(hours=1))
    world.send([waiting])

    # Retention is 30 days; a waiting hit from day 5 may still continue day 5's sessions and
    # needs day 5's salt (and the day before's), but nothing older.
    swept = pipeline.upkeep(now)
    assert (swept.hits, swept.sessions, swept.salts) == (2, 1, 1)
    assert [h["client_event_id"] for h in hits(world.db)] == [
        processed[2].client_event_id,
        waiting.client_event_id,
    ]
    with world.db.read() as conn:
        assert conn.execute(sa.select(t.pipeline_salts.c.day)).scalars().all() == [day5.date()]

    assert pipeline.run_once() == 1
    swept = pipeline.upkeep(now)
    assert (swept.hits, swept.sessions, swept.salts) == (1, 2, 1)
    with world.db.read() as conn:
        keys = conn.execute(sa.select(t.visitor_sessions.c.visitor_key)).scalars().all()
    assert keys == [recent.client_id]  # still open


def test_upkeep_deletes_expired_resolver_answers(world: World) -> None:
    now = T0 + timedelta(days=2)
    with world.db.write() as conn:
        cache_put(
            conn,
            "rdns",
            {
                "203.0.113.1": ({"names": []}, now - timedelta(seconds=1)),
                "203.0.113.2": ({"names": []}, now + timedelta(hours=1)),
            },
        )
    assert world.pipeline().upkeep(now).cached_answers == 1
    with world.db.read() as conn:
        assert conn.execute(sa.select(t.ip_cache.c.ip)).scalars().all() == ["203.0.113.2"]


def test_drop_counts_are_exposed_to_prometheus(world: World) -> None:
    world.send([world.browser(user_agent=GOOGLEBOT).hit("/", T0), world.browser().hit("/", T0)])
    pipeline = world.pipeline()
    pipeline.run_once()
    text = generate_latest(pipeline.registry).decode()
    assert 'openfeeder_pipeline_hits_dropped_total{reason="bot"} 1.0' in text
    assert 'openfeeder_pipeline_hits_dropped_total{reason="isp"} 0.0' in text
    assert "openfeeder_pipeline_hits_processed_total 2.0" in text
    assert "openfeeder_pipeline_visits_recorded_total 1.0" in text


def _pipeline_threads() -> set[threading.Thread]:
    return {thread for thread in threading.enumerate() if thread.name == "openfeeder-pipeline"}


def test_the_in_process_loop_processes_hits_as_they_arrive_and_stops(world: World) -> None:
    # Only this pipeline's thread counts: other tests of the same process (the suite runs in
    # several) may still be ending theirs.
    before = _pipeline_threads()
    pipeline = world.pipeline()
    pipeline.start_in_process()
    assert len(_pipeline_threads() - before) == 1
    try:
        world.send([world.browser().hit("/", T0)])
        deadline = time.monotonic() + 10
        while unprocessed(world.db) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert unprocessed(world.db) == 0
    finally:
        pipeline.stop()
    assert len(visits(world.db)) == 1
    assert not _pipeline_threads() - before
    assert not world.identifier.closed  # handed in, so its owner closes it
