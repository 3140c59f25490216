"""The demo's guarantees: enough leads and visits, realistic and complete data, the three
tracking states, feeds using every criterion type, determinism, and loading only once; and
that its visits really come from tracker hits through ingest and the pipeline, with the
company import and the MMDB files the demo writes.

Most tests read one demo loaded per module into its own SQLite file; the determinism test
loads it again into the empty per-test store of each backend and compares the two.
"""

from __future__ import annotations

import itertools
import re
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from openfeeder.config import Settings
from openfeeder.demo import DEMO_EMAIL, DemoResult, load_demo
from openfeeder.domain.feeds import INDUSTRIES, Criterion
from openfeeder.domain.models import Account
from openfeeder.services import access, accounts, feeds, leads
from openfeeder.store import schema as t
from openfeeder.store.db import Database

TODAY = datetime.now(UTC).date()


def sqlite_settings(directory: Path) -> Settings:
    return Settings(database_url=f"sqlite:///{directory / 'demo.db'}", data_dir=directory / "data")


@pytest.fixture(scope="module")
def demo_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return sqlite_settings(tmp_path_factory.mktemp("demo"))


@pytest.fixture(scope="module")
def demo(demo_settings: Settings) -> Iterator[tuple[Database, DemoResult]]:
    db = Database(demo_settings.database_url)
    db.migrate()
    started = time.monotonic()
    result = load_demo(db, demo_settings, today=TODAY)
    # Seconds in practice; the bound only catches a pathological slowdown.
    assert time.monotonic() - started < 60
    yield db, result
    db.dispose()


def by_name(result: DemoResult) -> dict[str, Account]:
    return {account.name: account for account in result.accounts}


def summary(db: Database) -> dict[str, Any]:
    """What must be equal after two loads on the same day into two empty stores."""
    companies = [c for c in t.companies.c if c.name != "updated_at"]
    v = t.visits
    with db.read() as conn:
        return {
            "companies": conn.execute(sa.select(*companies).order_by(t.companies.c.id)).all(),
            "visits": conn.execute(
                sa.select(
                    v.c.id,
                    t.leads.c.id,
                    v.c.account_id,
                    v.c.started_at,
                    v.c.date,
                    v.c.hour,
                    v.c.source,
                    v.c.medium,
                    v.c.page_depth,
                    v.c.visit_length,
                )
                .join(t.leads, t.leads.c.pk == v.c.lead_pk)
                .order_by(v.c.id)
            ).all(),
            "leads": conn.execute(
                sa.select(
                    t.leads.c.id,
                    t.leads.c.assignee,
                    t.leads.c.tags,
                    t.leads.c.crm_lead_id,
                    t.leads.c.visits_total,
                ).order_by(t.leads.c.id)
            ).all(),
            "followers": conn.execute(
                sa.select(sa.func.count()).select_from(t.lead_followers)
            ).scalar_one(),
            "hits": conn.execute(sa.select(sa.func.count()).select_from(t.hits)).scalar_one(),
            "feeds": conn.execute(
                sa.select(t.custom_feeds.c.account_id, t.custom_feeds.c.name).order_by(
                    t.custom_feeds.c.id
                )
            ).all(),
        }


def count(db: Database, table: sa.Table, *where: sa.ColumnElement[bool]) -> int:
    with db.read() as conn:
        return int(
            conn.execute(sa.select(sa.func.count()).select_from(table).where(*where)).scalar_one()
        )


def test_premium_account_has_hundreds_of_leads_and_thousands_of_visits(
    demo: tuple[Database, DemoResult],
) -> None:
    db, result = demo
    website = by_name(result)["Sample website"]
    assert count(db, t.leads, t.leads.c.account_id == website.id) >= 300
    assert count(db, t.visits, t.visits.c.account_id == website.id) >= 3000
    assert count(db, t.visits, t.visits.c.account_id == website.id) > count(db, t.visits) / 2


def test_three_accounts_in_the_three_tracking_states(demo: tuple[Database, DemoResult]) -> None:
    db, result = demo
    assert result.created
    assert result.user.email == DEMO_EMAIL
    views = accounts.list_for_user(db, access.authenticate(db, result.token))
    shown = {
        (v.account.name, v.account.subscription, v.account.on_trial, v.account.timezone): (
            v.tracking_status
        )
        for v in views
    }
    assert shown == {
        ("Sample account", "lite", False, "Europe/Helsinki"): "not_installed",
        ("Sample website", "premium", False, "America/New_York"): "ok",
        ("Another account", "premium", True, "UTC"): "reporting",
    }


