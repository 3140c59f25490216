"""Dashboard pages against the API calls that fetch the same data, side by side in one run, at
100k leads / 1M visits.

Both sides are requests to the real application in-process (``create_app``, one starlette
``TestClient`` for both): the dashboard's with a signed-in session (signed in through the
sign-in form), the API's with a token. Compared, on SQLite and PostgreSQL:

- the feed view ``/app/{account}/leads?range=30d`` (page 1 and ``--deep-page``) against
  ``GET /accounts/{account}/leads`` for the same interval, page and page size;
- the same for a custom feed (``country_code`` FI, a third of the leads) against
  ``GET /accounts/{account}/custom-feeds/{feed}/leads``;
- the lead page ``/app/{account}/leads/{lead}`` against the two calls it needs: ``GET`` the
  lead, then ``GET`` its visits for the lead's first..last visit dates, one page of the lead
  page's size: for the newest lead, its visits given routes like real traffic's, and for the
  next one, every visit a visitor-made route at the tracker's bounds (500 pages of 4 KB URLs);
- the Overview page against the API's lead list, when the dashboard has one.

Before timing, each pair is checked to show the same leads (the same company ids in the same
order) or the same visits (the same start times in the same order). The requests are
interleaved (dashboard, API, dashboard, API …) so that both sides see the same machine. The
static files the pages link are checked for content-hashed URLs and a year of immutable
caching.

The store is ``bench/lead_pages.py``'s (its ``build``): bulk-inserted companies, leads and
visits of 2026-01-01..2026-01-30, day stats by the recording path's own code. The
application's clock stands at 2026-01-30 12:00 UTC, so the ``30d`` preset is that interval.

    .venv/bin/python bench/dashboard_pages.py                    # SQLite
    .venv/bin/python bench/dashboard_pages.py --postgres postgresql://postgres@127.0.0.1:5432/test
    .venv/bin/python bench/dashboard_pages.py --leads 10000 --visits 100000 --repeat 31
"""

from __future__ import annotations

import argparse
import re
import sys
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from datetime import time as clock_time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from lead_pages import FIRST, build, on_each_backend, parse, percentiles, store_options

EMAIL = "bench@example.com"
PASSWORD = "a long bench password"  # noqa: S105 - the bench user's, in a scratch store
MAX_HTML = 200_000
YEAR = 365 * 24 * 3600
_HIDDEN = re.compile(r'<input type="hidden" name="(\w+)" value="([^"]*)">')
_STATIC = re.compile(r"/app/static/([\w.-]+)\?v=(\w+)")
_TIME = re.compile(r'<time datetime="([^"]+)">')


@dataclass
class Case:
    """One dashboard page and the API calls that fetch its data."""

    name: str
    page: str
    api: Callable[[], list[Any]]  # the API's answers, in the order they are needed
    same: Callable[[str, list[Any]], None]  # raises when the page and the answers differ
    repeat: int | None = None  # timed runs, when not --repeat


@dataclass
class Timed:
    name: str
    page: tuple[float, float]
    api: tuple[float, float]
    html_bytes: int
    json_bytes: int
    shown: int


def client_for(database_url: str, data_dir: Path, days: int) -> Any:
    """The application on the store, its clock at the interval's last day, not yet started."""
    # Starlette nudges TestClient users towards the httpx2 fork (pyproject.toml's pytest
    # filters say why we stay with httpx); the nudge is not part of the bench's output.
    warnings.filterwarnings("ignore", "Using `httpx` with `starlette.testclient` is deprecated")
    from starlette.testclient import TestClient

    from openfeeder.app import build_services, create_app
    from openfeeder.config import Settings
    from openfeeder.domain.clock import FixedClock

    settings = Settings(
        database_url=database_url,
        data_dir=data_dir,
        redis_url=None,
        pipeline_in_process=False,
        run_jobs_in_process=False,
        # The clock stands still, so every request is in the same minute: the limit (still
        # counted on every API request) must not be what is measured.
        rate_limit_per_minute=10**9,
    )
    last = FIRST + timedelta(days=days - 1)
    clock = FixedClock(datetime.combine(last, clock_time(12), UTC))
    return TestClient(create_app(settings, build_services(settings, clock=clock)))


