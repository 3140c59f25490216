"""Dashboard sign-in: password hashes, roles and server-side sessions."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from openfeeder.domain.models import User, WebSession
from openfeeder.store import schema as t


def password_hash(conn: sa.Connection, email: str) -> tuple[User, str | None] | None:
    row = conn.execute(sa.select(t.users).where(t.users.c.email == email)).first()
    return (User(row.id, row.email, row.name), row.password_hash) if row else None


def set_password_hash(conn: sa.Connection, user_id: int, hashed: str) -> None:
    conn.execute(t.users.update().where(t.users.c.id == user_id).values(password_hash=hashed))


def role_of(conn: sa.Connection, user_id: int, account_id: int) -> str | None:
    m = t.memberships.c
    query = sa.select(m.role).where(m.user_id == user_id, m.account_id == account_id)
    return conn.execute(query).scalar_one_or_none()


def create_session(conn: sa.Connection, row: WebSession) -> None:
    conn.execute(
        t.web_sessions.insert().values(
            id_hash=row.id_hash,
            user_id=row.user.id,
            csrf=row.csrf,
            created_at=row.created_at,
            last_seen_at=row.last_seen_at,
            expires_at=row.expires_at,
            ip=row.ip,
            user_agent=row.user_agent,
        )
    )


def _select_sessions() -> sa.Select[tuple[object, ...]]:
    s = t.web_sessions.c
    return sa.select(
        s.id_hash,
        s.csrf,
        s.created_at,
        s.last_seen_at,
        s.expires_at,
        s.ip,
        s.user_agent,
        t.users.c.id.label("user_id"),
        t.users.c.email,
        t.users.c.name,
    ).join(t.users, t.users.c.id == s.user_id)


def _session(row: sa.Row[tuple[object, ...]]) -> WebSession:
    m = row._mapping
    return WebSession(
        id_hash=m["id_hash"],
        user=User(m["user_id"], m["email"], m["name"]),
        csrf=m["csrf"],
        created_at=m["created_at"],
        last_seen_at=m["last_seen_at"],
        expires_at=m["expires_at"],
        ip=m["ip"],
        user_agent=m["user_agent"],
    )


def get_session(conn: sa.Connection, id_hash: str) -> WebSession | None:
    row = conn.execute(_select_sessions().where(t.web_sessions.c.id_hash == id_hash)).first()
    return _session(row) if row else None


def sessions_of(conn: sa.Connection, user_id: int) -> list[WebSession]:
    query = (
        _select_sessions()
        .where(t.web_sessions.c.user_id == user_id)
        .order_by(t.web_sessions.c.last_seen_at.desc())
    )
    return [_session(row) for row in conn.execute(query)]


def touch_session(conn: sa.Connection, id_hash: str, at: datetime) -> None:
    s = t.web_sessions
    conn.execute(s.update().where(s.c.id_hash == id_hash).values(last_seen_at=at))


def delete_sessions(
    conn: sa.Connection, *, id_hash: str | None = None, user_id: int | None = None
) -> int:
    """Ends one session (``id_hash``) or every session of a user."""
    s = t.web_sessions
    query = s.delete()
    if id_hash is not None:
        query = query.where(s.c.id_hash == id_hash)
    if user_id is not None:
        query = query.where(s.c.user_id == user_id)
    return conn.execute(query).rowcount


def delete_expired(conn: sa.Connection, now: datetime) -> int:
    s = t.web_sessions
    return conn.execute(s.delete().where(s.c.expires_at <= now)).rowcount
