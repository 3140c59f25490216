"""The pipeline end to end on each backend, step by step: tracker events appended through
ingest, processed by ``Pipeline.run_once``, read back from the store. Visits and their
routes, sessions across batches, campaigns, the clock, cookieless visitors, and one test per
drop reason.

Identification is a complete table-driven identifier (``TableIdentifier``), so each drop
reason can be produced on purpose; ``tests/pipeline/test_identify.py`` runs the real
resolver chain with MMDB files it builds.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from ipaddress import ip_network

import pytest
import sqlalchemy as sa
from prometheus_client import generate_latest

from openfeeder.domain.drops import DropReason
from openfeeder.ingest.append import IncomingHit
from openfeeder.pipeline import STEPS
from openfeeder.pipeline.model import Batch, Event
from openfeeder.pipeline.steps import Step
from openfeeder.services import hits as hits_service
from openfeeder.store import schema as t
from openfeeder.store.visits import refresh_leads
from tests.support.factories import HELSINKI
from tests.support.pipeline import (
    ACME_IP,
    GLOBEX_IP,
    GOOGLEBOT,
    IPHONE,
    NOBODY_IP,
    SITE,
    T0,
    Answer,
    World,
    count,
    hits,
    paths,
    status,
    unprocessed,
    visits,
)

# --- Visits ---------------------------------------------------------------------------------


def test_pageviews_become_one_visit_with_its_route_and_status_moves_to_ok(world: World) -> None:
    assert status(world.db, world.account) == "not_installed"
    alice = world.browser(
        user_agent=IPHONE,
        ga_client_ids=["GA1.2.123.456"],
        foreign_cookies=[{"type": "AMCV", "value": "MCMID|111|MCAAMLH-1700000000|6|MCAAMB-1|xyz"}],
    )
    sent = [
        alice.hit("/", T0, referrer="https://www.google.com/search?q=visitor+tracking"),
        alice.hit("/pricing/", T0 + timedelta(seconds=40), referrer=f"{SITE}/"),
        alice.hit("/pricing/", T0 + timedelta(seconds=70), event="file-download"),
        alice.hit("/demo/", T0 + timedelta(seconds=100), referrer=f"{SITE}/pricing/"),
    ]
    assert world.send(sent) == 4
    assert status(world.db, world.account) == "reporting"

    pipeline = world.pipeline()
    assert pipeline.run_once() == 4
    assert status(world.db, world.account) == "ok"

    [visit] = visits(world.db)
    assert visit["started_at"] == T0
    assert paths(visit) == ["/", "/pricing/", "/demo/"]
    route = visit["visit_route"]
    assert [s["previous_page_path"] for s in route] == ["(entrance)", "/", "/pricing/"]
    assert [s["time_on_page"] for s in route] == [40, 60, 0]
    assert (visit["page_depth"], visit["visit_length"]) == (3, 100)
    assert (visit["source"], visit["medium"], visit["keyword"]) == (
        "Google",
        "organic",
        "visitor tracking",
    )
    assert visit["referring_url"] == "https://www.google.com/search?q=visitor+tracking"
    assert visit["device_type"] == "smartphone"
    assert visit["lf_client_id"] == alice.client_id
    assert visit["ga_client_ids"] == ["GA1.2.123.456"]
    assert visit["adobe_cookies"] == [{"MCMID": "111", "MCAAMLH": "6", "MCAAMB": "xyz"}]
    assert visit["match_source"] == "company_range"
    assert visit["country_code"] == "FI"
    with world.db.read() as conn:
        lead = conn.execute(sa.select(t.leads)).one()._mapping
    assert (lead["company_id"], lead["location_id"], lead["visits_total"]) == (
        world.acme.id,
        HELSINKI.id,
        1,
    )
    stored = hits(world.db)
    assert all(h["processed_at"] is not None and h["drop_reason"] is None for h in stored)
    assert {h["visit_id"] for h in stored} == {visit["id"]}
    assert pipeline.drop_counts() == {}


def test_a_visit_ends_after_30_idle_minutes_even_across_batches(world: World) -> None:
    bob = world.browser()
    at = [T0, T0 + timedelta(minutes=29), T0 + timedelta(minutes=59, seconds=1)]
    world.send([bob.hit(f"/p{i}/", moment) for i, moment in enumerate(at)])
    # One hit per batch: the open visit has to come back from visitor_sessions each time.
    assert world.pipeline(batch_size=1).run_once() == 3

    first, second = visits(world.db)
    assert paths(first) == ["/p0/", "/p1/"]
    assert first["visit_length"] == 29 * 60
    assert paths(second) == ["/p2/"]
    assert second["started_at"] == at[2]
    with world.db.read() as conn:
        lead = conn.execute(sa.select(t.leads.c.visits_total)).scalar_one()
    assert lead == 2


def test_lead_statistics_added_batch_by_batch_equal_a_recount_from_the_visits(
    world: World,
) -> None:
    # Visits of two leads over two days, re-recorded as they grow over batches of 3 hits
    # (a bounce, long visits, visits crossing batches): the per-day statistics and lead
    # totals the batches add up must be what counting the stored visits afresh gives.
    sent = []
    starts = [(ACME_IP, T0), (ACME_IP, T0 + timedelta(hours=2)), (GLOBEX_IP, T0)]
    starts += [(ACME_IP, T0 + timedelta(days=1)), (GLOBEX_IP, T0 + timedelta(days=1, hours=5))]
    for number, (ip, start) in enumerate(starts):
        browser = world.browser(ip=ip)
        pages = 1 if number == 2 else 2 + number
        sent += [browser.hit(f"/p{i}/", start + timedelta(minutes=3 * i)) for i in range(pages)]
    world.send(sorted(sent, key=lambda hit: hit.received_at))
    assert world.pipeline(batch_size=3).run_once() == len(sent)

    stats = sa.select(t.lead_day_stats).order_by(t.lead_day_stats.c.lead_pk, "day")
    totals = sa.select(
        t.leads.c.pk,
        t.leads.c.visits_total,
        t.leads.c.first_visit_at,
        t.leads.c.last_visit_at,
        t.leads.c.first_visit_date,
        t.leads.c.last_visit_date,
    ).order_by(t.leads.c.pk)
    with world.db.write() as conn:
        added = (conn.execute(stats).all(), conn.execute(totals).all())
        pks = list(conn.execute(sa.select(t.leads.c.pk)).scalars())
        refresh_leads(conn, pks, T0.date() - timedelta(days=1), T0.date() + timedelta(days=2))
        recounted = (conn.execute(stats).all(), conn.execute(totals).all())
    assert added == recounted
    assert sum(row.visits for row in added[0]) == count(world.db, t.visits) == 5
    assert {row.visits_total for row in added[1]} == {2, 3}


def test_a_new_campaign_starts_a_new_visit_and_internal_links_do_not(world: World) -> None:
    carol = world.browser()
    world.send(
        [
            carol.hit("/", T0),
            carol.hit(
                "/?utm_source=newsletter&utm_medium=email&utm_campaign=june",
                T0 + timedelta(minutes=2),
            ),
            carol.hit("/pricing/", T0 + timedelta(minutes=3), referrer=f"{SITE}/"),
            carol.hit("/?gclid=abc", T0 + timedelta(minutes=4), referrer="https://www.google.com/"),
            carol.hit("/?gclid=def", T0 + timedelta(minutes=5), referrer="https://www.google.com/"),
        ]
    )
    world.pipeline().run_once()
    direct, email, paid = visits(world.db)
    assert (direct["source"], direct["medium"], paths(direct)) == ("(direct)", "(none)", ["/"])
    assert (email["source"], email["medium"], email["campaign"]) == ("newsletter", "email", "june")
    assert paths(email) == [
        "/?utm_source=newsletter&utm_medium=email&utm_campaign=june",
        "/pricing/",
    ]
    assert (paid["source"], paid["medium"]) == ("Google", "cpc")
    assert len(paths(paid)) == 2  # a second click of the same campaign continues the visit


def test_a_hit_that_arrives_out_of_order_never_runs_the_clock_backwards(world: World) -> None:
    dave = world.browser()
    world.send([dave.hit("/a/", T0 + timedelta(seconds=30)), dave.hit("/b/", T0)])
    world.pipeline().run_once()
    [visit] = visits(world.db)
    assert paths(visit) == ["/a/", "/b/"]  # append order
    assert [s["time_on_page"] for s in visit["visit_route"]] == [0, 0]
    assert visit["started_at"] == T0 + timedelta(seconds=30)


def test_cookieless_visitors_are_told_apart_by_ip_and_user_agent_with_a_daily_salt(
    world: World,
) -> None:
    nc = "LF1.1.00000000000000aa.1767225600000.NC"
    erin = world.browser(client_id=nc)
    frank = world.browser(client_id=nc, ip=GLOBEX_IP)
    next_day = T0 + timedelta(days=1)
    world.send(
        [
            erin.hit("/", T0),
            frank.hit("/", T0 + timedelta(seconds=5)),
            erin.hit("/pricing/", T0 + timedelta(minutes=1)),
            erin.hit("/", next_day),
        ]
    )
    world.pipeline().run_once()
    rows = visits(world.db)
    assert [paths(v) for v in rows] == [["/", "/pricing/"], ["/"], ["/"]]
    with world.db.read() as conn:
        keys = conn.execute(sa.select(t.visitor_sessions.c.visitor_key)).scalars().all()
        salts = conn.execute(sa.select(t.pipeline_salts.c.day)).scalars().all()
    # Erin on two days and Frank: three keys, none of which holds the IP or the client id.
    assert len(set(keys)) == 3
    assert all(key.startswith("nc:") and ACME_IP not in key for key in keys)
    assert sorted(salts) == [T0.date(), next_day.date()]


# --- Drop reasons: one test each ------------------------------------------------------------

HEADLESS = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "HeadlessChrome/126.0.0.0 Safari/537.36"
)
# Networks the table identifier drops, one per reason of the resolver chain.
CHAIN_NETWORKS = {
    DropReason.OWN_TRAFFIC: "198.51.100.0/28",
    DropReason.EXCLUDED_COUNTRY: "198.51.100.16/28",
    DropReason.EXCLUDED_HOSTNAME: "198.51.100.32/28",
    DropReason.ISP: "198.51.100.48/28",
    DropReason.MOBILE: "198.51.100.64/28",
    DropReason.HOSTING: "198.51.100.80/28",
}


Case = Callable[[World], list[IncomingHit]]


def _from(network: str) -> Case:
    """A visitor from an address inside ``network``."""
    return lambda w: [w.browser(ip=str(ip_network(network)[5])).hit("/", T0)]


DROP_CASES: dict[DropReason, Case] = {
    DropReason.BOT: lambda w: [
        w.browser(user_agent=GOOGLEBOT).hit("/", T0),
        w.browser(user_agent="").hit("/", T0),
        w.browser(user_agent="python-requests/2.32").hit("/", T0),
    ],
    DropReason.HEADLESS: lambda w: [
        w.browser(user_agent=HEADLESS).hit("/", T0),
        w.browser().hit("/", T0, request_meta={"sec-ch-ua": '"HeadlessChrome";v="126"'}),
    ],
    DropReason.PREFETCH: lambda w: [
        w.browser().hit("/", T0, request_meta={"Sec-Purpose": "prefetch;prerender"}),
        w.browser().hit("/", T0, request_meta={"purpose": "prefetch"}),
    ],
    DropReason.INVALID_EVENT: lambda w: [w.browser(client_id="not-a-client-id").hit("/", T0)],
    DropReason.NO_VISIT: lambda w: [w.browser().hit("/whitepaper/", T0, event="form-submit")],
    **{reason: _from(network) for reason, network in CHAIN_NETWORKS.items()},
    DropReason.UNIDENTIFIED: lambda w: [w.browser(ip=NOBODY_IP).hit("/", T0)],
}


def test_every_drop_reason_has_its_test() -> None:
    # ERROR has its own test below (a step that fails on one hit).
    assert set(DROP_CASES) | {DropReason.ERROR} == set(DropReason)


@pytest.mark.parametrize("reason", list(DROP_CASES), ids=str)
def test_drop_reason(world: World, reason: DropReason) -> None:
    for kind, network in CHAIN_NETWORKS.items():
        world.identifier.networks[network] = Answer(match_reason="a rule", drop_reason=kind)
    sent = DROP_CASES[reason](world)
    # A real visit beside the dropped hits, so a drop cannot pass by dropping everything.
    sent.append(world.browser().hit("/", T0))
    world.send(sent)
    pipeline = world.pipeline()
    assert pipeline.run_once() == len(sent)

    dropped = len(sent) - 1
    assert pipeline.drop_counts() == {reason.value: dropped}
    stored = hits(world.db)
    assert [h["drop_reason"] for h in stored] == [reason.value] * dropped + [None]
    assert all(h["processed_at"] is not None for h in stored)
    assert [h["visit_id"] is None for h in stored] == [True] * dropped + [False]
    assert len(visits(world.db)) == 1
    assert count(world.db, t.leads) == 1


def test_a_dropped_visit_is_remembered_and_its_later_hits_are_not_identified_again(
    world: World,
) -> None:
    world.identifier.networks["198.51.100.48/28"] = Answer(drop_reason=DropReason.ISP)
    grace = world.browser(ip="198.51.100.50")
    world.send([grace.hit("/", T0)])
    pipeline = world.pipeline()
    pipeline.run_once()
    world.send([grace.hit(f"/p{i}/", T0 + timedelta(minutes=i)) for i in range(1, 4)])
    pipeline.run_once()
    assert len(world.identifier.calls) == 1
    assert pipeline.drop_counts() == {"isp": 4}
    with world.db.read() as conn:
        state = conn.execute(sa.select(t.visitor_sessions.c.state)).scalar_one()
    assert state["drop"] == "isp"
    assert state["pages"] == []  # a dropped visit keeps no route
    assert count(world.db, t.visits) == count(world.db, t.leads) == 0


_BUG = "ValueError: a bug this hit trips"


class FailOn(Step):
    """A step with a bug that one particular hit trips."""

    name = "fail_on"

    def __init__(self, client_event_id: str) -> None:
        self.client_event_id = client_event_id

    def run(self, batch: Batch, event: Event) -> Event | DropReason:
        if event.hit.client_event_id == self.client_event_id:
            raise ValueError(_BUG.removeprefix("ValueError: "))
        return event


def test_drop_reason_error_sets_aside_a_hit_that_fails_alone(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    henry = world.browser()
    sent = [henry.hit(f"/p{i}/", T0 + timedelta(seconds=10 * i)) for i in range(5)]
    world.send(sent)
    poison = sent[2].client_event_id
    pipeline = world.pipeline(steps=(*STEPS[:4], FailOn(poison), *STEPS[4:]))
    assert pipeline.run_once() == 5

    assert pipeline.drop_counts() == {"error": 1}
    assert [h["drop_reason"] for h in hits(world.db)] == [None, None, "error", None, None]
    assert [h["error"] for h in hits(world.db)] == [None, None, _BUG, None, None]
    [visit] = visits(world.db)
    assert paths(visit) == ["/p0/", "/p1/", "/p3/", "/p4/"]
    assert "quarantining the next hit" in caplog.text
    assert pipeline.counters.quarantine_counts() == {"ValueError": 1}
    exposed = generate_latest(pipeline.registry).decode()
    assert 'openfeeder_pipeline_hits_quarantined_total{error="ValueError"} 1.0' in exposed

    # Visible to operators, and processed again once released (the bug fixed).
    [quarantined] = hits_service.quarantined(world.db)
    assert (quarantined.id, quarantined.error) == (hits(world.db)[2]["id"], _BUG)
    assert hits_service.release(world.db) == 1
    assert hits_service.quarantined(world.db) == []
    assert world.pipeline().run_once() == 1
    assert [h["drop_reason"] for h in hits(world.db)] == [None] * 5
    assert sorted(len(paths(v)) for v in visits(world.db)) in ([5], [1, 4])


class StoreRefuses(Step):
    """A step whose write the store refuses for one particular hit: a real data error from
    the database (a NULL in a NOT NULL column), raised inside the batch's transaction."""

    name = "store_refuses"

    def __init__(self, client_event_id: str) -> None:
        self.client_event_id = client_event_id

    def run(self, batch: Batch, event: Event) -> Event | DropReason:
        if event.hit.client_event_id == self.client_event_id:
            batch.conn.execute(t.pipeline_shards.insert().values(shard=None))
        return event


