"""Operator use cases: users, accounts, memberships and API tokens (the CLI's admin commands).

Each raises ``domain.errors`` with a message fit to show an operator as it is: bad input →
``BadRequest``, a user/account/token that does not exist → ``NotFound``, a duplicate →
``Conflict``. Clear tokens leave this module once, from ``create_token``; only their hash
and a four-character hint are stored.
"""

from __future__ import annotations

import re
import zoneinfo
from dataclasses import dataclass
from datetime import datetime
from functools import cache

import sqlalchemy as sa

from openfeeder.domain.errors import BadRequest, Conflict, NotFound
from openfeeder.domain.ids import hash_token, new_api_token, new_script_hash
from openfeeder.domain.models import Account, Subscription, User
from openfeeder.store import accounts as store
from openfeeder.store.db import Database

SUBSCRIPTIONS: tuple[Subscription, ...] = ("lite", "premium")
MAX_EMAIL = 320
MAX_NAME = 200
HINT_LENGTH = 4
# Deliberately loose: one "@" with something on both sides and no spaces. Operators use
# addresses like admin@localhost; delivery is not our concern, identity is.
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+")


@dataclass(frozen=True)
class TokenInfo:
    """What may be shown about a token after creation: never the token itself."""

    id: int
    hint: str
    disabled: bool
    created_at: datetime


def normalize_email(email: str) -> str:
    """Emails identify users case-insensitively; they are stored trimmed and lower-cased."""
    cleaned = email.strip().lower()
    if len(cleaned) > MAX_EMAIL or not _EMAIL.fullmatch(cleaned):
        raise BadRequest(f"{email!r} is not an email address.", parameter="email")
    return cleaned


def check_name(value: str, what: str) -> str:
    cleaned = value.strip()
    if not cleaned:
        raise BadRequest(f"The {what} name must not be empty.", parameter="name")
    if len(cleaned) > MAX_NAME:
        raise BadRequest(f"The {what} name is longer than {MAX_NAME} characters.", parameter="name")
    return cleaned


# Files in the system zone directory that are not zone names an account should carry.
_NOT_ZONES = frozenset({"localtime", "posixrules", "Factory"})


@cache
def _timezones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones()) - _NOT_ZONES


@cache
def timezones() -> tuple[str, ...]:
    """Every time zone an account may carry, sorted (for a picker)."""
    return tuple(sorted(_timezones()))


def validate_timezone(timezone: str) -> str:
    # A set lookup rather than ZoneInfo(key), which fails four different ways on bad keys
    # (ValueError, KeyError, IsADirectoryError for "America", …).
    if timezone not in _timezones():
        raise BadRequest(
            f"{timezone!r} is not an IANA time zone (e.g. Europe/Helsinki, America/New_York, UTC).",
            parameter="timezone",
        )
    return timezone


def create_user(db: Database, email: str, name: str | None = None) -> User:
    """A new user; ``name`` defaults to the part of the email before the "@"."""
    address = normalize_email(email)
    display = check_name(name if name is not None else address.split("@", 1)[0], "user")
    with db.write() as conn:
        if store.user_by_email(conn, address) is not None:
            raise Conflict(f"A user with email {address} already exists.", parameter="email")
        try:
            return store.create_user(conn, address, display)
        except sa.exc.IntegrityError:
            # Another process created the same email between the check and the insert.
            raise Conflict(
                f"A user with email {address} already exists.", parameter="email"
            ) from None


def get_user(db: Database, email: str) -> User:
    address = normalize_email(email)
    with db.read() as conn:
        user = store.user_by_email(conn, address)
    if user is None:
        raise NotFound(f"No user has the email {address}.", parameter="email")
    return user


def create_account(
    db: Database,
    *,
    name: str,
    subscription: str = "premium",
    timezone: str = "UTC",
    on_trial: bool = False,
) -> Account:
    """A new account with its own tracking script hash; add members with ``add_member``."""
    display = check_name(name, "account")
    if subscription not in SUBSCRIPTIONS:
        raise BadRequest(
            f"subscription must be one of: {', '.join(SUBSCRIPTIONS)}.", parameter="subscription"
        )
    zone = validate_timezone(timezone)
    with db.write() as conn:
        return store.create_account(
            conn,
            name=display,
            subscription=subscription,
            timezone=zone,
            script_hash=new_script_hash(),
            on_trial=on_trial,
        )


def get_account(db: Database, account_id: int) -> Account:
    with db.read() as conn:
        account = store.get_account(conn, account_id)
    if account is None:
        raise NotFound(f"Account {account_id} does not exist.", parameter="account")
    return account


def add_member(db: Database, email: str, account_id: int) -> Account:
    """Let the user see the account (through the API, dashboard and exports)."""
    address = normalize_email(email)
    with db.write() as conn:
        user = store.user_by_email(conn, address)
        if user is None:
            raise NotFound(f"No user has the email {address}.", parameter="user")
        account = store.get_account(conn, account_id)
        if account is None:
            raise NotFound(f"Account {account_id} does not exist.", parameter="account")
        if store.is_member(conn, user.id, account_id):
            raise Conflict(
                f"{address} is already a member of account {account_id}.", parameter="account"
            )
        store.add_member(conn, user.id, account_id)
    return account


def create_token(db: Database, email: str) -> tuple[int, str]:
    """A new API token for the user: ``(token_id, clear_token)``; the clear token is not kept."""
    address = normalize_email(email)
    token = new_api_token()
    with db.write() as conn:
        user = store.user_by_email(conn, address)
        if user is None:
            raise NotFound(f"No user has the email {address}.", parameter="user")
        token_id = store.create_token(conn, user.id, hash_token(token), token[-HINT_LENGTH:])
    return token_id, token


def disable_token(db: Database, token_id: int) -> None:
    """Requests with the token get 403 from now on; disabling twice is not an error."""
    with db.write() as conn:
        if not store.set_token_disabled(conn, token_id, True):
            raise NotFound(f"Token {token_id} does not exist.", parameter="id")


def list_tokens(db: Database, email: str) -> list[TokenInfo]:
    user = get_user(db, email)
    with db.read() as conn:
        rows = store.list_tokens(conn, user.id)
    return [TokenInfo(row["id"], row["hint"], row["disabled"], row["created_at"]) for row in rows]
