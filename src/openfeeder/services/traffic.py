"""Traffic rules (the account's own office ranges, excluded countries, excluded host names:
the identifier's first step drops their visits) and the tracking settings page's facts.
Only an account's admins change its rules."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from ipaddress import ip_network

from openfeeder.domain.errors import BadRequest, Forbidden, NotFound
from openfeeder.domain.models import Account, User
from openfeeder.identify.rdns import valid_hostname
from openfeeder.store import traffic as store
from openfeeder.store import web
from openfeeder.store.db import Database
from openfeeder.store.traffic import Rule

KINDS = ("ip_range", "country", "hostname")
MAX_RULES = 500


@dataclass(frozen=True)
class Tracking:
    last_hit_at: datetime | None
    last_visit_at: datetime | None


def require_admin(db: Database, account: Account, user: User) -> None:
    with db.read() as conn:
        role = web.role_of(conn, user.id, account.id)
    if role != "admin":
        raise Forbidden("Only the account's admins can change its settings.")


def normalised(kind: str, value: str) -> str:
    """The rule's value as it is stored, or BadRequest saying what is wrong with it."""
    text = value.strip()
    if kind == "ip_range":
        try:
            return str(ip_network(text, strict=False))
        except ValueError:
            raise BadRequest(f"{text[:60]!r} is not an IP address or network (CIDR).") from None
    if kind == "country":
        if len(text) != 2 or not text.isascii() or not text.isalpha():
            raise BadRequest("A country is its two-letter ISO code, e.g. FI.")
        return text.upper()
    if kind == "hostname":
        name = text.lower().strip(".").removeprefix("*.")
        if not valid_hostname(name):
            raise BadRequest(f"{text[:60]!r} is not a host name (e.g. example.com).")
        return name
    raise BadRequest(f"A rule is one of: {', '.join(KINDS)}.")


def rules(db: Database, account: Account) -> list[Rule]:
    with db.read() as conn:
        return store.rules_of(conn, account.id)


def add_rule(db: Database, account: Account, kind: str, value: str) -> str:
    stored = normalised(kind, value)
    with db.write() as conn:
        if len(store.rules_of(conn, account.id)) >= MAX_RULES:
            raise BadRequest(f"An account has at most {MAX_RULES} traffic rules.")
        store.add_rule(conn, account.id, kind, stored)
    return stored


def delete_rule(db: Database, account: Account, rule_id: int) -> None:
    with db.write() as conn:
        if not store.delete_rule(conn, account.id, rule_id):
            raise NotFound(f"There is no traffic rule {rule_id} in this account.")


def tracking(db: Database, account: Account) -> Tracking:
    with db.read() as conn:
        return Tracking(*store.last_heard(conn, account.id))
