"""Alerts' SQL: endpoints and rules, the events rules make (unique per rule, lead and visit),
and the delivery outbox the delivery loop claims with a lease, with each attempt's record."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from openfeeder.domain.alerts import (
    Attempt,
    ChannelKind,
    Delivery,
    DueDelivery,
    Endpoint,
    Rule,
    Trigger,
)
from openfeeder.domain.models import Visit
from openfeeder.store import schema as t
from openfeeder.store.bulk import converted, write_rows
from openfeeder.store.rows import prefixed
from openfeeder.store.visits import visit_from_row

# --- Endpoints ----------------------------------------------------------------------------


def _endpoint(row: Any) -> Endpoint:
    return Endpoint(
        id=row.id,
        account_id=row.account_id,
        kind=ChannelKind(row.kind),
        name=row.name,
        url=row.url,
        config=dict(row.config or {}),
        secrets=tuple(row.secrets or ()),
        enabled=bool(row.enabled),
        created_at=row.created_at,
        failing_since=row.failing_since,
        disabled_at=row.disabled_at,
        disabled_reason=row.disabled_reason,
    )


def create_endpoint(conn: sa.Connection, values: dict[str, Any]) -> int:
    query = t.alert_endpoints.insert().values(**values).returning(t.alert_endpoints.c.id)
    return int(conn.execute(query).scalar_one())


def list_endpoints(conn: sa.Connection, account_id: int) -> list[Endpoint]:
    e = t.alert_endpoints
    rows = conn.execute(sa.select(e).where(e.c.account_id == account_id).order_by(e.c.id))
    return [_endpoint(row) for row in rows]


def get_endpoint(conn: sa.Connection, account_id: int, endpoint_id: int) -> Endpoint | None:
    e = t.alert_endpoints
    row = conn.execute(
        sa.select(e).where(e.c.account_id == account_id, e.c.id == endpoint_id)
    ).first()
    return _endpoint(row) if row else None


def update_endpoint(
    conn: sa.Connection, account_id: int, endpoint_id: int, values: dict[str, Any]
) -> bool:
    e = t.alert_endpoints
    result = conn.execute(
        e.update().where(e.c.account_id == account_id, e.c.id == endpoint_id).values(**values)
    )
    return bool(result.rowcount)


def delete_endpoint(conn: sa.Connection, account_id: int, endpoint_id: int) -> bool:
    e = t.alert_endpoints
    result = conn.execute(e.delete().where(e.c.account_id == account_id, e.c.id == endpoint_id))
    return bool(result.rowcount)


def hook_by_id(conn: sa.Connection, endpoint_id: int) -> tuple[int, int] | None:
    """(account id, subscribing user id) of a REST hook's endpoint."""
    e = t.alert_endpoints
    row = conn.execute(
        sa.select(e.c.account_id, e.c.hook_user_id).where(
            e.c.id == endpoint_id, e.c.hook_user_id.is_not(None)
        )
    ).first()
    return (int(row[0]), int(row[1])) if row else None


# --- Rules --------------------------------------------------------------------------------


def _rule(row: Any) -> Rule:
    return Rule(
        id=row.id,
        account_id=row.account_id,
        name=row.name,
        feed_id=row.feed_id,
        trigger=Trigger(row.trigger),
        params=dict(row.params or {}),
        cooldown_seconds=row.cooldown_seconds,
        enabled=bool(row.enabled),
        endpoint_ids=tuple(int(i) for i in row.endpoint_ids or ()),
        user_id=row.user_id,
        created_at=row.created_at,
    )


def create_rule(conn: sa.Connection, values: dict[str, Any]) -> int:
    query = t.alert_rules.insert().values(**values).returning(t.alert_rules.c.id)
    return int(conn.execute(query).scalar_one())


def list_rules(conn: sa.Connection, account_id: int) -> list[Rule]:
    r = t.alert_rules
    rows = conn.execute(sa.select(r).where(r.c.account_id == account_id).order_by(r.c.id))
    return [_rule(row) for row in rows]


