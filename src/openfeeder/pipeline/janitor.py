"""The pipeline's upkeep: deletes processed raw hits past the retention period, visitor
sessions no hit can continue any more, daily salts no waiting hit needs (which makes
cookieless visitor keys of those days unlinkable for good) and expired resolver answers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from openfeeder.pipeline.model import VISIT_IDLE
from openfeeder.store import identify as identify_store
from openfeeder.store import pipeline as store
from openfeeder.store.db import Database

# Hits are deleted in chunks, each its own short transaction, so ingest is never held up.
CHUNK = 5000
# Sessions are kept this much longer than a visit can idle: a hit appended a little late (an
# ingest process's queue) may still continue its visit.
SESSION_GRACE = timedelta(hours=1)


@dataclass(frozen=True)
class Swept:
    hits: int
    sessions: int
    salts: int
    cached_answers: int = 0


def sweep(db: Database, now: datetime, retention_days: int, shard_count: int) -> Swept:
    """One upkeep pass; safe to run from any number of processes at once."""
    hits = 0
    cutoff = now - timedelta(days=retention_days)
    while True:
        with db.write() as conn:
            deleted = store.delete_processed_hits(conn, cutoff, CHUNK)
        hits += deleted
        if deleted < CHUNK:
            break
    with db.write() as conn:
        # A backlog of waiting hits may still continue sessions older than now: measure
        # from the oldest waiting hit when there is one.
        waiting = store.oldest_unprocessed(conn, shard_count)
        horizon = min(now, waiting) if waiting is not None else now
        sessions = store.delete_sessions(conn, horizon - VISIT_IDLE - SESSION_GRACE)
        # Keep the salt of the horizon's day and the day before (a late hit near midnight).
        salts = store.delete_salts(conn, (horizon - timedelta(days=1)).date())
        cached = identify_store.purge_cache(conn, now)
    return Swept(hits, sessions, salts, cached)
