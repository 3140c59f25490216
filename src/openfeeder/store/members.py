"""An account's people: memberships with their roles, invitations, the API tokens of its
members, the account's own settings, and a user's password and sessions seen from their page."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from openfeeder.domain.models import User
from openfeeder.store import schema as t


@dataclass(frozen=True)
class Membership:
    user: User
    role: str


@dataclass(frozen=True)
class Invitation:
    id: int
    account_id: int
    account_name: str
    email: str
    role: str
    inviter: str | None  # the inviter's name, if they still exist
    created_at: datetime
    expires_at: datetime
    accepted_at: datetime | None
    revoked_at: datetime | None


@dataclass(frozen=True)
class Token:
    id: int
    owner: User
    name: str | None
    hint: str
    disabled: bool
    created_at: datetime


# ── memberships ──


def members_of(conn: sa.Connection, account_id: int) -> list[Membership]:
    m, u = t.memberships.c, t.users.c
    rows = conn.execute(
        sa.select(u.id, u.email, u.name, m.role)
        .join(t.memberships, m.user_id == u.id)
        .where(m.account_id == account_id)
        .order_by(u.name, u.email)
    )
    return [Membership(User(row.id, row.email, row.name), row.role) for row in rows]


def admins_of(conn: sa.Connection, account_id: int) -> int:
    m = t.memberships.c
    query = sa.select(sa.func.count()).where(m.account_id == account_id, m.role == "admin")
    return int(conn.execute(query).scalar_one())


def add_membership(conn: sa.Connection, user_id: int, account_id: int, role: str) -> bool:
    """Makes the user a member with ``role``; False (and no change) if they already are one."""
    m = t.memberships.c
    exists = sa.select(sa.literal(1)).where(m.user_id == user_id, m.account_id == account_id)
    if conn.execute(exists).first() is not None:
        return False
    conn.execute(t.memberships.insert().values(user_id=user_id, account_id=account_id, role=role))
    return True


def set_role(conn: sa.Connection, account_id: int, user_id: int, role: str) -> bool:
    m = t.memberships
    query = m.update().where(m.c.account_id == account_id, m.c.user_id == user_id)
    return bool(conn.execute(query.values(role=role)).rowcount)


def remove_membership(conn: sa.Connection, account_id: int, user_id: int) -> bool:
    m = t.memberships
    query = m.delete().where(m.c.account_id == account_id, m.c.user_id == user_id)
    return bool(conn.execute(query).rowcount)


# ── invitations ──


def create_invitation(
    conn: sa.Connection,
    *,
    token_hash: str,
    account_id: int,
    email: str,
    role: str,
    inviter_id: int | None,
    created_at: datetime,
    expires_at: datetime,
) -> int:
    query = (
        t.invitations.insert()
        .values(
            token_hash=token_hash,
            account_id=account_id,
            email=email,
            role=role,
            inviter_id=inviter_id,
            created_at=created_at,
            expires_at=expires_at,
        )
        .returning(t.invitations.c.id)
    )
    return int(conn.execute(query).scalar_one())


def _select_invitations() -> sa.Select[tuple[object, ...]]:
    i = t.invitations.c
    return (
        sa.select(
            i.id,
            i.account_id,
            t.accounts.c.name.label("account_name"),
            i.email,
            i.role,
            t.users.c.name.label("inviter"),
            i.created_at,
            i.expires_at,
            i.accepted_at,
            i.revoked_at,
        )
        .join(t.accounts, t.accounts.c.id == i.account_id)
        .outerjoin(t.users, t.users.c.id == i.inviter_id)
    )


def _invitation(row: sa.Row[tuple[object, ...]]) -> Invitation:
    return Invitation(**row._mapping)


def invitation_by_hash(conn: sa.Connection, token_hash: str) -> Invitation | None:
    query = _select_invitations().where(t.invitations.c.token_hash == token_hash)
    row = conn.execute(query).first()
    return _invitation(row) if row else None


def pending_invitations(conn: sa.Connection, account_id: int, now: datetime) -> list[Invitation]:
    i = t.invitations.c
    query = (
        _select_invitations()
        .where(
            i.account_id == account_id,
            i.accepted_at.is_(None),
            i.revoked_at.is_(None),
            i.expires_at > now,
        )
        .order_by(i.created_at.desc(), i.id.desc())
    )
    return [_invitation(row) for row in conn.execute(query)]


def _open(account_id: int) -> list[sa.ColumnElement[bool]]:
    i = t.invitations.c
    return [i.account_id == account_id, i.accepted_at.is_(None), i.revoked_at.is_(None)]


def revoke_invitations(
    conn: sa.Connection,
    account_id: int,
    now: datetime,
    *,
    invitation_id: int | None = None,
    email: str | None = None,
) -> int:
    """Revokes the account's open invitation ``invitation_id``, or all those to ``email``."""
    i = t.invitations
    query = i.update().where(*_open(account_id))
    if invitation_id is not None:
        query = query.where(i.c.id == invitation_id)
    if email is not None:
        query = query.where(i.c.email == email)
    return int(conn.execute(query.values(revoked_at=now)).rowcount)


