"""Readiness for load balancers (``/readyz``) and the store-side figures ``/metrics`` shows:
is the store reachable and at this build's schema, are the configured IP databases open, and
has the oldest waiting tracker hit waited less than ``OPENFEEDER_READY_MAX_PIPELINE_LAG``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from openfeeder.domain.errors import OpenfeederError
from openfeeder.identify import databases
from openfeeder.services.container import Services
from openfeeder.store import operations as store
from openfeeder.store import revision
from openfeeder.store.db import Database

__all__ = [
    "Check",
    "Readiness",
    "alert_delivery_counts",
    "export_counts",
    "pipeline_lag",
    "readiness",
]


@dataclass(frozen=True)
class Check:
    name: str  # database, schema, ip_databases, pipeline
    ok: bool
    detail: str


@dataclass(frozen=True)
class Readiness:
    checks: tuple[Check, ...]

    @property
    def ok(self) -> bool:
        return all(check.ok for check in self.checks)


def _first_line(error: Exception) -> str:
    text = str(getattr(error, "orig", None) or error).strip()
    return text.splitlines()[0] if text else error.__class__.__name__


def _waited(oldest: datetime | None, now: datetime) -> float:
    return max(0.0, (now - oldest).total_seconds()) if oldest is not None else 0.0


def _store_checks(services: Services) -> tuple[Check, ...]:
    """database, then schema and pipeline, which need the one before them."""
    engine = services.db.engine
    missing = store.sqlite_file(engine)
    if missing is not None and not missing.is_file():
        gone = Check("database", ok=False, detail=f"the SQLite file {missing} does not exist")
        return (gone, *_not_checked("the database is down", "schema", "pipeline"))
    try:
        found = revision.state(engine)  # the one query that needs no table of ours
    except sa.exc.SQLAlchemyError as error:
        down = Check("database", ok=False, detail=f"unreachable: {_first_line(error)}")
        return (down, *_not_checked("the database is down", "schema", "pipeline"))
    reachable = Check("database", ok=True, detail="reachable")
    if not found.at_head:
        newer = "" if found.known else " (migrated by a newer openfeeder)"
        detail = f"at {found.current or 'none'}, this build needs {found.head}{newer}"
        behind = Check("schema", ok=False, detail=detail)
        return (reachable, behind, *_not_checked("the schema is not this build's", "pipeline"))
    return (reachable, Check("schema", ok=True, detail=f"at {found.head}"), _lag_check(services))


def _not_checked(why: str, *names: str) -> tuple[Check, ...]:
    return tuple(Check(name, ok=False, detail=f"not checked: {why}") for name in names)


def _lag_check(services: Services) -> Check:
    limit = services.settings.ready_max_pipeline_lag
    if not limit:
        return Check("pipeline", ok=True, detail="not checked: OPENFEEDER_READY_MAX_PIPELINE_LAG=0")
    try:
        with services.db.read() as conn:
            oldest = store.oldest_waiting_hit(conn)
    except sa.exc.SQLAlchemyError as error:
        return Check("pipeline", ok=False, detail=f"unreadable: {_first_line(error)}")
    if oldest is None:
        return Check("pipeline", ok=True, detail="no hit waiting")
    waited = _waited(oldest, services.clock.now())
    return Check(
        "pipeline",
        ok=waited <= limit,
        detail=f"the oldest waiting hit has waited {waited:.0f} s (limit {limit:g} s)",
    )


def _ip_database_check(services: Services) -> Check:
    """Configured means named by a setting or downloaded into ``DATA_DIR/geoip/``."""
    settings = services.settings
    configured = [
        kind
        for kind in databases.KINDS
        if (settings.asn_mmdb if kind == "asn" else settings.city_mmdb) is not None
        or databases.default_path(settings, kind).is_file()
    ]
    if not configured:
        return Check("ip_databases", ok=True, detail="none configured")
    try:
        loaded = services.identifier().ip_databases()
    except OpenfeederError as error:
        return Check("ip_databases", ok=False, detail=str(error))
    missing = [kind for kind in configured if not loaded.get(kind)]
    if missing:
        names = ", ".join(f"{kind} ({databases.database_path(settings, kind)})" for kind in missing)
        return Check("ip_databases", ok=False, detail=f"configured but not loaded: {names}")
    return Check("ip_databases", ok=True, detail="loaded: " + ", ".join(configured))


def readiness(services: Services) -> Readiness:
    """Every check, each with why it passed or failed; a few short reads, no writes."""
    return Readiness((*_store_checks(services), _ip_database_check(services)))


def pipeline_lag(db: Database, now: datetime) -> float:
    """Seconds the oldest unprocessed tracker hit has waited (0 when none waits)."""
    with db.read() as conn:
        return _waited(store.oldest_waiting_hit(conn), now)


def export_counts(db: Database) -> dict[str, int]:
    """Export requests by status (pending, processed, failed)."""
    with db.read() as conn:
        return store.exports_by_status(conn)


def alert_delivery_counts(db: Database) -> dict[str, int]:
    """Alert deliveries by state: pending (never tried), retrying (failed, a retry is due
    later), delivered, failed (every retry used up)."""
    with db.read() as conn:
        return store.alert_deliveries_by_state(conn)