def member(db: Any, account: Any) -> tuple[str, Any]:
    """A user with a password and an API token, member of the account; the token and user."""
    from openfeeder.domain import ids
    from openfeeder.services import signin
    from openfeeder.store import accounts

    token = ids.new_api_token()
    with db.write() as conn:
        user = accounts.create_user(conn, EMAIL, "Bench")
        accounts.create_token(conn, user.id, ids.hash_token(token), token[-4:])
        accounts.add_member(conn, user.id, account.id)
    signin.set_password(db, EMAIL, PASSWORD)
    return token, user


# The lead pages measured: the newest lead with routes like real traffic's, and the next one
# with every visit a visitor-made route at the pipeline's bounds (timed a few times only).
LEAD_CASES = (("lead page", None), ("lead page, routes at the bounds", 3))


def furnish(db: Any, account: Any, lead_id: str, *, at_bounds: bool) -> None:
    """Gives a lead's visits what the bulk build leaves out: a route of ``page_depth`` pages
    (``MAX_PAGES`` of ``MAX_URL``-long URLs and ``MAX_TEXT``-long titles ``at_bounds``), a
    referrer, source and medium, device and match reason."""
    import sqlalchemy as sa

    from openfeeder.domain.events import MAX_TEXT, MAX_URL
    from openfeeder.pipeline.model import MAX_PAGES
    from openfeeder.services.visits import route_step, visit_route
    from openfeeder.store import schema as t

    sections = ("pricing", "blog/visitor-identification-for-b2b", "product/integrations", "demo")

    def step(n: int) -> Any:
        if at_bounds:
            return route_step(
                f"https://www.example.com/{n:03d}/".ljust(MAX_URL, "x"), "T" * MAX_TEXT, 30
            )
        section = sections[n % len(sections)]
        return route_step(
            f"https://www.example.com/{section}?utm_source=newsletter&page={n}",
            f"{section.rpartition('/')[2].title()} · Example Oy",
            20 + 17 * n,
        )

    with db.write() as conn:
        pk = conn.execute(
            sa.select(t.leads.c.pk).where(
                t.leads.c.account_id == account.id, t.leads.c.id == lead_id
            )
        ).scalar_one()
        visits = conn.execute(
            sa.select(t.visits.c.id, t.visits.c.page_depth).where(t.visits.c.lead_pk == pk)
        ).all()
        for visit_id, depth in visits:
            pages = MAX_PAGES if at_bounds else depth
            steps = [step(n) for n in range(pages)]
            conn.execute(
                t.visits.update()
                .where(t.visits.c.id == visit_id)
                .values(
                    visit_route=visit_route(steps),
                    page_depth=pages,
                    referring_url="https://www.google.com/",
                    source="google",
                    medium="organic",
                    device_type="desktop",
                    match_source="ip",
                    match_reason="The visit came from the company's own network.",
                )
            )


def sign_in(client: Any) -> None:
    """Through the sign-in form, as a browser does: the client keeps the session cookie."""
    form = dict(_HIDDEN.findall(client.get("/app/login").text))
    answer = client.post(
        "/app/login",
        data={**form, "email": EMAIL, "password": PASSWORD},
        follow_redirects=False,
    )
    assert answer.status_code == 303, f"sign-in failed: {answer.status_code}"


def company_ids(lead_ids: list[str]) -> list[str]:
    return [lead_id.partition("_")[0] for lead_id in lead_ids]  # lead id: company_location


