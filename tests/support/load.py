"""A tracker load that runs until its server dies, and what the store then holds: the ids of
every stored hit, and what is wrong with how an account's hits were processed. Shared by the
crash, backup and scale-out tests."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

import httpx
import sqlalchemy as sa

from openfeeder.domain.models import Account
from openfeeder.store import schema
from openfeeder.store.db import Database
from tests.support.browser import DESKTOP_UA
from tests.support.tracking import encode, event

THREADS = 8
VISITORS_PER_THREAD = 4  # so visits have several pages and a redone batch would show
KILL_AFTER_ACKS = 400  # per run: enough to be mid-load with every thread busy
MAX_SENDS_PER_THREAD = 3000  # the bound on the load should the kill never come
COMPANY_RANGE = "203.0.113.0/24"  # the load's visitors come from this company's network


@dataclass
class Load:
    """Threads sending beacons and pixels as fast as the server answers, until it dies."""

    url: str
    script_hash: str
    acked: list[str] = field(default_factory=list)
    sent: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _threads: list[threading.Thread] = field(default_factory=list)

    def start(self) -> Load:
        self._threads = [
            threading.Thread(target=self._send, args=(n,), daemon=True) for n in range(THREADS)
        ]
        for thread in self._threads:
            thread.start()
        return self

    def _send(self, worker: int) -> None:
        # Each thread is a few browsers in one office, behind the trusted proxy (us).
        headers = {"User-Agent": DESKTOP_UA, "X-Forwarded-For": f"203.0.113.{worker + 1}"}
        visitors = [event()["lfClientId"] for _ in range(VISITORS_PER_THREAD)]
        with httpx.Client(base_url=self.url, headers=headers, timeout=10.0) as client:
            for n in range(MAX_SENDS_PER_THREAD):
                payload = event(
                    scriptId=self.script_hash,
                    lfClientId=visitors[n % VISITORS_PER_THREAD],
                    context={"pageUrl": f"https://www.example.com/p{n}", "pageTitle": f"P{n}"},
                )
                event_id = payload["clientEventId"]
                with self._lock:
                    self.sent.append(event_id)
                try:
                    if (worker + n) % 3:  # mostly beacons, some pixels
                        response = client.post(
                            f"/tr?sid={self.script_hash}", content=encode(payload)
                        )
                    else:
                        response = client.get(
                            "/tr", params={"sid": self.script_hash, "data": encode(payload)}
                        )
                except httpx.TransportError:
                    return  # the server is gone
                with self._lock:
                    if response.is_success:
                        self.acked.append(event_id)
                    else:
                        self.failures.append(f"{response.status_code} {response.text}")

    def wait_for(self, acks: int, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while len(self.acked) < acks:
            assert not self.failures, self.failures[:3]
            assert time.monotonic() < deadline, f"only {len(self.acked)} acks in {timeout} s"
            time.sleep(0.005)

    def join(self) -> None:
        for thread in self._threads:
            thread.join(30)
            assert not thread.is_alive()


def stored_ids(db: Database, account: Account) -> dict[str, int]:
    """client_event_id → how many rows hold it."""
    hits = schema.hits
    query = (
        sa.select(hits.c.client_event_id, sa.func.count())
        .where(hits.c.account_id == account.id)
        .group_by(hits.c.client_event_id)
    )
    with db.read() as conn:
        return {row[0]: row[1] for row in conn.execute(query)}


def processing_problems(db: Database, account: Account) -> list[str]:
    """What is wrong with how the account's hits were processed, if anything: each hit is
    processed, and made part of a visit or dropped with a reason; each pageview counts once
    in its visit's pages and once in the lead's day statistics."""
    hits, visits, stats = schema.hits, schema.visits, schema.lead_day_stats
    mine = hits.c.account_id == account.id
    with db.read() as conn:
        waiting = conn.execute(
            sa.select(sa.func.count()).where(mine, hits.c.processed_at.is_(None))
        ).scalar_one()
        unexplained = conn.execute(
            sa.select(sa.func.count()).where(
                mine,
                hits.c.processed_at.is_not(None),
                hits.c.visit_id.is_(None),
                hits.c.drop_reason.is_(None),
            )
        ).scalar_one()
        in_visits = conn.execute(
            sa.select(sa.func.count()).where(mine, hits.c.visit_id.is_not(None))
        ).scalar_one()
        pages = conn.execute(
            sa.select(sa.func.coalesce(sa.func.sum(visits.c.page_depth), 0)).where(
                visits.c.account_id == account.id
            )
        ).scalar_one()
        counted = conn.execute(
            sa.select(sa.func.coalesce(sa.func.sum(stats.c.pageviews), 0)).where(
                stats.c.account_id == account.id
            )
        ).scalar_one()
    problems = []
    if waiting:
        problems.append(f"{waiting} hits not processed")
    if unexplained:
        problems.append(f"{unexplained} processed hits with neither a visit nor a drop reason")
    if not in_visits:
        problems.append("no hit became part of a visit")
    if pages != in_visits:
        problems.append(f"{in_visits} pageviews in visits, but the visits have {pages} pages")
    if counted != in_visits:
        problems.append(f"{in_visits} pageviews in visits, but lead statistics count {counted}")
    return problems
