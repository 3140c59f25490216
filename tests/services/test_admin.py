"""Operator use cases (services/admin.py) on both backends: users, accounts, members, tokens."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from openfeeder.domain.errors import BadRequest, Conflict, Forbidden, NotFound
from openfeeder.domain.ids import hash_token
from openfeeder.services import access, admin
from openfeeder.store import schema as t
from openfeeder.store.db import Database


def test_create_user_normalises_email_and_defaults_the_name(db: Database) -> None:
    user = admin.create_user(db, "  Anna.Lindqvist@Example.COM ")
    assert user.email == "anna.lindqvist@example.com"
    assert user.name == "anna.lindqvist"
    assert admin.get_user(db, "ANNA.LINDQVIST@example.com") == user
    named = admin.create_user(db, "ben@example.com", "Ben Carter")
    assert named.name == "Ben Carter"


def test_duplicate_email_is_a_conflict_whatever_its_case(db: Database) -> None:
    admin.create_user(db, "anna@example.com")
    with pytest.raises(Conflict, match=re.escape("anna@example.com already exists")):
        admin.create_user(db, "ANNA@example.com")


@pytest.mark.parametrize("email", ["", "anna", "anna@", "@example.com", "a b@example.com"])
def test_malformed_email_is_a_bad_request(db: Database, email: str) -> None:
    with pytest.raises(BadRequest, match="is not an email address"):
        admin.create_user(db, email)


def test_empty_user_name_is_a_bad_request(db: Database) -> None:
    with pytest.raises(BadRequest, match="must not be empty"):
        admin.create_user(db, "anna@example.com", "   ")


def test_unknown_user_is_not_found(db: Database) -> None:
    with pytest.raises(NotFound, match=re.escape("nobody@example.com")):
        admin.get_user(db, "nobody@example.com")


def test_create_account(db: Database) -> None:
    account = admin.create_account(
        db, name=" Sample website ", subscription="lite", timezone="America/New_York", on_trial=True
    )
    assert (account.name, account.subscription, account.timezone, account.on_trial) == (
        "Sample website",
        "lite",
        "America/New_York",
        True,
    )
    assert len(account.script_hash) == 16
    other = admin.create_account(db, name="Other")
    assert (other.subscription, other.timezone, other.on_trial) == ("premium", "UTC", False)
    assert other.script_hash != account.script_hash
    assert admin.get_account(db, account.id) == account


@pytest.mark.parametrize("timezone", ["Mars/Olympus_Mons", "America", "../etc/passwd", "", "utc"])
def test_unknown_timezone_is_a_bad_request(db: Database, timezone: str) -> None:
    with pytest.raises(BadRequest, match="is not an IANA time zone"):
        admin.create_account(db, name="A", timezone=timezone)


def test_bad_subscription_and_name_are_bad_requests(db: Database) -> None:
    with pytest.raises(BadRequest, match="subscription must be one of: lite, premium"):
        admin.create_account(db, name="A", subscription="gold")
    with pytest.raises(BadRequest, match="must not be empty"):
        admin.create_account(db, name=" ")
    with pytest.raises(BadRequest, match="longer than 200"):
        admin.create_account(db, name="x" * 201)


def test_add_member(db: Database) -> None:
    user = admin.create_user(db, "anna@example.com")
    account = admin.create_account(db, name="Sample")
    assert admin.add_member(db, "Anna@example.com", account.id) == account
    token_id, token = admin.create_token(db, user.email)
    assert token_id > 0
    assert access.account_for(db, access.authenticate(db, token), str(account.id)) == account
    with pytest.raises(Conflict, match="already a member of account"):
        admin.add_member(db, user.email, account.id)


def test_add_member_needs_an_existing_user_and_account(db: Database) -> None:
    admin.create_user(db, "anna@example.com")
    account = admin.create_account(db, name="Sample")
    with pytest.raises(NotFound, match=re.escape("No user has the email ben@example.com")):
        admin.add_member(db, "ben@example.com", account.id)
    with pytest.raises(NotFound, match="Account 999999 does not exist"):
        admin.add_member(db, "anna@example.com", 999_999)


def test_tokens_are_stored_hashed_and_listed_without_the_token(db: Database) -> None:
    user = admin.create_user(db, "anna@example.com")
    first_id, first = admin.create_token(db, user.email)
    second_id, second = admin.create_token(db, user.email)
    assert first != second
    assert len(first) >= 40
    with db.read() as conn:
        stored = conn.execute(sa.select(t.api_tokens.c.token_hash, t.api_tokens.c.hint)).all()
    assert sorted(stored) == sorted(
        [(hash_token(first), first[-4:]), (hash_token(second), second[-4:])]
    )
    assert access.authenticate(db, first) == user

    infos = admin.list_tokens(db, user.email)
    assert [(i.id, i.hint, i.disabled) for i in infos] == [
        (first_id, first[-4:], False),
        (second_id, second[-4:], False),
    ]
    assert all(i.created_at.tzinfo is not None for i in infos)


def test_disabled_token_is_forbidden(db: Database) -> None:
    user = admin.create_user(db, "anna@example.com")
    token_id, token = admin.create_token(db, user.email)
    admin.disable_token(db, token_id)
    admin.disable_token(db, token_id)  # twice is fine
    with pytest.raises(Forbidden):
        access.authenticate(db, token)
    assert [i.disabled for i in admin.list_tokens(db, user.email)] == [True]


def test_token_operations_on_missing_things_are_not_found(db: Database) -> None:
    with pytest.raises(NotFound, match=re.escape("No user has the email nobody@example.com")):
        admin.create_token(db, "nobody@example.com")
    with pytest.raises(NotFound, match="No user"):
        admin.list_tokens(db, "nobody@example.com")
    with pytest.raises(NotFound, match="Token 424242 does not exist"):
        admin.disable_token(db, 424_242)
