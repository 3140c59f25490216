"""An account's traffic rules as people manage them, and when its tracker was last heard."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from openfeeder.store import schema as t
from openfeeder.store.upsert import insert_ignore


@dataclass(frozen=True)
class Rule:
    id: int
    kind: str  # ip_range, country or hostname
    value: str


def rules_of(conn: sa.Connection, account_id: int) -> list[Rule]:
    r = t.traffic_rules.c
    query = (
        sa.select(r.id, r.kind, r.value).where(r.account_id == account_id).order_by(r.kind, r.value)
    )
    return [Rule(*row) for row in conn.execute(query)]


def add_rule(conn: sa.Connection, account_id: int, kind: str, value: str) -> None:
    """Adds the rule; one the account already has stays as it is."""
    row = {"account_id": account_id, "kind": kind, "value": value}
    insert_ignore(conn, t.traffic_rules, [row], ["account_id", "kind", "value"])


def delete_rule(conn: sa.Connection, account_id: int, rule_id: int) -> bool:
    r = t.traffic_rules
    query = r.delete().where(r.c.account_id == account_id, r.c.id == rule_id)
    return bool(conn.execute(query).rowcount)


def last_heard(conn: sa.Connection, account_id: int) -> tuple[datetime | None, datetime | None]:
    """When the account's newest tracker hit arrived, and when its newest visit started."""
    hit = conn.execute(
        sa.select(t.hits.c.received_at)
        .where(t.hits.c.account_id == account_id)
        .order_by(t.hits.c.id.desc())
        .limit(1)
    ).scalar_one_or_none()
    v = t.visits.c
    visit = conn.execute(
        sa.select(v.started_at)
        .where(v.account_id == account_id)
        .order_by(v.date.desc(), v.started_at.desc())
        .limit(1)
    ).scalar_one_or_none()
    return hit, visit
