"""The tracking pipeline's SQL: claiming a shard, reading its unprocessed hits, visitor
sessions, daily salts, marking hits processed, and the janitor's deletions.

Everything here runs inside the caller's transaction; the pipeline runs one shard's batch in
one transaction, so a crash loses nothing and repeats nothing.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, TypeVar

import orjson
import sqlalchemy as sa

from openfeeder.store import schema as t
from openfeeder.store.bulk import write_rows
from openfeeder.store.upsert import insert_ignore

_T = TypeVar("_T")
# First key of PostgreSQL's two-key advisory locks taken while recording an account's visits
# ("of"); the second key is the account id.
_RECORD_LOCK_SPACE = 0x6F66


@dataclass(frozen=True)
class HitRow:
    """One stored tracker hit, as the pipeline reads it."""

    id: int
    account_id: int
    client_event_id: str
    received_at: datetime
    ip: str
    user_agent: str | None
    accept_language: str | None
    request_meta: dict[str, Any] | None
    visitor_key: str
    payload: dict[str, Any]


@dataclass(frozen=True)
class SessionRow:
    account_id: int
    visitor_key: str
    visit_id: str
    started_at: datetime
    last_hit_at: datetime
    state: dict[str, Any]


# The drop reason of a quarantined hit (``DropReason.ERROR``'s value; the store keeps strings).
QUARANTINED = "error"


@dataclass(frozen=True)
class Processed:
    """What the pipeline made of one hit: a drop reason or the visit it joined."""

    hit_id: int
    drop_reason: str | None
    visit_id: str | None
    ip: str  # the IP to keep: truncated when the settings say so
    error: str | None = None  # a quarantined hit's error


# --- Shards -------------------------------------------------------------------------------


def ensure_shards(conn: sa.Connection, count: int) -> None:
    """Create the shard rows workers lock (idempotent, safe when workers race to do it)."""
    insert_ignore(conn, t.pipeline_shards, [{"shard": s} for s in range(count)], ["shard"])


def shards_with_work(conn: sa.Connection, count: int) -> list[int]:
    """Shards that have unprocessed hits: one index probe per shard, never a table scan."""
    h = t.hits
    probes = [
        sa.select(sa.literal(shard, sa.SmallInteger).label("shard")).where(
            sa.exists().where(h.c.shard == shard, h.c.processed_at.is_(None))
        )
        for shard in range(count)
    ]
    return sorted(int(s) for s in conn.execute(sa.union_all(*probes)).scalars())


def claim_shard(conn: sa.Connection, shard: int) -> bool:
    """Lock the shard's row for this transaction; False when another worker holds it.

    On PostgreSQL this is ``FOR UPDATE SKIP LOCKED``. On SQLite the caller's transaction is
    already the only writer (BEGIN IMMEDIATE), so the row only has to exist.
    """
    query = sa.select(t.pipeline_shards.c.shard).where(t.pipeline_shards.c.shard == shard)
    if conn.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    return conn.execute(query).first() is not None


def unprocessed_hits(conn: sa.Connection, shard: int, limit: int) -> list[HitRow]:
    """The shard's oldest unprocessed hits in id (append) order.

    ``processed_at IS NULL`` rather than a high-water mark: on PostgreSQL a hit with a lower
    id can commit after a higher one, and a mark would skip it for ever. The JSON columns
    are read as their text and decoded here by orjson (the drivers' stdlib json is most of
    a batch's reading time).
    """
    h = t.hits
    query = (
        sa.select(
            h.c.id,
            h.c.account_id,
            h.c.client_event_id,
            h.c.received_at,
            h.c.ip,
            h.c.user_agent,
            h.c.accept_language,
            sa.cast(h.c.request_meta, sa.Text),
            h.c.visitor_key,
            sa.cast(h.c.payload, sa.Text),
        )
        .where(h.c.shard == shard, h.c.processed_at.is_(None))
        .order_by(h.c.id)
        .limit(limit)
    )
    return [
        HitRow(id_, account, event, at, ip, agent, language, _json(meta), visitor, _json(payload))
        for id_, account, event, at, ip, agent, language, meta, visitor, payload in conn.execute(
            query
        )
    ]


def _json(text: str | None) -> Any:
    if text is None:
        return None
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:  # what orjson refuses (integers past 64 bits) json takes
        return json.loads(text)


def mark_processed(conn: sa.Connection, outcomes: Sequence[Processed], at: datetime) -> None:
    """Record each hit's outcome, through the bare driver: SQLite (in process) runs one
    UPDATE per hit by ``executemany``; PostgreSQL one UPDATE for the batch, joined to the
    outcomes passed as arrays. The time is converted once, as its column type would."""
    if not outcomes:
        return
    stamp = t.hits.c.processed_at.type.dialect_impl(conn.dialect).bind_processor(conn.dialect)
    when = stamp(at) if stamp is not None else at
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql(
            "UPDATE hits SET processed_at = ?, drop_reason = ?, visit_id = ?, ip = ?, error = ?"
            " WHERE id = ?",
            [(when, o.drop_reason, o.visit_id, o.ip, o.error, o.hit_id) for o in outcomes],
        )
        return
    conn.exec_driver_sql(
        "UPDATE hits SET processed_at = %s, drop_reason = o.drop_reason, visit_id = o.visit_id,"
        " ip = o.ip, error = o.error"
        " FROM unnest(%s::bigint[], %s::text[], %s::text[], %s::text[], %s::text[])"
        " AS o(id, drop_reason, visit_id, ip, error) WHERE hits.id = o.id",
        (
            when,
            [o.hit_id for o in outcomes],
            [o.drop_reason for o in outcomes],
            [o.visit_id for o in outcomes],
            [o.ip for o in outcomes],
            [o.error for o in outcomes],
        ),
    )


def advance_shard(conn: sa.Connection, shard: int, through: int, at: datetime) -> None:
    """Note the last hit id a shard's batch processed (for operators; claims do not use it)."""
    ps = t.pipeline_shards
    conn.execute(
        ps.update()
        .where(ps.c.shard == shard)
        .values(
            processed_through=sa.func.max(sa.func.coalesce(ps.c.processed_through, 0), through)
            if conn.dialect.name == "sqlite"
            else sa.func.greatest(sa.func.coalesce(ps.c.processed_through, 0), through),
            updated_at=at,
        )
    )


def lock_accounts_for_recording(conn: sa.Connection, account_ids: Collection[int]) -> None:
    """Serialise visit recording per account across workers until this transaction ends.

    Two workers on different shards can touch the same lead; its per-day statistics and
    totals are updated by what each batch adds (and, should a visit move, recounted by
    delete-and-insert, which races under READ COMMITTED). Ids are locked in
    order so two workers never wait on each other crosswise. SQLite has one writer already.
    """
    if conn.dialect.name != "postgresql":
        return
    for account_id in sorted(set(account_ids)):
        conn.execute(sa.select(sa.func.pg_advisory_xact_lock(_RECORD_LOCK_SPACE, account_id))).all()


# --- Visitor sessions ---------------------------------------------------------------------


def load_sessions(
    conn: sa.Connection, keys: Collection[tuple[int, str]]
) -> dict[tuple[int, str], SessionRow]:
    s = t.visitor_sessions
    out: dict[tuple[int, str], SessionRow] = {}
    for chunk in _chunks(sorted(set(keys))):
        query = sa.select(
            s.c.account_id,
            s.c.visitor_key,
            s.c.visit_id,
            s.c.started_at,
            s.c.last_hit_at,
            sa.cast(s.c.state, sa.Text),
        ).where(sa.tuple_(s.c.account_id, s.c.visitor_key).in_(chunk))
        for account_id, visitor_key, visit_id, started_at, last_hit_at, state in conn.execute(
            query
        ):
            out[(account_id, visitor_key)] = SessionRow(
                account_id, visitor_key, visit_id, started_at, last_hit_at, _json(state)
            )
    return out


def save_sessions(conn: sa.Connection, sessions: Sequence[SessionRow]) -> None:
    write_rows(
        conn,
        t.visitor_sessions,
        ("account_id", "visitor_key", "visit_id", "started_at", "last_hit_at", "state"),
        [
            (s.account_id, s.visitor_key, s.visit_id, s.started_at, s.last_hit_at, s.state)
            for s in sessions
        ],
        keys=["account_id", "visitor_key"],
        update=["visit_id", "started_at", "last_hit_at", "state"],
    )


# --- Daily salts --------------------------------------------------------------------------


def salts_for(
    conn: sa.Connection, days: Collection[date], new_salt: Callable[[], str]
) -> dict[date, str]:
    """The salt of each day, created on first use; workers racing to create one agree on the
    one stored first."""
    salts = t.pipeline_salts
    wanted = sorted(set(days))
    if not wanted:
        return {}
    query = sa.select(salts.c.day, salts.c.salt).where(salts.c.day.in_(wanted))
    found: dict[date, str] = {row.day: row.salt for row in conn.execute(query)}
    missing = [day for day in wanted if day not in found]
    if missing:
        insert_ignore(conn, salts, [{"day": day, "salt": new_salt()} for day in missing], ["day"])
        found = {row.day: row.salt for row in conn.execute(query)}
    return found


# --- Janitor ------------------------------------------------------------------------------


def oldest_unprocessed(conn: sa.Connection, shard_count: int) -> datetime | None:
    """When the oldest hit still waiting was received (the first waiting hit of each shard)."""
    h = t.hits
    oldest: datetime | None = None
    for shard in range(shard_count):
        first = conn.execute(
            sa.select(h.c.received_at)
            .where(h.c.shard == shard, h.c.processed_at.is_(None))
            .order_by(h.c.id)
            .limit(1)
        ).scalar()
        if first is not None and (oldest is None or first < oldest):
            oldest = first
    return oldest


def delete_processed_hits(conn: sa.Connection, received_before: datetime, limit: int) -> int:
    """Delete up to ``limit`` processed hits received before the cutoff; how many went."""
    h = t.hits
    doomed = (
        sa.select(h.c.id)
        .where(h.c.processed_at.is_not(None), h.c.received_at < received_before)
        .limit(limit)
        .scalar_subquery()
    )
    return int(conn.execute(h.delete().where(h.c.id.in_(doomed))).rowcount)


def delete_sessions(conn: sa.Connection, last_hit_before: datetime) -> int:
    s = t.visitor_sessions
    return int(conn.execute(s.delete().where(s.c.last_hit_at < last_hit_before)).rowcount)


def delete_salts(conn: sa.Connection, before: date) -> int:
    salts = t.pipeline_salts
    return int(conn.execute(salts.delete().where(salts.c.day < before)).rowcount)


def drop_counts(conn: sa.Connection, account_id: int | None = None) -> dict[str, int]:
    """Stored hits by drop reason (hits still kept, so within the retention period)."""
    h = t.hits
    query = (
        sa.select(h.c.drop_reason, sa.func.count())
        .where(h.c.drop_reason.is_not(None))
        .group_by(h.c.drop_reason)
    )
    if account_id is not None:
        query = query.where(h.c.account_id == account_id)
    return {str(reason): int(n) for reason, n in conn.execute(query)}


def _chunks(items: Sequence[_T], size: int = 400) -> list[Sequence[_T]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


@dataclass(frozen=True)
class QuarantinedHit:
    id: int
    account_id: int
    received_at: datetime
    processed_at: datetime
    error: str | None


def quarantined_hits(
    conn: sa.Connection, account_id: int | None = None, limit: int = 100
) -> list[QuarantinedHit]:
    """Hits set aside because processing them failed (drop reason ``error``), newest first."""
    h = t.hits
    query = sa.select(h.c.id, h.c.account_id, h.c.received_at, h.c.processed_at, h.c.error).where(
        h.c.drop_reason == QUARANTINED
    )
    if account_id is not None:
        query = query.where(h.c.account_id == account_id)
    rows = conn.execute(query.order_by(h.c.id.desc()).limit(limit))
    return [QuarantinedHit(*row) for row in rows]


def release_quarantined(conn: sa.Connection, hit_ids: Collection[int] | None = None) -> int:
    """Make quarantined hits (all, or those of ``hit_ids``) unprocessed again, so the
    pipeline takes them through the steps once more; returns how many."""
    h = t.hits
    query = h.update().where(h.c.drop_reason == QUARANTINED)
    if hit_ids is not None:
        query = query.where(h.c.id.in_(sorted(hit_ids)))
    result = conn.execute(query.values(processed_at=None, drop_reason=None, error=None))
    return int(result.rowcount)
