"""Users, API tokens, accounts, memberships, custom feeds and tracking status."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa

from openfeeder.domain.clock import SYSTEM_CLOCK, Clock
from openfeeder.domain.models import Account, User
from openfeeder.store import schema as t


def now() -> datetime:
    # The company and identification stores still stamp rows with this; they take a clock
    # of their own once they are moved.
    return SYSTEM_CLOCK.now()


def create_user(conn: sa.Connection, email: str, name: str, *, clock: Clock = SYSTEM_CLOCK) -> User:
    user_id = conn.execute(
        t.users.insert()
        .values(email=email, name=name, created_at=clock.now())
        .returning(t.users.c.id)
    ).scalar_one()
    return User(user_id, email, name)


def user_by_email(conn: sa.Connection, email: str) -> User | None:
    row = conn.execute(sa.select(t.users).where(t.users.c.email == email)).first()
    return User(row.id, row.email, row.name) if row else None


def create_token(
    conn: sa.Connection,
    user_id: int,
    token_hash: str,
    hint: str,
    *,
    clock: Clock = SYSTEM_CLOCK,
    name: str | None = None,
) -> int:
    return int(
        conn.execute(
            t.api_tokens.insert()
            .values(
                user_id=user_id,
                token_hash=token_hash,
                hint=hint,
                disabled=False,
                created_at=clock.now(),
                name=name,
            )
            .returning(t.api_tokens.c.id)
        ).scalar_one()
    )


def token_owner(conn: sa.Connection, token_hash: str) -> tuple[User, bool] | None:
    """The user a token belongs to and whether the token is disabled."""
    row = conn.execute(
        sa.select(t.users, t.api_tokens.c.disabled)
        .join(t.api_tokens, t.api_tokens.c.user_id == t.users.c.id)
        .where(t.api_tokens.c.token_hash == token_hash)
    ).first()
    return (User(row.id, row.email, row.name), row.disabled) if row else None


def set_token_disabled(conn: sa.Connection, token_id: int, disabled: bool) -> bool:
    result = conn.execute(
        t.api_tokens.update().where(t.api_tokens.c.id == token_id).values(disabled=disabled)
    )
    return result.rowcount == 1


def list_tokens(conn: sa.Connection, user_id: int) -> list[dict[str, Any]]:
    rows = conn.execute(
        sa.select(
            t.api_tokens.c.id,
            t.api_tokens.c.hint,
            t.api_tokens.c.disabled,
            t.api_tokens.c.created_at,
        )
        .where(t.api_tokens.c.user_id == user_id)
        .order_by(t.api_tokens.c.id)
    )
    return [dict(row._mapping) for row in rows]


def create_account(
    conn: sa.Connection,
    *,
    name: str,
    subscription: str,
    timezone: str,
    script_hash: str,
    on_trial: bool = False,
    addons: list[str] | None = None,
    account_id: int | None = None,
    clock: Clock = SYSTEM_CLOCK,
) -> Account:
    values: dict[str, Any] = {
        "name": name,
        "subscription": subscription,
        "timezone": timezone,
        "script_hash": script_hash,
        "on_trial": on_trial,
        "subscription_addons": addons or [],
        "created_at": clock.now(),
    }
    if account_id is not None:
        values["id"] = account_id
    new_id = conn.execute(t.accounts.insert().values(values).returning(t.accounts.c.id))
    account = get_account(conn, new_id.scalar_one())
    assert account is not None
    return account


def _account(row: Any) -> Account:
    return Account(
        id=row.id,
        name=row.name,
        subscription=row.subscription,
        on_trial=row.on_trial,
        subscription_addons=list(row.subscription_addons),
        timezone=row.timezone,
        script_hash=row.script_hash,
    )


def get_account(conn: sa.Connection, account_id: int) -> Account | None:
    row = conn.execute(sa.select(t.accounts).where(t.accounts.c.id == account_id)).first()
    return _account(row) if row else None


def account_by_script(conn: sa.Connection, script_hash: str) -> Account | None:
    row = conn.execute(sa.select(t.accounts).where(t.accounts.c.script_hash == script_hash)).first()
    return _account(row) if row else None


def accounts_of_user(conn: sa.Connection, user_id: int) -> list[Account]:
    rows = conn.execute(
        sa.select(t.accounts)
        .join(t.memberships, t.memberships.c.account_id == t.accounts.c.id)
        .where(t.memberships.c.user_id == user_id)
        .order_by(t.accounts.c.id)
    )
    return [_account(row) for row in rows]


def is_member(conn: sa.Connection, user_id: int, account_id: int) -> bool:
    query = sa.select(sa.literal(1)).where(
        t.memberships.c.user_id == user_id, t.memberships.c.account_id == account_id
    )
    return conn.execute(query).first() is not None


def account_of_member(conn: sa.Connection, user_id: int, account_id: int) -> Account | None:
    """The account if the user is a member of it; None otherwise (missing or not theirs)."""
    row = conn.execute(
        sa.select(t.accounts)
        .join(t.memberships, t.memberships.c.account_id == t.accounts.c.id)
        .where(t.memberships.c.user_id == user_id, t.accounts.c.id == account_id)
    ).first()
    return _account(row) if row else None


def add_member(conn: sa.Connection, user_id: int, account_id: int) -> None:
    exists = is_member(conn, user_id, account_id)
    if not exists:
        conn.execute(t.memberships.insert().values(user_id=user_id, account_id=account_id))


def tracking_states(conn: sa.Connection, account_ids: list[int]) -> dict[int, tuple[bool, bool]]:
    """Per account: (has processed visits, has any tracker hit)."""
    if not account_ids:
        return {}
    has_visit = sa.exists().where(t.visits.c.account_id == t.accounts.c.id)
    has_hit = sa.exists().where(t.hits.c.account_id == t.accounts.c.id)
    rows = conn.execute(
        sa.select(t.accounts.c.id, has_visit, has_hit).where(t.accounts.c.id.in_(account_ids))
    )
    return {row[0]: (bool(row[1]), bool(row[2])) for row in rows}


def list_feeds(conn: sa.Connection, account_id: int) -> list[dict[str, Any]]:
    rows = conn.execute(
        sa.select(t.custom_feeds)
        .where(t.custom_feeds.c.account_id == account_id)
        .order_by(t.custom_feeds.c.id)
    )
    return [dict(row._mapping) for row in rows]


def create_feed(
    conn: sa.Connection, account_id: int, name: str, criteria: list[dict[str, Any]]
) -> int:
    return int(
        conn.execute(
            t.custom_feeds.insert()
            .values(account_id=account_id, name=name, criteria=criteria)
            .returning(t.custom_feeds.c.id)
        ).scalar_one()
    )


def update_feed(
    conn: sa.Connection, account_id: int, feed_id: int, name: str, criteria: list[dict[str, Any]]
) -> bool:
    f = t.custom_feeds
    query = (
        f.update()
        .where(f.c.account_id == account_id, f.c.id == feed_id)
        .values(name=name, criteria=criteria)
    )
    return bool(conn.execute(query).rowcount)


def delete_feed(conn: sa.Connection, account_id: int, feed_id: int) -> bool:
    f = t.custom_feeds
    query = f.delete().where(f.c.account_id == account_id, f.c.id == feed_id)
    return bool(conn.execute(query).rowcount)