def test_third_account_has_unprocessed_hits_and_no_visits(
    demo: tuple[Database, DemoResult],
) -> None:
    db, result = demo
    another = by_name(result)["Another account"]
    hits = t.hits.c
    assert count(db, t.hits, hits.account_id == another.id) > 0
    assert count(db, t.hits, hits.account_id == another.id, hits.processed_at.is_not(None)) == 0
    assert count(db, t.visits, t.visits.c.account_id == another.id) == 0
    with db.read() as conn:
        payloads = (
            conn.execute(sa.select(hits.payload).where(hits.account_id == another.id))
            .scalars()
            .all()
        )
    for payload in payloads:
        assert payload["event"] == "tracking-event"
        assert payload["scriptId"] == another.script_hash
        assert re.fullmatch(r"[0-9a-f]{16}", payload["clientEventId"])
        assert re.fullmatch(r"LF1\.1\.[0-9a-f]{16}\.\d+", payload["lfClientId"])


def test_custom_feeds_use_every_criterion_type_and_each_finds_leads(
    demo: tuple[Database, DemoResult],
) -> None:
    db, result = demo
    builtin = {"all_leads", "new_leads", "recommended_leads", "followed_companies"}
    used: set[Criterion] = set()
    website = by_name(result)["Sample website"]
    for account in result.accounts:
        for feed in feeds.list_feeds(db, account, result.user):
            if feed.id in builtin:
                continue
            used |= {c.criterion_type for c in feed.criteria}
            if account == website:
                page = leads.list_leads(
                    db, account, feed, TODAY - timedelta(days=92), TODAY, page=1, size=10
                )
                assert page.total > 0, f"feed {feed.name!r} finds no lead"
    assert used == set(Criterion)


def test_followed_assigned_and_tagged_leads(demo: tuple[Database, DemoResult]) -> None:
    db, result = demo
    website = by_name(result)["Sample website"]
    first, last = TODAY - timedelta(days=92), TODAY
    followed = feeds.get_feed(db, website, result.user, "followed_companies")
    assert leads.list_leads(db, website, followed, first, last, 1, 10).total >= 10
    everyone = leads.list_leads(
        db, website, feeds.get_feed(db, website, result.user, "all_leads"), first, last, 1, 100
    )
    assert {lead.status for lead in everyone.items} == {"new", "handled"}
    lead = t.leads.c
    assert count(db, t.leads, lead.assignee.is_not(None)) > 10
    assert count(db, t.leads, lead.assignee == DEMO_EMAIL) > 0
    assert count(db, t.leads, lead.crm_lead_id.is_not(None)) > 5
    assert count(db, t.leads, lead.crm_organization_id.is_not(None)) > 0
    assert count(db, t.leads, lead.emailed_to.is_not(None)) > 5
    with db.read() as conn:
        tags = conn.execute(sa.select(lead.tags)).scalars().all()
    assert sum(1 for tagged in tags if tagged) > 10


def test_companies_have_complete_firmographics(demo: tuple[Database, DemoResult]) -> None:
    db, _ = demo
    with db.read() as conn:
        rows = conn.execute(sa.select(t.companies)).mappings().all()
    assert len(rows) >= 300
    assert len({row["name"] for row in rows}) == len(rows)
    for row in rows:
        # employees_max None: more than 10 000 employees, as in the API; profile: what a
        # discovered company's website says (the demo's companies are imported).
        nullable = {"employees_max", "profile"}
        missing = [name for name, value in row.items() if value is None and name not in nullable]
        assert not missing, (row["name"], missing)
        assert row["industry"] == INDUSTRIES[row["industry_code"]]
        assert row["industries"]
        assert row["website_url"] == f"https://www.{row['domain']}"
        assert re.fullmatch(r"[A-Z]{3} \d+\.0", row["revenue"])
        assert re.fullmatch(r"\+\d{8,14}", row["phone"])
        low, high, employees = row["employees_min"], row["employees_max"], row["employee_count"]
        assert low <= employees
        assert high is None or employees <= high
    assert {row["industry_code"] for row in rows} == set(INDUSTRIES)