def cases(
    client: Any,
    account: Any,
    token: str,
    feed_id: str,
    lead_ids: list[str],
    args: argparse.Namespace,
) -> list[Case]:
    from openfeeder.dashboard.pages import PAGE_SIZE, VISITS_PAGE_SIZE

    headers = {"Authorization": f"Token token={token}"}
    last = FIRST + timedelta(days=args.days - 1)
    base = f"/accounts/{account.id}"
    lead_link = re.compile(rf'<a href="/app/{account.id}/leads/([^"/?]+)">')

    def api_list(path: str, page: int) -> Callable[[], list[Any]]:
        query = {
            "start_date": FIRST.isoformat(),
            "end_date": last.isoformat(),
            "page[number]": str(page),
            "page[size]": str(PAGE_SIZE),
        }
        return lambda: [client.get(path, params=query, headers=headers)]

    def same_leads(html: str, answers: list[Any]) -> None:
        shown = company_ids(lead_link.findall(html))
        listed = company_ids([item["id"] for item in answers[0].json()["data"]])
        assert shown == listed, f"the page shows {shown[:3]}…, the API lists {listed[:3]}…"
        assert shown, "no leads on the page"

    def feed_page(feed: str, page: int) -> str:
        query = f"range={args.days}d" if args.days in (7, 30, 90) else ""
        query = query or f"range=custom&start={FIRST}&end={last}"
        feed_part = "" if feed == "all_leads" else f"&feed={feed}"
        page_part = "" if page == 1 else f"&page={page}"
        return f"/app/{account.id}/leads?{query}{feed_part}{page_part}"

    found: list[Case] = []
    for label, feed, path in (
        ("feed view: all leads", "all_leads", f"{base}/leads"),
        ("feed view: custom feed (FI)", feed_id, f"{base}/custom-feeds/{feed_id}/leads"),
    ):
        for page in (1, args.deep_page):
            found.append(
                Case(
                    f"{label}, page {page}", feed_page(feed, page), api_list(path, page), same_leads
                )
            )

    def lead_and_visits(lead_id: str) -> Callable[[], list[Any]]:
        def calls() -> list[Any]:
            lead = client.get(f"{base}/leads/{lead_id}", headers=headers)
            assert lead.status_code == 200, lead.text[:200]
            attributes = lead.json()["data"]["attributes"]
            query = {
                "start_date": attributes["first_visit_date"],
                "end_date": attributes["last_visit_date"],
                "page[size]": str(VISITS_PAGE_SIZE),
            }
            visits = client.get(f"{base}/leads/{lead_id}/visits", params=query, headers=headers)
            return [lead, visits]

        return calls

    def same_visits(html: str, answers: list[Any]) -> None:
        lead, listed = (answer.json() for answer in answers)
        assert f"/app/{account.id}/leads/{lead['data']['id']}/follow" in html
        # The API gives the minute (Leadfeeder's format), the page the second.
        shown = [datetime.fromisoformat(at).replace(second=0) for at in _TIME.findall(html)]
        started = [datetime.fromisoformat(v["attributes"]["started_at"]) for v in listed["data"]]
        assert shown == started, f"the page shows visits {shown[:3]}…, the API {started[:3]}…"
        assert shown, "no visits on the lead page"

    for (label, repeat), lead_id in zip(LEAD_CASES, lead_ids, strict=True):
        path = f"/app/{account.id}/leads/{lead_id}"
        found.append(Case(label, path, lead_and_visits(lead_id), same_visits, repeat))
    overview = f"/app/{account.id}/overview?range=30d"
    if client.get(overview, follow_redirects=False).status_code == 200:
        found.append(Case("overview", overview, api_list(f"{base}/leads", 1), lambda _h, _a: None))
    return found


def check_static(client: Any, html: str) -> list[str]:
    """Every static file the page links: content-hashed URL, cached a year, immutable."""
    import hashlib

    linked = sorted(set(_STATIC.findall(html)))
    assert linked, "the page links no static files"
    report = []
    for name, version in linked:
        answer = client.get(f"/app/static/{name}?v={version}")
        assert answer.status_code == 200, (name, answer.status_code)
        digest = hashlib.sha256(answer.content).hexdigest()
        assert digest.startswith(version), f"{name}: ?v={version} is not its content hash"
        cache = answer.headers.get("cache-control", "")
        ages = [
            int(part.split("=", 1)[1]) for part in cache.split(", ") if part.startswith("max-age=")
        ]
        assert "immutable" in cache, f"{name}: {cache!r}"
        assert ages, f"{name}: {cache!r}"
        assert ages[0] >= YEAR, f"{name}: {cache!r}"
        report.append(f"{name} ({len(answer.content):,} B): {cache}")
    return report