def get_rule(conn: sa.Connection, account_id: int, rule_id: int) -> Rule | None:
    r = t.alert_rules
    row = conn.execute(sa.select(r).where(r.c.account_id == account_id, r.c.id == rule_id)).first()
    return _rule(row) if row else None


def update_rule(conn: sa.Connection, account_id: int, rule_id: int, values: dict[str, Any]) -> bool:
    r = t.alert_rules
    result = conn.execute(
        r.update().where(r.c.account_id == account_id, r.c.id == rule_id).values(**values)
    )
    return bool(result.rowcount)


def delete_rule(conn: sa.Connection, account_id: int, rule_id: int) -> bool:
    r = t.alert_rules
    result = conn.execute(r.delete().where(r.c.account_id == account_id, r.c.id == rule_id))
    return bool(result.rowcount)


def active_rules(conn: sa.Connection, account_ids: Collection[int]) -> list[Rule]:
    """The enabled rules of these accounts (one index probe per account)."""
    if not account_ids:
        return []
    r = t.alert_rules
    query = sa.select(r).where(r.c.account_id.in_(sorted(account_ids)), r.c.enabled.is_(True))
    return [_rule(row) for row in conn.execute(query.order_by(r.c.id))]


# --- What evaluation reads ----------------------------------------------------------------


def visit_facts(conn: sa.Connection, visit_ids: Sequence[str]) -> list[dict[str, Any]]:
    """Of each visit: its lead, start, route and the start of the lead's visit before it."""
    if not visit_ids:
        return []
    return [
        {
            "id": id_,
            "account_id": account_id,
            "lead_pk": lead_pk,
            "started_at": started_at,
            "route": route,
            "previous_start": previous_start,
        }
        for id_, account_id, lead_pk, started_at, route, previous_start in conn.execute(
            _VISIT_FACTS, {"visit_ids": sorted(visit_ids)}
        )
    ]


def _visit_facts_statement() -> sa.Select[Any]:
    v = t.visits
    earlier = v.alias("earlier")
    previous = (
        sa.select(sa.func.max(earlier.c.started_at, type_=t.Timestamp()))
        .where(earlier.c.lead_pk == v.c.lead_pk, earlier.c.started_at < v.c.started_at)
        .scalar_subquery()
    )
    return (
        sa.select(v.c.id, v.c.account_id, v.c.lead_pk, v.c.started_at, v.c.visit_route, previous)
        .where(v.c.id.in_(sa.bindparam("visit_ids", expanding=True)))
        .order_by(v.c.started_at, v.c.id)
    )


_VISIT_FACTS = _visit_facts_statement()  # built once: batch after batch, only values change


def cooling(
    conn: sa.Connection,
    cooldowns: Mapping[int, Collection[int]],
    lead_pks: Collection[int],
    now: datetime,
) -> set[tuple[int, int]]:
    """The (rule, lead) pairs, of these leads, whose rule made an event for the lead within
    its cooldown before ``now`` (later than ``now`` minus the cooldown); ``cooldowns`` maps
    a cooldown in seconds to the rules that have it. One statement, whatever the rules."""
    ev = t.alert_events
    windows = [
        sa.and_(
            ev.c.rule_id.in_(sorted(rule_ids)),
            ev.c.created_at > now - timedelta(seconds=seconds),
        )
        for seconds, rule_ids in sorted(cooldowns.items())
        if rule_ids
    ]
    if not windows or not lead_pks:
        return set()
    query = (
        sa.select(ev.c.rule_id, ev.c.lead_pk)
        .where(ev.c.lead_pk.in_(sorted(lead_pks)), sa.or_(*windows))
        .distinct()
    )
    return {(int(rule_id), int(lead_pk)) for rule_id, lead_pk in conn.execute(query)}


