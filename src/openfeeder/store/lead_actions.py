"""What people do to one lead in the dashboard: follow it, assign it, tag it, write notes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from openfeeder.store import schema as t
from openfeeder.store.upsert import insert_ignore


@dataclass(frozen=True)
class Note:
    id: int
    author: str | None  # the author's name; None once their user is gone
    body: str
    created_at: datetime


def is_followed(conn: sa.Connection, user_id: int, lead_pk: int) -> bool:
    f = t.lead_followers.c
    query = sa.select(sa.literal(1)).where(f.lead_pk == lead_pk, f.user_id == user_id)
    return conn.execute(query).first() is not None


def set_followed(conn: sa.Connection, user_id: int, lead_pk: int, followed: bool) -> None:
    if followed:
        insert_ignore(
            conn,
            t.lead_followers,
            [{"lead_pk": lead_pk, "user_id": user_id}],
            ["lead_pk", "user_id"],
        )
        return
    f = t.lead_followers
    conn.execute(f.delete().where(f.c.lead_pk == lead_pk, f.c.user_id == user_id))


def update_lead(conn: sa.Connection, lead_pk: int, values: dict[str, Any]) -> None:
    conn.execute(t.leads.update().where(t.leads.c.pk == lead_pk).values(values))


def add_note(conn: sa.Connection, lead_pk: int, user_id: int, body: str, at: datetime) -> None:
    conn.execute(
        t.lead_notes.insert().values(lead_pk=lead_pk, user_id=user_id, body=body, created_at=at)
    )


def notes_of(conn: sa.Connection, lead_pk: int, limit: int) -> list[Note]:
    n = t.lead_notes.c
    rows = conn.execute(
        sa.select(n.id, n.body, n.created_at, t.users.c.name)
        .outerjoin(t.users, t.users.c.id == n.user_id)
        .where(n.lead_pk == lead_pk)
        .order_by(n.created_at.desc(), n.id.desc())
        .limit(limit)
    )
    return [Note(row.id, row.name, row.body, row.created_at) for row in rows]


def member_emails(conn: sa.Connection, account_id: int) -> list[tuple[str, str]]:
    """(email, name) of every member of the account, by name."""
    rows = conn.execute(
        sa.select(t.users.c.email, t.users.c.name)
        .join(t.memberships, t.memberships.c.user_id == t.users.c.id)
        .where(t.memberships.c.account_id == account_id)
        .order_by(t.users.c.name, t.users.c.email)
    )
    return [(row.email, row.name) for row in rows]
