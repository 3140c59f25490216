"""Accounts as the API shows them, with their tracking status and tracking script."""

from __future__ import annotations

from dataclasses import dataclass

from openfeeder.domain.models import Account, TrackingStatus, User
from openfeeder.store import accounts as store
from openfeeder.store.db import Database


@dataclass(frozen=True)
class AccountView:
    account: Account
    tracking_status: TrackingStatus


def _status(has_visit: bool, has_hit: bool) -> TrackingStatus:
    if has_visit:
        return "ok"
    return "reporting" if has_hit else "not_installed"


def views(db: Database, accounts: list[Account]) -> list[AccountView]:
    with db.read() as conn:
        states = store.tracking_states(conn, [a.id for a in accounts])
    return [AccountView(a, _status(*states.get(a.id, (False, False)))) for a in accounts]


def accounts_of_user(db: Database, user: User) -> list[Account]:
    """The accounts the user is a member of, by id (no tracking status: one query)."""
    with db.read() as conn:
        return store.accounts_of_user(conn, user.id)


def list_for_user(db: Database, user: User) -> list[AccountView]:
    return views(db, accounts_of_user(db, user))


def tracker_url(public_url: str, script_hash: str) -> str:
    return f"{public_url.rstrip('/')}/lftracker_v1_{script_hash}.js"


def script_html(public_url: str, script_hash: str) -> str:
    """The embed snippet: the seed's loader, pointing at this server's tracker."""
    base = public_url.rstrip("/")
    return (
        "<script>(function(ss,ex){window.ldfdr=window.ldfdr||function(){(ldfdr._q=ldfdr._q||[])"
        ".push([].slice.call(arguments));};(function(d,s){fs=d.getElementsByTagName(s)[0];"
        "function ce(src){var cs=d.createElement(s);cs.src=src;cs.async=1;"
        "fs.parentNode.insertBefore(cs,fs);};ce('" + base + "/lftracker_v1_'+ss+(ex?'_'+ex:'')"
        "+'.js');})(document,'script');})('" + script_hash + "');</script>"
    )