def existing_events(conn: sa.Connection, visit_ids: Collection[str]) -> set[tuple[int, int, str]]:
    """The (rule, lead, visit) keys that already have their event, of these visits."""
    ev = t.alert_events
    found: set[tuple[int, int, str]] = set()
    wanted = sorted(visit_ids)
    for start in range(0, len(wanted), 500):
        query = sa.select(ev.c.rule_id, ev.c.lead_pk, ev.c.visit_id).where(
            ev.c.visit_id.in_(wanted[start : start + 500])
        )
        found.update((int(r), int(lead), str(v)) for r, lead, v in conn.execute(query))
    return found


def get_visit(conn: sa.Connection, visit_id: str) -> Visit | None:
    v = t.visits
    query = (
        sa.select(v, t.leads.c.id.label("lead_public_id"), *prefixed(t.locations, "loc_"))
        .join(t.leads, t.leads.c.pk == v.c.lead_pk)
        .join(t.locations, t.locations.c.id == v.c.location_id)
        .where(v.c.id == visit_id)
    )
    row = conn.execute(query).first()
    return visit_from_row(row._mapping) if row else None


def lead_public_ids(conn: sa.Connection, lead_pks: Collection[int]) -> dict[int, str]:
    if not lead_pks:
        return {}
    query = sa.select(t.leads.c.pk, t.leads.c.id).where(t.leads.c.pk.in_(sorted(lead_pks)))
    return {int(pk): str(id_) for pk, id_ in conn.execute(query)}


# --- Events and the outbox ----------------------------------------------------------------


_EVENT_COLUMNS = (
    "id",
    "account_id",
    "rule_id",
    "lead_pk",
    "visit_id",
    "type",
    "quality",
    "created_at",
)
_DELIVERY_ROW = ("event_id", "endpoint_id", "status", "attempts", "next_attempt_at", "created_at")


def add_events(
    conn: sa.Connection, events: Sequence[dict[str, Any]], deliveries: Sequence[dict[str, Any]]
) -> None:
    """Store events and the deliveries of those stored, in bulk. A (rule, lead, visit) key
    already taken — by another worker's transaction the caller's check could not see — is
    skipped with its deliveries: the unique key, not the check, makes events exactly once."""
    if not events:
        return
    mine = _insert_events(conn, events)
    write_rows(
        conn,
        t.alert_deliveries,
        _DELIVERY_ROW,
        [[d[c] for c in _DELIVERY_ROW] for d in deliveries if d["event_id"] in mine],
    )


def _insert_events(conn: sa.Connection, events: Sequence[dict[str, Any]]) -> set[str]:
    """INSERT the events whose key is free; the ids of those inserted. PostgreSQL: one
    statement, the rows as one array per column (``unnest``) and the inserted ids
    returned; SQLite (in process): one ``executemany``, then the inserted ids read back."""
    ev = t.alert_events
    rows = [[e[c] for c in _EVENT_COLUMNS] for e in events]
    if conn.dialect.name == "postgresql":
        arrays = ", ".join(f"%s::{ev.c[c].type.compile(conn.dialect)}[]" for c in _EVENT_COLUMNS)
        statement = (
            f"INSERT INTO alert_events ({', '.join(_EVENT_COLUMNS)}) "  # noqa: S608 - schema names
            f"SELECT * FROM unnest({arrays}) "
            "ON CONFLICT (rule_id, lead_pk, visit_id) DO NOTHING RETURNING id"
        )
        values = converted(conn, ev, _EVENT_COLUMNS, rows)
        arguments = tuple(list(column) for column in zip(*values, strict=True))
        return set(conn.exec_driver_sql(statement, arguments).scalars())
    write_rows(conn, ev, _EVENT_COLUMNS, rows, keys=["rule_id", "lead_pk", "visit_id"])
    ids = [e["id"] for e in events]
    mine: set[str] = set()
    for start in range(0, len(ids), 500):
        query = sa.select(ev.c.id).where(ev.c.id.in_(ids[start : start + 500]))
        mine.update(conn.execute(query).scalars())
    return mine