def test_visits_are_spread_and_realistic(demo: tuple[Database, DemoResult]) -> None:
    db, _ = demo
    with db.read() as conn:
        rows = conn.execute(sa.select(t.visits)).mappings().all()
    dates = {row["date"] for row in rows}
    assert min(dates) >= TODAY - timedelta(days=91)
    assert max(dates) < TODAY
    assert len(dates) >= 80
    assert all(
        row["started_at"] < datetime.combine(TODAY, datetime.min.time(), UTC) for row in rows
    )

    pairs = {(row["source"], row["medium"]) for row in rows}
    assert {
        ("Google", "organic"),
        ("Google", "cpc"),
        ("LinkedIn", "social"),
        ("Newsletter", "email"),
        ("(direct)", "(none)"),
    } <= pairs
    assert any(medium == "referral" for _, medium in pairs)
    for row in rows:
        if row["medium"] == "organic":
            assert row["keyword"]
        if row["medium"] == "cpc":
            assert row["campaign"]
            assert row["keyword"]
        route = row["visit_route"]
        assert row["page_depth"] == len(route) >= 1
        assert row["visit_length"] == sum(step["time_on_page"] for step in route)
        assert route[0]["previous_page_path"] == "(entrance)"
        for before, after in itertools.pairwise(route):
            assert after["previous_page_path"] == before["page_path"]
        assert all(step["hostname"] == "www.example.com" and step["page_title"] for step in route)
    paths = {step["page_path"] for row in rows for step in row["visit_route"]}
    assert {"/", "/pricing/", "/blog/"} <= paths
    assert any(path.startswith("/blog/") and path != "/blog/" for path in paths)
    assert {row["device_type"] for row in rows} == {"desktop", "smartphone", "tablet"}
    with_ga = sum(1 for row in rows if row["ga_client_ids"])
    with_adobe = sum(1 for row in rows if row["adobe_cookies"])
    assert len(rows) / 2 < with_ga < len(rows)
    assert 0 < with_adobe < len(rows) / 10
    assert all(re.fullmatch(r"LF1\.1\.[0-9a-f]{16}\.\d+", row["lf_client_id"]) for row in rows)


def test_loading_again_only_issues_a_new_token(
    demo: tuple[Database, DemoResult], demo_settings: Settings
) -> None:
    db, first = demo
    before = summary(db)
    again = load_demo(db, demo_settings, today=TODAY)
    assert not again.created
    assert again.user == first.user
    assert again.accounts == first.accounts
    assert again.token != first.token
    assert access.authenticate(db, again.token) == first.user
    assert access.authenticate(db, first.token) == first.user
    assert summary(db) == before


def test_same_demo_in_another_empty_store(
    demo: tuple[Database, DemoResult], db: Database, settings: Settings
) -> None:
    """Determinism: a second load into an empty store (each backend) holds the same data."""
    reference, _ = demo
    result = load_demo(db, settings, today=TODAY)
    assert [(a.id, a.name) for a in result.accounts] == [
        (1, "Sample account"),
        (2, "Sample website"),
        (3, "Another account"),
    ]
    assert summary(db) == summary(reference)


def test_dates_follow_today(tmp_path: Path) -> None:
    settings = sqlite_settings(tmp_path)
    db = Database(settings.database_url)
    db.migrate()
    try:
        load_demo(db, settings, today=date(2030, 6, 15))
        with db.read() as conn:
            first, last = conn.execute(
                sa.select(sa.func.min(t.visits.c.date), sa.func.max(t.visits.c.date))
            ).one()
    finally:
        db.dispose()
    assert date(2030, 3, 16) <= first
    assert last == date(2030, 6, 14)


def test_visits_come_from_tracker_hits_through_ingest_and_the_pipeline(
    demo: tuple[Database, DemoResult], demo_settings: Settings
) -> None:
    db, result = demo
    website = by_name(result)["Sample website"]
    hits, v = t.hits.c, t.visits.c
    mine = hits.account_id == website.id
    assert count(db, t.hits, mine) > count(db, t.visits) * 2
    assert count(db, t.hits, mine, hits.processed_at.is_(None)) == 0
    with db.read() as conn:
        from_hits = set(
            conn.execute(sa.select(hits.visit_id).where(mine, hits.visit_id.is_not(None)))
            .scalars()
            .all()
        )
        visit_ids = set(conn.execute(sa.select(v.id)).scalars().all())
        matched = conn.execute(sa.select(v.match_source, v.match_reason).distinct()).all()
        drops = dict(
            conn.execute(
                sa.select(hits.drop_reason, sa.func.count())
                .where(mine, hits.drop_reason.is_not(None))
                .group_by(hits.drop_reason)
            ).all()
        )
        companies = set(conn.execute(sa.select(t.leads.c.company_id)).scalars().all())
        ranged = set(conn.execute(sa.select(t.company_ranges.c.company_id)).scalars().all())
    # Every visit was made by the pipeline from hits, identified by an imported range.
    assert visit_ids == from_hits
    assert {source for source, _ in matched} == {"company_range"}
    assert all(reason for _, reason in matched)
    assert companies <= ranged
    # The traffic that must never be a lead was dropped, each for its reason.
    assert set(drops) == {"bot", "headless", "prefetch", "isp", "mobile", "hosting", "unidentified"}
    data = demo_settings.data_dir / "demo"
    assert {path.name for path in data.iterdir()} == {
        "demo-asn.mmdb",
        "demo-city.mmdb",
        "demo-companies.jsonl",
    }
