"""Password resets by email: the stored (hashed) tokens, what became of each, and the count
of a user's recent requests that the hourly cap reads."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from openfeeder.domain.models import User
from openfeeder.store import schema as t


@dataclass(frozen=True)
class PasswordReset:
    id: int
    user: User
    created_at: datetime
    expires_at: datetime
    used_at: datetime | None
    revoked_at: datetime | None


def create_reset(
    conn: sa.Connection,
    *,
    token_hash: str,
    user_id: int,
    created_at: datetime,
    expires_at: datetime,
) -> None:
    conn.execute(
        t.password_resets.insert().values(
            token_hash=token_hash, user_id=user_id, created_at=created_at, expires_at=expires_at
        )
    )


def reset_by_hash(conn: sa.Connection, token_hash: str) -> PasswordReset | None:
    r, u = t.password_resets.c, t.users.c
    row = conn.execute(
        sa.select(
            r.id,
            r.created_at,
            r.expires_at,
            r.used_at,
            r.revoked_at,
            u.id.label("user_id"),
            u.email,
            u.name,
        )
        .join(t.users, u.id == r.user_id)
        .where(r.token_hash == token_hash)
    ).first()
    if row is None:
        return None
    m = row._mapping
    return PasswordReset(
        id=m["id"],
        user=User(m["user_id"], m["email"], m["name"]),
        created_at=m["created_at"],
        expires_at=m["expires_at"],
        used_at=m["used_at"],
        revoked_at=m["revoked_at"],
    )


def _open() -> list[sa.ColumnElement[bool]]:
    r = t.password_resets.c
    return [r.used_at.is_(None), r.revoked_at.is_(None)]


def revoke_resets(conn: sa.Connection, user_id: int, now: datetime) -> int:
    """Revokes every open reset of the user (a newer request, or a password changed another
    way): their links stop working."""
    r = t.password_resets
    query = r.update().where(r.c.user_id == user_id, *_open()).values(revoked_at=now)
    return int(conn.execute(query).rowcount)


def mark_used(conn: sa.Connection, reset_id: int, now: datetime) -> bool:
    """Uses the reset, once: False when it was used, revoked or expired meanwhile (two tabs
    racing with the same link set one password)."""
    r = t.password_resets
    query = r.update().where(r.c.id == reset_id, r.c.expires_at > now, *_open())
    return bool(conn.execute(query.values(used_at=now)).rowcount)


def requested_since(conn: sa.Connection, user_id: int, since: datetime) -> int:
    """How many resets the user was sent since ``since`` (used, revoked or not)."""
    r = t.password_resets.c
    query = sa.select(sa.func.count()).where(r.user_id == user_id, r.created_at >= since)
    return int(conn.execute(query).scalar_one())


def purge(conn: sa.Connection, before: datetime) -> int:
    """Deletes the resets that expired before ``before``."""
    r = t.password_resets
    return int(conn.execute(r.delete().where(r.c.expires_at < before)).rowcount)
