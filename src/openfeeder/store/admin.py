"""Administrative writes beyond ``store.accounts``: lead annotations (assignee, tags, CRM ids,
emails), lead followers, and raw tracker hits seeded without the tracker (the demo)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from openfeeder.store import schema as t
from openfeeder.store.upsert import insert_ignore

LEAD_NOTE_FIELDS = ("assignee", "emailed_to", "crm_lead_id", "crm_organization_id", "tags")


def annotate_leads(conn: sa.Connection, account_id: int, notes: Sequence[dict[str, Any]]) -> int:
    """Set what a sales team adds to leads; each note has ``lead_id`` and every field in
    ``LEAD_NOTE_FIELDS``. Returns how many leads were updated (unknown lead ids are skipped)."""
    if not notes:
        return 0
    statement = (
        t.leads.update()
        .where(
            t.leads.c.account_id == sa.bindparam("b_account_id"),
            t.leads.c.id == sa.bindparam("b_lead_id"),
        )
        .values(
            {
                name: sa.bindparam(f"b_{name}", type_=t.leads.c[name].type)
                for name in LEAD_NOTE_FIELDS
            }
        )
    )
    rows = [
        {"b_account_id": account_id, "b_lead_id": note["lead_id"]}
        | {f"b_{name}": note[name] for name in LEAD_NOTE_FIELDS}
        for note in notes
    ]
    return int(conn.execute(statement, rows).rowcount)


def follow_leads(
    conn: sa.Connection, user_id: int, account_id: int, lead_ids: Sequence[str]
) -> None:
    """Make the user follow these leads of the account (already followed ones stay as they are)."""
    if not lead_ids:
        return
    pks = conn.execute(
        sa.select(t.leads.c.pk).where(
            t.leads.c.account_id == account_id, t.leads.c.id.in_(list(lead_ids))
        )
    ).scalars()
    rows = [{"lead_pk": pk, "user_id": user_id} for pk in pks]
    insert_ignore(conn, t.lead_followers, rows, ["lead_pk", "user_id"])


def insert_hits(conn: sa.Connection, rows: Sequence[dict[str, Any]]) -> None:
    """Append raw hits (columns of ``hits``); a ``client_event_id`` seen before is ignored."""
    insert_ignore(conn, t.hits, rows, ["account_id", "client_event_id"])
