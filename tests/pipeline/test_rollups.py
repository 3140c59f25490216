"""The overview's rollups that the pipeline's batches add up equal the counts of the visits
and pages stored, on each backend: visits re-recorded as they grow across batches, several
sources, and page URLs longer than the rollup shows (recorded directly: the tracker's URLs are
shorter)."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from alembic import command

from openfeeder.domain import ids
from openfeeder.domain.models import Account, NewVisit
from openfeeder.services.visits import record_visits, route_step
from openfeeder.store import schema as t
from openfeeder.store.db import Database
from openfeeder.store.engine import alembic_config
from openfeeder.store.overview import top_pages
from openfeeder.store.rollups import URL_WIDTH, key_hash, rebuild
from tests.support.factories import HELSINKI, Builder
from tests.support.pipeline import ACME_IP, GLOBEX_IP, T0, World, count

LONG = "/" + "x" * (URL_WIDTH + 100)  # two URLs that differ after what the rollup keeps


def _rollups(conn: sa.Connection) -> tuple[list[Any], ...]:
    """Every rollup row, rows that count nothing left out, in key order."""
    return tuple(
        sorted(tuple(row) for row in conn.execute(sa.select(table)) if row[-1] != 0)
        for table in (t.account_day_stats, t.account_day_pages, t.account_day_sources)
    )


def _counted(db: Database) -> tuple[list[Any], ...]:
    """The same rows counted here from the stored visits and pages."""
    with db.read() as conn:
        visits = conn.execute(sa.select(t.visits)).mappings().all()
        pages = conn.execute(sa.select(t.visit_pages)).mappings().all()
    days: Counter[tuple[Any, ...]] = Counter()
    pageviews: Counter[tuple[Any, ...]] = Counter()
    for v in visits:
        days[v["account_id"], v["date"]] += 1
        pageviews[v["account_id"], v["date"]] += v["page_depth"]
    account = {v["id"]: v["account_id"] for v in visits}
    urls = Counter((account[p["visit_id"]], p["date"], p["page_url"]) for p in pages)
    sources = Counter((v["account_id"], v["date"], v["source"], v["medium"]) for v in visits)
    return (
        sorted((*key, n, pageviews[key]) for key, n in days.items()),
        sorted((a, d, key_hash(url), url[:URL_WIDTH], n) for (a, d, url), n in urls.items()),
        sorted((a, d, key_hash(s, m), s, m, n) for (a, d, s, m), n in sources.items()),
    )


def test_rollups_added_batch_by_batch_equal_a_count_of_the_stored_visits(world: World) -> None:
    sent = []
    campaign = "/?utm_source=newsletter&utm_medium=email&utm_campaign=june"
    plans = [
        (ACME_IP, T0, ["/", "/pricing/", "/pricing/", "/docs/"]),
        (ACME_IP, T0 + timedelta(hours=2), [campaign, "/pricing/"]),
        (GLOBEX_IP, T0, ["/"]),  # a bounce
        (GLOBEX_IP, T0 + timedelta(days=1, hours=5), [campaign, "/docs/", "/", "/docs/"]),
        (ACME_IP, T0 + timedelta(days=1), ["/docs/", "/"]),
    ]
    for ip, start, paths in plans:
        browser = world.browser(ip=ip)
        sent += [
            browser.hit(path, start + timedelta(minutes=3 * i)) for i, path in enumerate(paths)
        ]
    world.send(sorted(sent, key=lambda hit: hit.received_at))
    # Batches of 2 hits: most visits are stored, then replaced as later batches extend them.
    assert world.pipeline(batch_size=2).run_once() == len(sent)
    assert count(world.db, t.visits) == len(plans)

    with world.db.read() as conn:
        added = _rollups(conn)
    assert added == _counted(world.db)
    days, pages, sources = added
    assert sum(row[2] for row in days) == len(plans)
    assert sum(row[-1] for row in pages) == count(world.db, t.visit_pages)
    assert ("newsletter", "email") in {(row[3], row[4]) for row in sources}
    # Counting afresh from the stored rows (what the benchmarks do) gives the same rows.
    with world.db.write() as conn:
        rebuild(conn, world.account.id)
        assert _rollups(conn) == added


def test_long_urls_are_kept_apart_and_shown_cut(builder: Builder, account: Account) -> None:
    [company] = builder.companies(1)
    at = datetime(2026, 1, 10, 9, tzinfo=UTC)
    urls = ["https://a.example" + LONG + "a", "https://a.example" + LONG + "b"]
    made = [
        NewVisit(
            id=ids.new_visit_id(),
            account_id=account.id,
            company_id=company.id,
            location=HELSINKI,
            started_at=at + timedelta(hours=n),
            route=[route_step(url, "Title", 10) for url in urls[: n + 1]],
        )
        for n in range(2)
    ]
    record_visits(builder.db, made)
    with builder.db.read() as conn:
        _, pages, _ = _rollups(conn)
        top = top_pages(conn, account.id, at.date(), at.date(), 10)
    assert pages == _counted(builder.db)[1]
    # Two URLs that share what is shown stay two rows, each cut to the column.
    assert sorted(row[-1] for row in pages) == [1, 2]
    assert {row[3] for row in pages} == {urls[0][:URL_WIDTH]}
    assert [(r.label, r.count) for r in top] == [(urls[0][:URL_WIDTH], 2), (urls[0][:URL_WIDTH], 1)]


def test_the_migration_backfill_counts_what_the_recording_path_added(world: World) -> None:
    browser = world.browser(ip=ACME_IP)
    paths = ["/", "/a/", "/", LONG + "a", LONG + "b"]
    world.send([browser.hit(path, T0 + timedelta(minutes=i)) for i, path in enumerate(paths)])
    assert world.pipeline(batch_size=2).run_once() == len(paths)
    with world.db.read() as conn:
        added = _rollups(conn)
    config = alembic_config(world.db.engine)
    command.downgrade(config, "-1")  # 0015_overview_rollups, the head
    command.upgrade(config, "head")
    with world.db.read() as conn:
        assert _rollups(conn) == added
