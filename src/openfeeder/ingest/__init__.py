"""Tracker ingest: the tracker script, hit decoding and validation, and the durable,
group-committed append of hits for the pipeline (``docs/tracking.md``)."""

from __future__ import annotations

from openfeeder.config import Settings
from openfeeder.domain.events import BadEvent, TrackerEvent
from openfeeder.ingest.append import IncomingHit, Ingestor, IngestUnavailable
from openfeeder.store.db import Database
from openfeeder.store.hits import SHARDS

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