def add_test_event(
    conn: sa.Connection, event: dict[str, Any], deliveries: Sequence[dict[str, Any]]
) -> None:
    conn.execute(t.alert_events.insert().values(**event))
    if deliveries:
        conn.execute(t.alert_deliveries.insert(), list(deliveries))


def get_event(conn: sa.Connection, event_id: str) -> dict[str, Any] | None:
    ev = t.alert_events
    row = conn.execute(sa.select(ev).where(ev.c.id == event_id)).first()
    return dict(row._mapping) if row else None


def set_payload(conn: sa.Connection, event_id: str, payload: dict[str, Any]) -> dict[str, Any]:
    """Store an event's body unless one is there already; the body stored."""
    ev = t.alert_events
    conn.execute(
        ev.update().where(ev.c.id == event_id, ev.c.payload.is_(None)).values(payload=payload)
    )
    stored = conn.execute(sa.select(ev.c.payload).where(ev.c.id == event_id)).scalar_one()
    return dict(stored)


def events_of_account(conn: sa.Connection, account_id: int, limit: int) -> list[dict[str, Any]]:
    ev = t.alert_events
    query = (
        sa.select(ev.c.id, ev.c.rule_id, ev.c.type, ev.c.visit_id, ev.c.created_at)
        .where(ev.c.account_id == account_id)
        .order_by(ev.c.created_at.desc(), ev.c.id)
        .limit(limit)
    )
    return [dict(row._mapping) for row in conn.execute(query)]


_DELIVERY_COLUMNS = (
    t.alert_deliveries.c.id,
    t.alert_deliveries.c.event_id,
    t.alert_deliveries.c.endpoint_id,
    t.alert_deliveries.c.status,
    t.alert_deliveries.c.attempts,
    t.alert_deliveries.c.next_attempt_at,
    t.alert_deliveries.c.created_at,
    t.alert_deliveries.c.delivered_at,
    t.alert_deliveries.c.last_error,
    t.alert_events.c.type,
)


def _delivery(row: Any) -> Delivery:
    return Delivery(*row)


def claim_due(
    conn: sa.Connection, now: datetime, lease_until: datetime, limit: int
) -> list[DueDelivery]:
    """Take up to ``limit`` due deliveries of enabled endpoints, oldest due first, leasing
    them until ``lease_until``: a delivery whose lease ran out (its worker died) is due
    again. PostgreSQL skips rows another worker is claiming; SQLite has one writer."""
    d, e = t.alert_deliveries, t.alert_endpoints
    due = (
        sa.select(d.c.id)
        .join(e, e.c.id == d.c.endpoint_id)
        .where(
            d.c.status == "pending",
            d.c.next_attempt_at <= now,
            sa.or_(d.c.lease_until.is_(None), d.c.lease_until <= now),
            e.c.enabled.is_(True),
        )
        .order_by(d.c.next_attempt_at, d.c.id)
        .limit(limit)
    )
    if conn.dialect.name == "postgresql":
        due = due.with_for_update(of=d, skip_locked=True)
    ids = list(conn.execute(due).scalars())
    if not ids:
        return []
    conn.execute(d.update().where(d.c.id.in_(ids)).values(lease_until=lease_until))
    query = (
        sa.select(*_DELIVERY_COLUMNS, t.alert_events.c.payload)
        .join(t.alert_events, t.alert_events.c.id == d.c.event_id)
        .where(d.c.id.in_(ids))
        .order_by(d.c.next_attempt_at, d.c.id)
    )
    rows = conn.execute(query).all()
    wanted = sorted({row.endpoint_id for row in rows})
    endpoints = {
        row.id: _endpoint(row) for row in conn.execute(sa.select(e).where(e.c.id.in_(wanted)))
    }
    return [
        DueDelivery(
            _delivery(row[:-1]),
            endpoints[row.endpoint_id],
            None if row.payload is None else dict(row.payload),
        )
        for row in rows
    ]