def timed(client: Any, case: Case, repeat: int) -> Timed:
    page = client.get(case.page)
    assert page.status_code == 200, (case.page, page.status_code)
    answers = case.api()
    assert all(a.status_code == 200 for a in answers), [a.status_code for a in answers]
    case.same(page.text, answers)
    ms: dict[str, list[float]] = {"page": [], "api": []}
    for n in range(case.repeat or repeat):
        # Alternate which side goes first, so neither always follows the other's cache misses.
        order = ("page", "api") if n % 2 == 0 else ("api", "page")
        for side in order:
            started = time.perf_counter()
            if side == "page":
                assert client.get(case.page).status_code == 200
            else:
                case.api()
            ms[side].append((time.perf_counter() - started) * 1000)
    return Timed(
        case.name,
        percentiles(ms["page"]),
        percentiles(ms["api"]),
        len(page.content),
        sum(len(a.content) for a in answers),
        len(answers[-1].json()["data"]),  # the leads of the page, or the lead's visits
    )


def run(backend: str, database_url: str, args: argparse.Namespace, data_dir: Path) -> None:
    from openfeeder.services import feeds, leads

    print(f"{backend}: building {args.leads:,} leads / {args.visits:,} visits …")
    db, account = build(database_url, args)
    try:
        token, user = member(db, account)
        criteria = [{"criterion_type": "country_code", "search_value": "FI", "excluded": False}]
        feed = feeds.create_feed(db, account, "Finland", criteria)
        last = FIRST + timedelta(days=args.days - 1)
        newest = leads.list_leads(
            db,
            account,
            feeds.get_feed(db, account, user, "all_leads"),
            FIRST,
            last,
            1,
            len(LEAD_CASES),
        )
        lead_ids = [lead.id for lead in newest.items]
        for n, lead_id in enumerate(lead_ids):
            furnish(db, account, lead_id, at_bounds=n > 0)
    finally:
        db.dispose()
    with client_for(database_url, data_dir, args.days) as client:
        sign_in(client)
        found = cases(client, account, token, feed.id, lead_ids, args)
        statics = check_static(client, "".join(client.get(case.page).text for case in found))
        results = [timed(client, case, args.repeat) for case in found]
    print(f"\n{backend}: {args.leads:,} leads, {args.visits:,} visits; {args.repeat} runs per side")
    print(
        f"{'page':<36} {'page p50':>9} {'page p99':>9} {'API p50':>9} {'API p99':>9} "
        f"{'p50 ratio':>9} {'HTML':>9} {'JSON':>9} {'rows':>5}"
    )
    for r in results:
        (d50, d99), (a50, a99) = r.page, r.api
        over = " over 200 KB" if r.html_bytes > MAX_HTML else ""
        print(
            f"{r.name:<36} {d50:>7.1f}ms {d99:>7.1f}ms {a50:>7.1f}ms {a99:>7.1f}ms "
            f"{d50 / a50:>9.2f} {r.html_bytes / 1024:>7.1f}KB {r.json_bytes / 1024:>7.1f}KB "
            f"{r.shown:>5}{over}"
        )
    print("static files:", *statics, sep="\n  ")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    store_options(parser)
    parser.add_argument("--deep-page", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=101, help="timed runs of each side")
    args = parse(parser)
    on_each_backend(
        args,
        "openfeeder_bench_dashboard_pages",
        lambda backend, url, tmp: run(backend, url, args, tmp),
    )


if __name__ == "__main__":
    main()
