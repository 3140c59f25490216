"""Traffic rules (the account's own office ranges, excluded countries, excluded host names:
the identifier's first step drops their visits; hidden companies: their leads leave every
lead list, their visits are still recorded) and the tracking settings page's facts. Only an
account's admins change its rules."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from ipaddress import ip_network

from openfeeder.domain.errors import BadRequest, Forbidden, NotFound
from openfeeder.domain.models import Account, Lead, User
from openfeeder.identify.rdns import valid_hostname
from openfeeder.store import traffic as store
from openfeeder.store import web
from openfeeder.store.db import Database
from openfeeder.store.traffic import Rule

KINDS = ("ip_range", "country", "hostname", "company")
MAX_RULES = 500


@dataclass(frozen=True)
class Tracking:
    last_hit_at: datetime | None
    last_visit_at: datetime | None


def is_admin(db: Database, account: Account, user: User) -> bool:
    with db.read() as conn:
        return web.role_of(conn, user.id, account.id) == "admin"


def require_admin(db: Database, account: Account, user: User) -> None:
    if not is_admin(db, account, user):
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
    if kind == "company":
        name = text.lower().strip(".")
        if valid_hostname(name):
            return name
        if 0 < len(text) <= 36 and text.isascii() and text.isprintable() and " " not in text:
            return text  # a company's id (add_rule checks that there is one)
        raise BadRequest("A hidden company is its domain (e.g. example.com) or its company id.")
    raise BadRequest(f"A rule is one of: {', '.join(KINDS)}.")


def rules(db: Database, account: Account) -> list[Rule]:
    with db.read() as conn:
        return store.rules_of(conn, account.id)


def add_rule(db: Database, account: Account, kind: str, value: str) -> str:
    stored = normalised(kind, value)
    with db.write() as conn:
        if store.rule_count(conn, account.id) >= MAX_RULES:
            raise BadRequest(f"An account has at most {MAX_RULES} traffic rules.")
        unknown = kind == "company" and not valid_hostname(stored)
        if unknown and not store.company_exists(conn, stored):
            raise BadRequest(f"{stored!r} is neither a domain nor a known company's id.")
        store.add_rule(conn, account.id, kind, stored)
        if kind == "company":
            store.sync_hidden(conn, account.id, [stored])
    return stored


def delete_rule(db: Database, account: Account, rule_id: int) -> None:
    with db.write() as conn:
        rule = store.delete_rule(conn, account.id, rule_id)
        if rule is None:
            raise NotFound(f"There is no traffic rule {rule_id} in this account.")
        if rule.kind == "company":
            store.sync_hidden(conn, account.id, [rule.value])


def company_rule_value(lead: Lead) -> str:
    """What hiding this lead's company stores: its domain, or its id when it has none (a
    domain also covers the same company's other records and any future ones)."""
    return lead.company.domain.lower() if lead.company.domain else lead.company.id


def hide_company(db: Database, account: Account, user: User, lead: Lead) -> None:
    """The lead page's "Hide this company": a company rule (admins only)."""
    require_admin(db, account, user)
    add_rule(db, account, "company", company_rule_value(lead))


def unhide_company(db: Database, account: Account, user: User, lead: Lead) -> None:
    """Removes every company rule that hides this lead's company (its domain's and its
    id's), so the lead is back in the lists at once with every visit, those made while it
    was hidden included."""
    require_admin(db, account, user)
    values = sorted({v for v in (lead.company.domain, lead.company.id) if v})
    with db.write() as conn:
        store.delete_company_rules(conn, account.id, values)
        store.sync_hidden(conn, account.id, values)


def tracking(db: Database, account: Account) -> Tracking:
    with db.read() as conn:
        return Tracking(*store.last_heard(conn, account.id))