def test_a_hit_the_store_refuses_is_quarantined_not_retried_for_ever(world: World) -> None:
    # On PostgreSQL a data error aborts the whole transaction; the batch is redone hit by
    # hit and only the hit at fault is set aside, while the visitor's other hits go on.
    henry = world.browser()
    sent = [henry.hit(f"/p{i}/", T0 + timedelta(seconds=10 * i)) for i in range(4)]
    world.send(sent)
    pipeline = world.pipeline(steps=(*STEPS[:4], StoreRefuses(sent[1].client_event_id), *STEPS[4:]))
    assert pipeline.run_once() == 4
    assert [h["drop_reason"] for h in hits(world.db)] == [None, "error", None, None]
    assert hits(world.db)[1]["error"].startswith("IntegrityError: ")
    [visit] = visits(world.db)
    assert paths(visit) == ["/p0/", "/p2/", "/p3/"]
    assert unprocessed(world.db) == 0


def test_a_nul_stored_before_validation_refused_it_is_dropped_not_a_poison_pill(
    world: World,
) -> None:
    # Hits stored by an older version could hold U+0000, which PostgreSQL cannot put in a
    # visit: the pipeline's validation drops such a hit, and the visitor's next hits go on.
    henry = world.browser()
    sent = [henry.hit(f"/p{i}/", T0 + timedelta(seconds=10 * i)) for i in range(3)]
    world.send(sent)
    with world.db.write() as conn:
        first = conn.execute(sa.select(sa.func.min(t.hits.c.id))).scalar_one()
        payload = dict(hits(world.db)[0]["payload"])
        payload["context"] = dict(payload["context"], pageUrl="https://www.example.com/\u0000")
        conn.execute(t.hits.update().where(t.hits.c.id == first).values(payload=payload))
    pipeline = world.pipeline()
    assert pipeline.run_once() == 3
    assert [h["drop_reason"] for h in hits(world.db)] == ["invalid_event", None, None]
    [visit] = visits(world.db)
    assert paths(visit) == ["/p1/", "/p2/"]


class StoreUnreachable(Step):
    """A step that meets an outage: the store's connection fails."""

    name = "store_unreachable"

    def run(self, batch: Batch, event: Event) -> Event | DropReason:
        raise sa.exc.OperationalError("SELECT 1", {}, ConnectionError("server closed"))


def test_an_outage_is_retried_later_never_quarantined(world: World) -> None:
    henry = world.browser()
    world.send([henry.hit("/p0/", T0)])
    pipeline = world.pipeline(steps=(*STEPS[:4], StoreUnreachable(), *STEPS[4:]))
    with pytest.raises(sa.exc.OperationalError):
        pipeline.run_once()  # the loop logs it, waits and tries the batch again
    assert unprocessed(world.db) == 1
    assert hits_service.quarantined(world.db) == []
    assert world.pipeline().run_once() == 1  # once the store is back
    assert len(visits(world.db)) == 1