def record_attempt(conn: sa.Connection, values: dict[str, Any]) -> None:
    conn.execute(t.alert_delivery_attempts.insert().values(**values))


def finish_delivery(conn: sa.Connection, delivery_id: int, values: dict[str, Any]) -> None:
    """Store an attempt's outcome on the delivery and release its lease."""
    d = t.alert_deliveries
    conn.execute(d.update().where(d.c.id == delivery_id).values(lease_until=None, **values))


def get_delivery(conn: sa.Connection, account_id: int, delivery_id: int) -> Delivery | None:
    d = t.alert_deliveries
    query = (
        sa.select(*_DELIVERY_COLUMNS)
        .join(t.alert_events, t.alert_events.c.id == d.c.event_id)
        .where(d.c.id == delivery_id, t.alert_events.c.account_id == account_id)
    )
    row = conn.execute(query).first()
    return _delivery(row) if row else None


def list_deliveries(
    conn: sa.Connection,
    account_id: int,
    endpoint_id: int | None,
    limit: int,
    before: int | None = None,
) -> list[Delivery]:
    """Newest first; ``before``: only deliveries older than that one (the next page)."""
    d = t.alert_deliveries
    query = (
        sa.select(*_DELIVERY_COLUMNS)
        .join(t.alert_events, t.alert_events.c.id == d.c.event_id)
        .where(t.alert_events.c.account_id == account_id)
    )
    if endpoint_id is not None:
        query = query.where(d.c.endpoint_id == endpoint_id)
    if before is not None:
        query = query.where(d.c.id < before)
    rows = conn.execute(query.order_by(d.c.id.desc()).limit(limit))
    return [_delivery(row) for row in rows]


def list_attempts(conn: sa.Connection, delivery_id: int) -> list[Attempt]:
    a = t.alert_delivery_attempts
    rows = conn.execute(sa.select(a).where(a.c.delivery_id == delivery_id).order_by(a.c.id))
    return [
        Attempt(
            id=row.id,
            delivery_id=row.delivery_id,
            at=row.at,
            request_headers=dict(row.request_headers),
            request_body=row.request_body,
            response_status=row.response_status,
            response_excerpt=row.response_excerpt,
            latency_ms=row.latency_ms,
            error=row.error,
        )
        for row in rows
    ]


def replay_delivery(conn: sa.Connection, delivery_id: int, now: datetime) -> None:
    """Make a delivery due now, with its retries afresh (its attempts stay in the log)."""
    d = t.alert_deliveries
    conn.execute(
        d.update()
        .where(d.c.id == delivery_id)
        .values(status="pending", attempts=0, next_attempt_at=now, lease_until=None)
    )


def endpoint_succeeded(conn: sa.Connection, endpoint_id: int) -> None:
    e = t.alert_endpoints
    conn.execute(
        e.update()
        .where(e.c.id == endpoint_id, e.c.failing_since.is_not(None))
        .values(failing_since=None)
    )


def endpoint_failed(conn: sa.Connection, endpoint_id: int, now: datetime) -> datetime:
    """Note that a delivery to the endpoint failed; since when it has failed steadily."""
    e = t.alert_endpoints
    conn.execute(
        e.update()
        .where(e.c.id == endpoint_id, e.c.failing_since.is_(None))
        .values(failing_since=now)
    )
    since = conn.execute(sa.select(e.c.failing_since).where(e.c.id == endpoint_id)).scalar()
    return since or now


def disable_endpoint(conn: sa.Connection, endpoint_id: int, now: datetime, reason: str) -> bool:
    """Disable an enabled endpoint; False when it was disabled already."""
    e = t.alert_endpoints
    result = conn.execute(
        e.update()
        .where(e.c.id == endpoint_id, e.c.enabled.is_(True))
        .values(enabled=False, disabled_at=now, disabled_reason=reason)
    )
    return bool(result.rowcount)