def mark_accepted(conn: sa.Connection, invitation: Invitation, now: datetime) -> bool:
    """Marks the invitation used, once: False when it was already accepted or revoked (two
    people racing with the same link get one membership)."""
    i = t.invitations
    query = i.update().where(i.c.id == invitation.id, *_open(invitation.account_id))
    return bool(conn.execute(query.values(accepted_at=now)).rowcount)


# ── API tokens of an account's members ──


def tokens_of_members(conn: sa.Connection, account_id: int) -> list[Token]:
    k, u, m = t.api_tokens.c, t.users.c, t.memberships.c
    rows = conn.execute(
        sa.select(
            k.id,
            k.name,
            k.hint,
            k.disabled,
            k.created_at,
            u.id.label("user_id"),
            u.email,
            u.name.label("user_name"),
        )
        .join(t.users, u.id == k.user_id)
        .join(t.memberships, m.user_id == u.id)
        .where(m.account_id == account_id)
        .order_by(k.disabled, k.created_at.desc(), k.id.desc())
    )
    return [
        Token(
            row.id,
            User(row.user_id, row.email, row.user_name),
            row.name,
            row.hint,
            row.disabled,
            row.created_at,
        )
        for row in rows
    ]


def disable_member_token(conn: sa.Connection, account_id: int, token_id: int) -> bool:
    """Disables the token if its owner is a member of the account."""
    k, m = t.api_tokens, t.memberships.c
    owner_is_member = (
        sa.select(sa.literal(1))
        .where(m.user_id == k.c.user_id, m.account_id == account_id)
        .exists()
    )
    query = k.update().where(k.c.id == token_id, owner_is_member).values(disabled=True)
    return bool(conn.execute(query).rowcount)


# ── the account's own settings ──


def update_account(conn: sa.Connection, account_id: int, *, name: str, timezone: str) -> bool:
    a = t.accounts
    query = a.update().where(a.c.id == account_id).values(name=name, timezone=timezone)
    return bool(conn.execute(query).rowcount)


# ── a user's own page ──


def end_sessions(
    conn: sa.Connection, user_id: int, *, only: str | None = None, keep: str | None = None
) -> int:
    """Ends the user's session ``only`` (its id hash), or all of theirs but ``keep``."""
    s = t.web_sessions
    query = s.delete().where(s.c.user_id == user_id)
    if only is not None:
        query = query.where(s.c.id_hash == only)
    if keep is not None:
        query = query.where(s.c.id_hash != keep)
    return int(conn.execute(query).rowcount)


def password_hash_of(conn: sa.Connection, user_id: int) -> str | None:
    query = sa.select(t.users.c.password_hash).where(t.users.c.id == user_id)
    return conn.execute(query).scalar_one_or_none()
