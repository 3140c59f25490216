"""Tracker ingest: the tracker script, hit decoding and validation, and the durable,
group-committed append of hits for the pipeline (``docs/tracking.md``)."""

from __future__ import annotations

from openfeeder.config import Settings
from openfeeder.ingest.append import SHARDS, IncomingHit, Ingestor, IngestUnavailable
from openfeeder.ingest.events import BadEvent, TrackerEvent
from openfeeder.store.db import Database

__all__ = [
    "SHARDS",
    "BadEvent",
    "IncomingHit",
    "IngestUnavailable",
    "Ingestor",
    "TrackerEvent",
    "make_ingestor",
]


def make_ingestor(settings: Settings, db: Database) -> Ingestor:
    """The ingestor for ``Services.ingest``; the app's lifespan starts and stops it."""
    return Ingestor(settings, db)
