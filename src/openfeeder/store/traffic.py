"""An account's traffic rules as people manage them, the ``hidden`` flag of leads that its
company rules keep in step, and when its tracker was last heard."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from openfeeder.store import schema as t
from openfeeder.store.upsert import insert_ignore


@dataclass(frozen=True)
class Rule:
    id: int
    kind: str  # ip_range, country, hostname or company
    value: str
    # For a company rule: the names of the account's lead companies it hides (none for a
    # domain no company of which has visited yet).
    companies: tuple[str, ...] = ()


def rules_of(conn: sa.Connection, account_id: int) -> list[Rule]:
    r = t.traffic_rules.c
    query = (
        sa.select(r.id, r.kind, r.value).where(r.account_id == account_id).order_by(r.kind, r.value)
    )
    found = [Rule(*row) for row in conn.execute(query)]
    values = [rule.value for rule in found if rule.kind == "company"]
    if not values:
        return found
    c, leads = t.companies.c, t.leads.c
    names: dict[str, list[str]] = {}
    # Only companies that are leads of this account: the company database is shared, and
    # another account's visitors are none of this one's business.
    own = sa.select(leads.company_id).where(leads.account_id == account_id)
    by = (
        sa.select(c.id, c.domain, c.name).where(_company_is(values), c.id.in_(own)).order_by(c.name)
    )
    for company_id, domain, name in conn.execute(by):
        for key in {company_id, domain}:
            names.setdefault(key, []).append(name)
    return [
        Rule(rule.id, rule.kind, rule.value, tuple(names.get(rule.value, ())))
        if rule.kind == "company"
        else rule
        for rule in found
    ]


def rule_count(conn: sa.Connection, account_id: int) -> int:
    r = t.traffic_rules.c
    query = sa.select(sa.func.count()).where(r.account_id == account_id)
    return int(conn.execute(query).scalar_one())


def company_exists(conn: sa.Connection, company_id: str) -> bool:
    c = t.companies.c
    return conn.execute(sa.select(c.id).where(c.id == company_id)).first() is not None


def add_rule(conn: sa.Connection, account_id: int, kind: str, value: str) -> None:
    """Adds the rule; one the account already has stays as it is."""
    row = {"account_id": account_id, "kind": kind, "value": value}
    insert_ignore(conn, t.traffic_rules, [row], ["account_id", "kind", "value"])


def delete_rule(conn: sa.Connection, account_id: int, rule_id: int) -> Rule | None:
    """Removes the rule; the rule it was, or None when the account has no such rule."""
    r = t.traffic_rules
    query = (
        r.delete()
        .where(r.c.account_id == account_id, r.c.id == rule_id)
        .returning(r.c.id, r.c.kind, r.c.value)
    )
    row = conn.execute(query).first()
    return Rule(*row) if row else None


def delete_company_rules(conn: sa.Connection, account_id: int, values: list[str]) -> int:
    """Removes the account's company rules with these values; how many there were."""
    r = t.traffic_rules
    query = r.delete().where(r.c.account_id == account_id, r.c.kind == "company")
    return int(conn.execute(query.where(r.c.value.in_(values))).rowcount)


def _company_is(values: list[str]) -> sa.ColumnElement[bool]:
    """A company rule's value is the company's domain or, for one without, its id."""
    c = t.companies.c
    return sa.or_(c.domain.in_(values), c.id.in_(values))


def sync_hidden(conn: sa.Connection, account_id: int, values: list[str]) -> None:
    """Bring the ``hidden`` flag of the account's leads of the companies these rule values
    name in step with its company rules (after one was added or removed)."""
    c, r, leads = t.companies.c, t.traffic_rules.c, t.leads
    named = sa.select(c.id).where(_company_is(values))
    covered = (
        sa.select(c.id)
        .join(
            t.traffic_rules,
            sa.and_(
                r.account_id == account_id,
                r.kind == "company",
                sa.or_(r.value == c.domain, r.value == c.id),
            ),
        )
        .where(_company_is(values))
    )
    conn.execute(
        leads.update()
        .where(leads.c.account_id == account_id, leads.c.company_id.in_(named))
        .values(hidden=leads.c.company_id.in_(covered))
    )


def hide_new_leads(conn: sa.Connection, lead_pks: Sequence[int]) -> None:
    """Hide those of these leads (just written by the recording path) whose company one of
    their account's company rules names: a hidden company's new leads stay hidden. One
    statement; it changes nothing for an account without company rules."""
    if not lead_pks:
        return
    c, r, leads = t.companies.c, t.traffic_rules.c, t.leads
    ruled = sa.exists().where(
        r.account_id == leads.c.account_id,
        r.kind == "company",
        sa.or_(r.value == c.domain, r.value == c.id),
        c.id == leads.c.company_id,
    )
    conn.execute(
        leads.update()
        .where(leads.c.pk.in_(list(lead_pks)), leads.c.hidden.is_(False), ruled)
        .values(hidden=True)
    )


def last_heard(conn: sa.Connection, account_id: int) -> tuple[datetime | None, datetime | None]:
    """When the account's newest tracker hit arrived, and when its newest visit started."""
    hit = conn.execute(
        sa.select(t.hits.c.received_at)
        .where(t.hits.c.account_id == account_id)
        .order_by(t.hits.c.id.desc())
        .limit(1)
    ).scalar_one_or_none()
    v = t.visits.c
    visit = conn.execute(
        sa.select(v.started_at)
        .where(v.account_id == account_id)
        .order_by(v.date.desc(), v.started_at.desc())
        .limit(1)
    ).scalar_one_or_none()
    return hit, visit
