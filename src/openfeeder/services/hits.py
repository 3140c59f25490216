"""Quarantined tracker hits, for operators: the hits the pipeline set aside because
processing them failed (drop reason ``error``, the error kept on the hit), and releasing
them to be processed again once the cause is fixed."""

from __future__ import annotations

from collections.abc import Collection

from openfeeder.store import pipeline as store
from openfeeder.store.db import Database
from openfeeder.store.pipeline import QuarantinedHit

__all__ = ["QuarantinedHit", "quarantined", "release"]


def quarantined(
    db: Database, account_id: int | None = None, limit: int = 100
) -> list[QuarantinedHit]:
    """The newest quarantined hits (of one account, or of all), with their errors."""
    with db.read() as conn:
        return store.quarantined_hits(conn, account_id, limit)


def release(db: Database, hit_ids: Collection[int] | None = None) -> int:
    """Make quarantined hits unprocessed again (all of them when ``hit_ids`` is None): the
    pipeline then takes them through its steps like new hits. Returns how many."""
    with db.write() as conn:
        return store.release_quarantined(conn, hit_ids)
