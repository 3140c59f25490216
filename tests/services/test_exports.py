"""Feed exports on SQLite and PostgreSQL: the file in the seed's sample-report format, feed
criteria, no cap, idempotence, retries ending in ``failed``, reaping dead jobs, downloads
and their expiry, and flat memory however many leads are exported."""

from __future__ import annotations

import gc
import time
import tracemalloc
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from starlette.testclient import TestClient

from openfeeder.config import Settings
from openfeeder.domain import ids
from openfeeder.domain.clock import FixedClock
from openfeeder.domain.errors import NotFound
from openfeeder.domain.models import Account, Company, ExportRequest, Location, NewVisit
from openfeeder.domain.quality import Activity, quality
from openfeeder.jobs.queue import JobQueue, make_queue
from openfeeder.services import exports
from openfeeder.services.urls import public_base_url
from openfeeder.services.visits import record_visits, route_step
from openfeeder.store import accounts as accounts_store
from openfeeder.store import export_rows, schema
from openfeeder.store import exports as store
from openfeeder.store.db import Database
from tests.support.clients import auth
from tests.support.factories import BOSTON, HELSINKI, Builder, Member

FIRST, LAST = date(2026, 1, 1), date(2026, 1, 31)


@pytest.fixture
def files(settings: Settings) -> exports.ExportFiles:
    """The export files of the settings: a directory under the test's data directory."""
    return exports.make_export_files(settings)


@pytest.fixture
def queue(settings: Settings, db: Database, files: exports.ExportFiles) -> Iterator[JobQueue]:
    """The real queue of the settings (SQLite storage here), retrying without delay."""
    jobs = make_queue(settings, db, files=files, retry_delay=0)
    yield jobs
    jobs.stop()


def visit(
    account: Account,
    company: Company,
    when: datetime,
    seconds: list[int],
    *,
    keyword: str | None = None,
    location: Location = HELSINKI,
) -> NewVisit:
    """A visit with one page per entry of ``seconds`` (time on that page)."""
    return NewVisit(
        id=ids.new_visit_id(),
        account_id=account.id,
        company_id=company.id,
        location=location,
        started_at=when,
        route=[
            route_step(f"https://www.example.com/p{i}", f"Page {i}", s)
            for i, s in enumerate(seconds)
        ],
        keyword=keyword,
    )


def at(day: date, hour: int = 12) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


def export_and_run(
    db: Database,
    queue: JobQueue,
    account: Account,
    member: Member,
    feed_id: str = "all_leads",
    first: date = FIRST,
    last: date = LAST,
) -> ExportRequest:
    request = exports.create_export(db, queue, account, member.user, feed_id, first, last)
    assert request.status == "pending"
    queue.run_pending()
    return exports.get_export(db, member.user, request.id)


def read_file(settings: Settings, request: ExportRequest) -> Any:
    assert request.status == "processed", request.error
    assert request.file_name is not None
    return orjson.loads((settings.data_dir / "exports" / request.file_name).read_bytes())


def lead_object(lead_id: str, company: Company, location: Location, first: str, last: str) -> Any:
    return {
        "attributes": {
            "first_visit_date": first,
            "industry": company.industry or "N/A",
            "last_visit_date": last,
            "name": company.name,
            "status": "new",
            "website_url": company.website_url,
            "linkedin_url": company.linkedin_url,
            "twitter_handle": company.twitter_handle,
            "facebook_url": company.facebook_url,
        },
        "id": lead_id,
        "relationships": {"location": {"data": {"id": location.id, "type": "locations"}}},
        "type": "leads",
    }


def timeline_row(lead_id: str, keywords: list[str], quality_: int, **stats: Any) -> Any:
    return {
        "attributes": {"keywords": keywords, "quality": quality_, "stats": stats},
        "id": lead_id,
        "relationships": {"lead": {"data": {"id": lead_id, "type": "leads"}}},
        "type": "timeline_rows",
    }


def location_object(location: Location) -> Any:
    names = ("country", "country_code", "region", "region_code", "city", "state_code")
    attributes = {name: getattr(location, name) for name in names}
    return {"attributes": attributes, "id": location.id, "type": "locations"}


