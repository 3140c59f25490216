"""The dashboard overview of 30 days at 100k leads / 1M visits: ``services.overview.overview``
(the figures beside the previous period, the chart's days and the four top lists, in one
read transaction) against the lead list's first page for the same period
(``services.leads.list_leads``, what the feed view and ``GET /leads`` cost), side by side in
one run.

The store is ``lead_pages.build``'s (every visit in the period, so the overview reads all
of them: the worst case), with what that build leaves out and the overview reads: one
``visit_pages`` row per pageview (50 page URLs) and sources/mediums on the visits.

    .venv/bin/python bench/overview.py
    .venv/bin/python bench/overview.py --postgres postgresql://postgres@127.0.0.1:5432/test
    .venv/bin/python bench/overview.py --leads 10000 --visits 100000
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent))

from lead_pages import (
    BATCH,
    FIRST,
    autovacuum,
    build,
    on_each_backend,
    parse,
    percentiles,
    store_options,
)

SOURCES = {"0123": ("google", "organic"), "45": ("google", "cpc"), "67": ("linkedin", "social")}


def add_pages_and_sources(db: Any, seed: int) -> None:
    """A ``visit_pages`` row per pageview of every visit, and sources by the visit id's first
    hex digit (the rest direct)."""
    from openfeeder.store import schema as t

    rng = random.Random(seed)
    v = t.visits
    started = time.perf_counter()
    with db.write() as conn:
        rows = conn.execute(sa.select(v.c.id, v.c.lead_pk, v.c.date, v.c.page_depth)).all()
        pages = [
            {
                "visit_id": visit_id,
                "position": position,
                "lead_pk": lead_pk,
                "date": day,
                "page_url": f"https://site.example/p{rng.randrange(50)}",
            }
            for visit_id, lead_pk, day, depth in rows
            for position in range(depth)
        ]
        for i in range(0, len(pages), BATCH):
            conn.execute(t.visit_pages.insert(), pages[i : i + BATCH])
        for digits, (source, medium) in SOURCES.items():
            starts = [sa.func.substr(v.c.id, 1, 1) == d for d in digits]
            conn.execute(v.update().where(sa.or_(*starts)).values(source=source, medium=medium))
    took = time.perf_counter() - started
    print(f"  {len(pages):,} pageviews and the sources added: {took:.0f} s")


def rollups(db: Any, account_id: int) -> None:
    """The overview's rollups, which the recording path keeps and the direct inserts above
    leave out, counted afresh from the visits and pages (untimed, like the build)."""
    from openfeeder.store import rollups

    if not hasattr(rollups, "rebuild"):  # code from before the rollups (``--before`` runs)
        return
    started = time.perf_counter()
    with db.write() as conn:
        rollups.rebuild(conn, account_id)
    print(f"  rollups counted: {time.perf_counter() - started:.0f} s")


def part_times(db: Any, account_id: int, period: Any) -> dict[str, float]:
    """How long each of the overview's store queries takes, once, for the period."""
    from openfeeder.store import overview as store

    before = period.previous()
    calls = {
        "days (both periods)": lambda c: store.days(c, account_id, before.first, period.last),
        "lead_groups": lambda c: store.lead_groups(c, account_id, period.first, period.last),
        "lead_groups (prev)": lambda c: store.lead_groups(c, account_id, before.first, before.last),
        "top_pages": lambda c: store.top_pages(c, account_id, period.first, period.last, 10),
        "top_sources": lambda c: store.top_sources(c, account_id, period.first, period.last, 10),
    }
    out = {}
    with db.read() as conn:
        for name, call in calls.items():
            started = time.perf_counter()
            call(conn)
            out[name] = (time.perf_counter() - started) * 1000
    return out


def timed(call: Any, repeat: int) -> tuple[float, float]:
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        samples.append((time.perf_counter() - started) * 1000)
    return percentiles(samples)


def run(backend: str, database_url: str, args: argparse.Namespace) -> None:
    from openfeeder.domain.feeds import Feed
    from openfeeder.domain.periods import Period
    from openfeeder.services import leads
    from openfeeder.services.overview import overview

    print(f"{backend}: building {args.leads:,} leads / {args.visits:,} visits …")
    db, account = build(database_url, args)
    try:
        add_pages_and_sources(db, args.seed)
        rollups(db, account.id)
        autovacuum(db, "VACUUM ANALYZE")
        period = Period("custom", FIRST, FIRST + timedelta(days=args.days - 1))
        found = overview(db, account, period)  # warm, and a look at what it counts
        figures = {f.name: f.current for f in found.figures}
        feed = Feed("all_leads", "All leads", [])
        page = leads.list_leads(db, account, feed, period.first, period.last, 1, 100)
        assert figures["leads"] == args.leads, figures
        assert figures["visits"] == args.visits, figures
        assert page.total == min(args.leads, leads.LEAD_CAP)
        parts = part_times(db, account.id, period)
        ours = timed(lambda: overview(db, account, period), args.repeat)
        ceiling = timed(
            lambda: leads.list_leads(db, account, feed, period.first, period.last, 1, 100),
            args.repeat,
        )
    finally:
        db.dispose()
    print(
        f"\n{backend}: {args.leads:,} leads, {args.visits:,} visits in {period.first}.."
        f"{period.last}; {args.repeat} runs each\n"
        f"{'':<24} {'p50':>9} {'p99':>9}\n"
        f"{'overview (30 days)':<24} {ours[0]:>7.0f}ms {ours[1]:>7.0f}ms\n"
        f"{'lead list, page 1':<24} {ceiling[0]:>7.0f}ms {ceiling[1]:>7.0f}ms\n"
        f"overview / lead list (p50): {ours[0] / ceiling[0]:.2f}\n"
        "the overview's queries, once each (lead_groups: lead figures, industries, countries):\n"
        + "\n".join(f"  {name:<22} {ms:>7.0f}ms" for name, ms in parts.items())
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    store_options(parser)
    parser.add_argument("--repeat", type=int, default=11, help="timed runs of each")
    args = parse(parser)
    on_each_backend(
        args, "openfeeder_bench_overview", lambda backend, url, _dir: run(backend, url, args)
    )


if __name__ == "__main__":
    main()
