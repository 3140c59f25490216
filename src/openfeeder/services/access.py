"""Who is asking and what they may see: token authentication and account access."""

from __future__ import annotations

from openfeeder.domain.errors import Forbidden, PremiumRequired, Unauthorized
from openfeeder.domain.ids import MAX_ROW_ID, hash_token, whole_number
from openfeeder.domain.models import Account, User
from openfeeder.store import accounts as store
from openfeeder.store.db import Database


def authenticate(db: Database, token: str | None) -> User:
    if not token:
        raise Unauthorized("An API token is required: Authorization: Token token=<token>")
    with db.read() as conn:
        found = store.token_owner(conn, hash_token(token))
    if found is None:
        raise Unauthorized("The API token is not valid.")
    user, disabled = found
    if disabled:
        raise Forbidden("The API token has been disabled.")
    return user


def account_for(db: Database, user: User, account_id: str) -> Account:
    """The account if the user is a member; 403 otherwise, whether or not it exists."""
    denied = Forbidden("You do not have access to this account.")
    number = whole_number(account_id)
    if number is None or number > MAX_ROW_ID:
        raise denied
    with db.read() as conn:
        account = store.account_of_member(conn, user.id, number)
    if account is None:
        raise denied
    return account


def require_premium(account: Account) -> None:
    if not account.premium_features:
        raise PremiumRequired("This feature requires a Premium subscription or an active trial.")