def test_export_file_is_the_seed_sample_report(
    db: Database,
    settings: Settings,
    queue: JobQueue,
    builder: Builder,
    account: Account,
    member: Member,
    files: exports.ExportFiles,
) -> None:
    (acme,) = builder.companies(
        1,
        website_url="https://acme.example",
        industry="Software",
        employee_count=50,
        linkedin_url="https://www.linkedin.com/company/acme",
        twitter_handle="acme",
        facebook_url="https://www.facebook.com/acme",
    )
    beta, delta, gamma = builder.companies(3)
    record_visits(
        db,
        [
            visit(account, acme, at(date(2026, 1, 30), 10), [60, 60, 60], keyword="crm software"),
            visit(account, acme, at(date(2026, 1, 30), 14), [20], keyword="crm software"),
            visit(account, acme, at(date(2026, 1, 10)), [45, 45], keyword="analytics"),
            visit(account, acme, at(date(2025, 12, 20)), [30], keyword="before the interval"),
            visit(account, beta, at(date(2026, 1, 30), 8), [10], location=BOSTON),
            visit(account, delta, at(date(2026, 1, 5)), [30, 30], keyword=""),
            visit(account, gamma, at(date(2025, 12, 15)), [30]),  # no visit in the interval
        ],
    )
    request = export_and_run(db, queue, account, member)

    acme_id = ids.lead_id(acme.id, HELSINKI.id)
    beta_id = ids.lead_id(beta.id, BOSTON.id)
    delta_id = ids.lead_id(delta.id, HELSINKI.id)
    # Quality from the documented formula: (visits, pageviews, seconds, days before the
    # interval's end) and the number of known company fields (acme has six).
    acme_quality = quality(Activity(3, 6, 290, 1), 6)
    beta_quality = quality(Activity(1, 1, 10, 1), 0)
    delta_quality = quality(Activity(1, 2, 60, 26), 0)
    assert (acme_quality, beta_quality, delta_quality) == (6, 1, 1)
    assert read_file(settings, request) == {
        "data": [
            # Last visit day desc, then quality desc, then id.
            timeline_row(
                acme_id,
                ["analytics", "crm software"],
                acme_quality,
                bounces=1,
                last_visit="2026-01-30",
                pageviews=6,
                visits=3,
            ),
            timeline_row(
                beta_id, [], beta_quality, bounces=1, last_visit="2026-01-30", pageviews=1, visits=1
            ),
            timeline_row(
                delta_id,
                [],
                delta_quality,
                bounces=0,
                last_visit="2026-01-05",
                pageviews=2,
                visits=1,
            ),
        ],
        "included": [
            lead_object(acme_id, acme, HELSINKI, "2025-12-20", "2026-01-30"),
            lead_object(beta_id, beta, BOSTON, "2026-01-30", "2026-01-30"),
            lead_object(delta_id, delta, HELSINKI, "2026-01-05", "2026-01-05"),
            *[location_object(loc) for loc in sorted([HELSINKI, BOSTON], key=lambda x: x.id)],
        ],
    }
    assert request.attempts == 1
    assert request.error is None
    assert request.file_name is not None
    assert len(request.file_name) == len("0123456789abcdef0123456789abcdef.json")
    assert request.expires_at is not None
    expected_expiry = datetime.now(UTC) + timedelta(days=settings.export_ttl_days)
    assert abs(request.expires_at - expected_expiry) < timedelta(minutes=1)
    assert exports.download_file(db, files, request.file_name).read_bytes().startswith(b"{")
    assert [p.name for p in (settings.data_dir / "exports").iterdir()] == [request.file_name]


def test_the_file_does_not_depend_on_how_the_rows_are_batched(
    db: Database,
    settings: Settings,
    queue: JobQueue,
    builder: Builder,
    account: Account,
    member: Member,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    stockholm = Location(ids.location_id("SE", "Stockholm", "Stockholm"), "Sweden", "SE",
                         "Stockholm", None, "Stockholm", None)  # fmt: skip
    places = [HELSINKI, BOSTON, stockholm, BOSTON, HELSINKI, stockholm, BOSTON]
    companies = builder.companies(len(places))
    words = ["b", "B", "ä", "a", "b", None, ""]  # distinct and sorted by code point in the file
    record_visits(
        db,
        [
            visit(account, company, at(date(2026, 1, 1 + n)), [30] * (1 + n % 3),
                  keyword=word, location=place)
            for n, (company, place) in enumerate(zip(companies, places, strict=True))
            for word in words[n:]
        ],
    )  # fmt: skip
    whole = read_file(settings, export_and_run(db, queue, account, member))
    monkeypatch.setattr(export_rows, "ROWS_PER_BATCH", 2)  # batches end inside the leads
    batched = read_file(settings, export_and_run(db, queue, account, member))

    assert batched == whole
    rows = whole["data"]
    leads = [obj for obj in whole["included"] if obj["type"] == "leads"]
    located = [obj for obj in whole["included"] if obj["type"] == "locations"]
    assert [lead["id"] for lead in leads] == [row["id"] for row in rows]
    assert len(rows) == len(places)
    assert located == [location_object(loc) for loc in sorted(set(places), key=lambda x: x.id)]
    first = ids.lead_id(companies[0].id, HELSINKI.id)
    keywords = {row["id"]: row["attributes"]["keywords"] for row in rows}
    assert keywords[first] == ["B", "a", "b", "ä"]
    assert keywords[ids.lead_id(companies[5].id, stockholm.id)] == []


def test_export_of_an_empty_interval_is_an_empty_report(
    db: Database, settings: Settings, queue: JobQueue, account: Account, member: Member
) -> None:
    request = export_and_run(db, queue, account, member)
    assert read_file(settings, request) == {"data": [], "included": []}


def test_export_respects_the_feed_criteria(
    db: Database,
    settings: Settings,
    queue: JobQueue,
    builder: Builder,
    account: Account,
    member: Member,
) -> None:
    finnish = builder.companies(2)
    american = builder.companies(3)
    builder.visits(account, finnish, per_company=2)
    builder.visits(account, american, location=BOSTON, seed=2)
    criteria = [
        {
            "criterion_type": "country_code",
            "search_value": "US",
            "excluded": False,
            "display_value": "US",
        }
    ]
    with db.write() as conn:
        feed_id = accounts_store.create_feed(conn, account.id, "Americans", criteria)
    body = read_file(settings, export_and_run(db, queue, account, member, str(feed_id)))

    american_ids = {ids.lead_id(c.id, BOSTON.id) for c in american}
    assert {row["id"] for row in body["data"]} == american_ids
    leads = [obj for obj in body["included"] if obj["type"] == "leads"]
    assert {lead["id"] for lead in leads} == american_ids
    assert [obj for obj in body["included"] if obj["type"] == "locations"] == [
        location_object(BOSTON)
    ]


def test_running_an_export_again_changes_nothing(
    db: Database,
    settings: Settings,
    queue: JobQueue,
    builder: Builder,
    account: Account,
    member: Member,
    files: exports.ExportFiles,
) -> None:
    builder.visits(account, builder.companies(2))
    done = export_and_run(db, queue, account, member)
    exports.run_export(db, settings, files, done.id)
    exports.run_export(db, settings, files, "no-such-export")
    assert exports.get_export(db, member.user, done.id) == done
    assert len(list((settings.data_dir / "exports").iterdir())) == 1


def test_the_clock_stamps_the_request_and_the_job_its_expiry(
    db: Database,
    settings: Settings,
    files: exports.ExportFiles,
    builder: Builder,
    account: Account,
    member: Member,
) -> None:
    builder.visits(account, builder.companies(1))
    clock = FixedClock(datetime(2026, 2, 3, 4, 5, 6, tzinfo=UTC))
    queue = make_queue(settings, db, files=files, clock=clock, retry_delay=0)
    try:
        request = exports.create_export(
            db, queue, account, member.user, "all_leads", FIRST, LAST, clock=clock
        )
        assert request.created_at == clock.now()
        clock.advance(timedelta(minutes=5))
        assert queue.run_pending() == 1  # the job runs on the queue's clock
    finally:
        queue.stop()
    done = exports.get_export(db, member.user, request.id)
    assert done.created_at == datetime(2026, 2, 3, 4, 5, 6, tzinfo=UTC)
    assert done.expires_at == clock.now() + timedelta(days=settings.export_ttl_days)
    assert done.file_name is not None
    # Expired by the real clock long ago, but not by the one the service is given.
    assert exports.download_file(db, files, done.file_name, clock=clock).is_file()
    with pytest.raises(NotFound):
        exports.download_file(db, files, done.file_name)


def test_an_export_requested_through_the_api_links_to_the_apis_base_url(
    api: TestClient,
    db: Database,
    settings: Settings,
    files: exports.ExportFiles,
    builder: Builder,
    account: Account,
    member: Member,
) -> None:
    assert settings.public_url is None  # so the API's links come from the request
    builder.visits(account, builder.companies(1))
    interval = {"start_date": str(FIRST), "end_date": str(LAST)}
    leads = api.get(f"/accounts/{account.id}/leads", params=interval, headers=auth(member.token))
    link = leads.json()["data"][0]["attributes"]["view_in_leadfeeder"]
    api_base = link.split("/app/")[0]
    assert api_base == "http://testserver"

    form = {"account_id": str(account.id), "custom_feed_id": "all_leads", **interval}
    created = api.post("/export-requests", data=form, headers=auth(member.token))
    assert created.status_code == 201
    with db.read() as conn:
        request = store.get(conn, created.json()["data"]["id"])
    assert request is not None
    # The job runs without a request (here, outside the app): it builds the file's links
    # from the recorded address, not from the host and port `serve` would listen on.
    assert public_base_url(settings, request.request_base_url) == api_base
    assert public_base_url(settings, None) == f"http://{settings.host}:{settings.port}"

    exports.run_export(db, settings, files, request.id)
    status = api.get(f"/export-feed/{request.id}", headers=auth(member.token)).json()
    download = status["data"]["attributes"]["download_url"]
    assert download.startswith(api_base + "/download/")
    report = api.get(download.removeprefix(api_base))
    assert report.status_code == 200
    assert [row["id"] for row in report.json()["data"]] == [leads.json()["data"][0]["id"]]


def test_get_export_is_not_found_outside_the_users_accounts(
    db: Database, queue: JobQueue, builder: Builder, account: Account, member: Member
) -> None:
    request = exports.create_export(db, queue, account, member.user, "all_leads", FIRST, LAST)
    assert exports.get_export(db, member.user, request.id) == request
    stranger = builder.user()
    builder.account(stranger)
    with pytest.raises(NotFound):
        exports.get_export(db, stranger.user, request.id)
    with pytest.raises(NotFound):
        exports.get_export(db, member.user, "00000000-0000-0000-0000-000000000000")


def test_download_file_refuses_unknown_unfinished_and_expired_files(
    db: Database,
    settings: Settings,
    queue: JobQueue,
    builder: Builder,
    account: Account,
    member: Member,
    files: exports.ExportFiles,
) -> None:
    builder.visits(account, builder.companies(1))
    done = export_and_run(db, queue, account, member)
    assert done.file_name is not None
    assert done.expires_at is not None
    path = exports.download_file(db, files, done.file_name)
    assert path == settings.data_dir / "exports" / done.file_name

    for name in ("0" * 32 + ".json", "../jobs.db", "", done.file_name.upper(), done.file_name[:-5]):
        with pytest.raises(NotFound):
            exports.download_file(db, files, name)
    with pytest.raises(NotFound):
        exports.download_file(db, files, done.file_name, clock=FixedClock(done.expires_at))
    just_before = FixedClock(done.expires_at - timedelta(seconds=1))
    assert exports.download_file(db, files, done.file_name, clock=just_before) == path
    path.unlink()
    with pytest.raises(NotFound):
        exports.download_file(db, files, done.file_name)


def block_exports_dir(settings: Settings) -> Path:
    """Make writing export files fail for real: a plain file where the directory belongs."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    blocker = settings.data_dir / "exports"
    blocker.write_text("not a directory")
    return blocker


def test_a_failing_export_is_retried_then_failed(
    db: Database, settings: Settings, queue: JobQueue, account: Account, member: Member
) -> None:
    block_exports_dir(settings)
    request = exports.create_export(db, queue, account, member.user, "all_leads", FIRST, LAST)
    assert queue.run_pending() == exports.MAX_ATTEMPTS  # the first run and two retries
    failed = exports.get_export(db, member.user, request.id)
    assert failed.status == "failed"
    assert failed.attempts == exports.MAX_ATTEMPTS
    assert failed.error is not None
    assert failed.error.startswith("Gave up after 3 attempts: ")
    assert "exists" in failed.error or "directory" in failed.error.lower()
    assert failed.file_name is None
    assert queue.pending_count() == 0


def test_an_export_that_fails_once_succeeds_on_retry(
    db: Database,
    settings: Settings,
    queue: JobQueue,
    builder: Builder,
    account: Account,
    member: Member,
) -> None:
    builder.visits(account, builder.companies(3))
    blocker = block_exports_dir(settings)
    request = exports.create_export(db, queue, account, member.user, "all_leads", FIRST, LAST)
    assert queue.run_pending(limit=1) == 1
    waiting = exports.get_export(db, member.user, request.id)
    assert (waiting.status, waiting.attempts) == ("pending", 1)
    assert waiting.error is not None
    blocker.unlink()
    assert queue.run_pending() == 1
    done = exports.get_export(db, member.user, request.id)
    assert (done.status, done.attempts, done.error) == ("processed", 2, None)
    assert len(read_file(settings, done)["data"]) == 3
    assert [p.name for p in (settings.data_dir / "exports").iterdir()] == [done.file_name]


def test_an_export_that_cannot_succeed_fails_without_retries(
    db: Database, queue: JobQueue, builder: Builder, account: Account, member: Member
) -> None:
    no_feed = export_and_run(db, queue, account, member, feed_id="999999")
    assert (no_feed.status, no_feed.attempts) == ("failed", 1)
    assert no_feed.error == "Custom feed 999999 was not found in this account."

    colleague = builder.user()
    with db.write() as conn:
        accounts_store.add_member(conn, colleague.user.id, account.id)
    request = exports.create_export(db, queue, account, colleague.user, "all_leads", FIRST, LAST)
    with db.write() as conn:
        conn.execute(
            schema.memberships.delete().where(schema.memberships.c.user_id == colleague.user.id)
        )
    queue.run_pending()
    left = exports.get_export(db, member.user, request.id)
    assert (left.status, left.attempts) == ("failed", 1)
    assert left.error is not None
    assert "no longer has access" in left.error


def test_create_export_fails_the_request_when_the_queue_is_down(
    db: Database, settings: Settings, account: Account, member: Member
) -> None:
    unreachable = Settings(
        database_url=settings.database_url,
        data_dir=settings.data_dir,
        redis_url="redis://127.0.0.1:1/0",  # nothing listens on port 1
    )
    down = make_queue(unreachable, db)
    with pytest.raises(Exception, match=r"Connection refused|Error 111"):
        exports.create_export(db, down, account, member.user, "all_leads", FIRST, LAST)
    down.close()
    with db.read() as conn:
        (row,) = conn.execute(schema.export_requests.select()).all()
    assert row.status == "failed"
    assert row.error.startswith("The export could not be queued: ")


def claim_as_dead_worker(db: Database, export_id: str, attempt: int, when: datetime) -> None:
    """What a worker that claimed the export at ``when`` and then died leaves behind."""
    with db.write() as conn:
        assert store.lock(conn, export_id) is not None
        store.start(conn, export_id, attempt, when)


def test_a_dead_job_is_reaped_and_run_again(
    db: Database,
    settings: Settings,
    queue: JobQueue,
    builder: Builder,
    account: Account,
    member: Member,
) -> None:
    builder.visits(account, builder.companies(2))
    request = exports.create_export(db, queue, account, member.user, "all_leads", FIRST, LAST)
    assert queue.huey.dequeue() is not None  # the dead worker had taken the message
    now = datetime.now(UTC)
    claim_as_dead_worker(db, request.id, 1, now - exports.STALE_AFTER + timedelta(seconds=5))
    assert exports.reap_stale(db, queue, now) == 0  # still within its heartbeat window
    assert queue.pending_count() == 0

    later = now + timedelta(seconds=10)
    assert exports.reap_stale(db, queue, later) == 1
    assert exports.reap_stale(db, queue, later) == 0  # a second reaper finds nothing to do
    assert queue.pending_count() == 1
    assert queue.run_pending() == 1
    done = exports.get_export(db, member.user, request.id)
    assert (done.status, done.attempts) == ("processed", 2)
    assert len(read_file(settings, done)["data"]) == 2


def test_a_job_that_keeps_dying_ends_failed(
    db: Database, queue: JobQueue, account: Account, member: Member
) -> None:
    request = exports.create_export(db, queue, account, member.user, "all_leads", FIRST, LAST)
    queue.huey.storage.flush_queue()
    now = datetime.now(UTC)
    claim_as_dead_worker(db, request.id, exports.MAX_ATTEMPTS, now - timedelta(hours=1))
    assert exports.reap_stale(db, queue, now) == 1
    failed = exports.get_export(db, member.user, request.id)
    assert failed.status == "failed"
    assert failed.error == "The export job stopped responding after 3 attempts."
    assert queue.pending_count() == 0


def test_an_export_never_picked_up_ends_failed(
    db: Database, queue: JobQueue, account: Account, member: Member
) -> None:
    request = exports.create_export(db, queue, account, member.user, "all_leads", FIRST, LAST)
    queue.huey.storage.flush_queue()  # the message was lost
    assert exports.reap_stale(db, queue, datetime.now(UTC) + timedelta(hours=23)) == 0
    assert exports.reap_stale(db, queue, datetime.now(UTC) + timedelta(hours=25)) == 1
    failed = exports.get_export(db, member.user, request.id)
    assert failed.status == "failed"
    assert failed.error is not None
    assert "No worker picked the export up" in failed.error


def test_a_duplicate_message_leaves_a_live_job_alone(
    db: Database,
    settings: Settings,
    queue: JobQueue,
    account: Account,
    member: Member,
    files: exports.ExportFiles,
) -> None:
    request = exports.create_export(db, queue, account, member.user, "all_leads", FIRST, LAST)
    claim_as_dead_worker(db, request.id, 1, datetime.now(UTC))  # alive: heartbeat just now
    queue.run_pending()
    exports.run_export(db, settings, files, request.id)
    held = exports.get_export(db, member.user, request.id)
    assert (held.status, held.attempts) == ("pending", 1)


def test_a_claim_taken_over_cannot_write_any_more(
    db: Database, queue: JobQueue, account: Account, member: Member
) -> None:
    request = exports.create_export(db, queue, account, member.user, "all_leads", FIRST, LAST)
    now = datetime.now(UTC)
    claim_as_dead_worker(db, request.id, 1, now - timedelta(hours=1))
    claim_as_dead_worker(db, request.id, 2, now)  # the re-run after reaping
    with db.write() as conn:
        assert not store.heartbeat(conn, request.id, 1, now)
        assert not store.finish(conn, request.id, 1, "a" * 32 + ".json", now, now)
        assert not store.release(conn, request.id, 1, "late")
        assert not store.fail(conn, request.id, "late", now, attempt=1)
        assert store.heartbeat(conn, request.id, 2, now)
    assert exports.get_export(db, member.user, request.id).status == "pending"


def heartbeat_at(db: Database, export_id: str) -> datetime | None:
    with db.read() as conn:
        found = store.lock(conn, export_id)
    assert found is not None
    return found[1]


def test_the_heartbeat_keeps_a_claim_fresh_and_notices_a_takeover(
    db: Database, queue: JobQueue, account: Account, member: Member
) -> None:
    request = exports.create_export(db, queue, account, member.user, "all_leads", FIRST, LAST)
    claimed_at = datetime.now(UTC) - timedelta(minutes=1)
    claim_as_dead_worker(db, request.id, 1, claimed_at)
    clock = FixedClock(claimed_at + timedelta(seconds=30))
    with exports.Heartbeat(db, request.id, 1, clock=clock, every=0.02) as beat:
        deadline = time.monotonic() + 10
        while heartbeat_at(db, request.id) == claimed_at and time.monotonic() < deadline:
            time.sleep(0.02)
        assert heartbeat_at(db, request.id) == clock.now()  # the beat's time is the clock's
        beat.check()  # still ours

        claim_as_dead_worker(db, request.id, 2, datetime.now(UTC))  # presumed dead, re-run
        deadline = time.monotonic() + 10
        with pytest.raises(exports.Superseded):  # noqa: PT012 - polls until the beat notices
            while time.monotonic() < deadline:
                beat.check()
                time.sleep(0.02)


def test_purge_removes_expired_and_orphaned_files_only(
    db: Database,
    settings: Settings,
    queue: JobQueue,
    builder: Builder,
    account: Account,
    member: Member,
    files: exports.ExportFiles,
) -> None:
    builder.visits(account, builder.companies(1))
    done = export_and_run(db, queue, account, member)
    assert done.file_name is not None
    assert done.expires_at is not None
    directory = settings.data_dir / "exports"
    orphan = directory / ("f" * 32 + ".json")  # renamed, but its job died before committing
    orphan.write_text("{}")
    leftover = directory / f".{done.id}.0000.part"
    leftover.write_text("{")
    unrelated = directory / "README"
    unrelated.write_text("kept")

    now = datetime.now(UTC)
    assert exports.purge_files(db, files, now) == 0  # all recent, the export still valid
    hour_later = now + exports.ORPHAN_AFTER + timedelta(minutes=1)
    assert exports.purge_files(db, files, hour_later) == 2
    assert sorted(p.name for p in directory.iterdir()) == sorted([done.file_name, "README"])
    assert exports.purge_files(db, files, done.expires_at + timedelta(seconds=1)) == 1
    assert [p.name for p in directory.iterdir()] == ["README"]


def export_peak(
    db: Database, settings: Settings, files: exports.ExportFiles, request: ExportRequest
) -> int:
    """Peak bytes allocated by Python while ``run_export`` runs."""
    gc.collect()
    tracemalloc.start()
    try:
        exports.run_export(db, settings, files, request.id)
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak


def analyze(db: Database) -> None:
    """Refresh PostgreSQL's planner statistics after a bulk load, as autovacuum would soon.

    Right after the load the planner believes the tables are empty and may pick plans that
    are quadratic in the number of leads; this test is about our memory, not that.
    """
    if db.engine.dialect.name == "postgresql":
        with db.write() as conn:
            conn.exec_driver_sql("ANALYZE")


def test_export_has_no_cap_and_memory_that_does_not_grow_with_the_leads(
    db: Database,
    settings: Settings,
    files: exports.ExportFiles,
    queue: JobQueue,
    builder: Builder,
    member: Member,
) -> None:
    sizes = {"warm-up": 10, "small": 2_000, "large": 10_001}
    requests = {}
    for label, count in sizes.items():
        account = builder.account(member)
        builder.visits(account, builder.companies(count, website_url="https://x.example"))
        requests[label] = exports.create_export(
            db, queue, account, member.user, "all_leads", FIRST, LAST
        )
    queue.huey.storage.flush_queue()  # the test runs each job itself, under tracemalloc
    analyze(db)
    # The warm-up pays one-off costs (SQL compilation caches, lazy imports) before measuring.
    peaks = {
        label: export_peak(db, settings, files, request) for label, request in requests.items()
    }

    for label, count in sizes.items():
        body = read_file(settings, exports.get_export(db, member.user, requests[label].id))
        assert len(body["data"]) == count  # no 10 000 cap
        assert len(body["included"]) == count + 1  # the leads and their one location
    # Five times the leads, the same peak: what is held is a batch of rows, not the leads.
    # Keeping even one small object per lead (its id, say) would add well over 256 KiB.
    assert peaks["large"] - peaks["small"] < 256 * 1024, peaks


def test_the_file_lists_the_leads_in_the_lead_lists_order(
    db: Database,
    settings: Settings,
    queue: JobQueue,
    builder: Builder,
    account: Account,
    member: Member,
) -> None:
    from openfeeder.store.leads import list_leads

    builder.visits(account, builder.companies(40), per_company=3, seed=5)
    body = read_file(settings, export_and_run(db, queue, account, member, "all_leads"))
    with db.read() as conn:
        listed = list_leads(conn, account.id, FIRST, LAST, [], 0, 100)
    leads = [obj["id"] for obj in body["included"] if obj["type"] == "leads"]
    assert leads == [lead.id for lead in listed.items]
