"""Working a lead: follow, assign to a member, tags, notes and marking it handled.

Each action checks its input (a lead action is a form a person filled in: bounded, no control
characters) and writes in one short transaction. ``status`` stays derived as the API derives
it: a lead is handled once it has an assignee, an email it was sent to or a CRM id, so
"mark handled" assigns the lead to the person who marks it when nobody has it yet.
"""

from __future__ import annotations

from dataclasses import dataclass

from openfeeder.domain.clock import Clock
from openfeeder.domain.errors import BadRequest
from openfeeder.domain.models import Account, Lead, User
from openfeeder.store import lead_actions as store
from openfeeder.store.db import Database
from openfeeder.store.lead_actions import Note

MAX_TAGS, MAX_TAG = 20, 50
MAX_NOTE = 5000
NOTES_SHOWN = 50


@dataclass(frozen=True)
class LeadWork:
    """What the lead page shows beside the lead itself."""

    followed: bool
    notes: list[Note]
    members: list[tuple[str, str]]  # (email, name) the lead can be assigned to


def _clean(text: str, limit: int, what: str, *, lines: bool = False) -> str:
    allowed = "\n\t" if lines else ""
    if any((ord(ch) < 0x20 and ch not in allowed) or ord(ch) == 0x7F for ch in text):
        raise BadRequest(f"The {what} contains control characters.")
    cleaned = text.replace("\r\n", "\n").strip()
    if len(cleaned) > limit:
        raise BadRequest(f"The {what} is longer than {limit} characters.")
    return cleaned


def work_on(db: Database, account: Account, user: User, lead: Lead) -> LeadWork:
    with db.read() as conn:
        return LeadWork(
            followed=store.is_followed(conn, user.id, lead.pk),
            notes=store.notes_of(conn, lead.pk, NOTES_SHOWN),
            members=store.member_emails(conn, account.id),
        )


def follow(db: Database, user: User, lead: Lead, followed: bool) -> None:
    with db.write() as conn:
        store.set_followed(conn, user.id, lead.pk, followed)


def assign(db: Database, account: Account, lead: Lead, email: str) -> None:
    """Assign the lead to a member of the account, or to nobody (empty ``email``)."""
    wanted = email.strip().lower()
    with db.write() as conn:
        if wanted and wanted not in {e for e, _ in store.member_emails(conn, account.id)}:
            raise BadRequest("Leads can be assigned only to members of this account.")
        store.update_lead(conn, lead.pk, {"assignee": wanted or None})


def mark_handled(db: Database, user: User, lead: Lead) -> None:
    if lead.status == "handled":
        return
    with db.write() as conn:
        store.update_lead(conn, lead.pk, {"assignee": user.email})


def set_tags(db: Database, lead: Lead, text: str) -> list[str]:
    """Tags from a comma-separated list: trimmed, de-duplicated, in the order given."""
    tags: list[str] = []
    for part in _clean(text, MAX_TAGS * (MAX_TAG + 2), "tag list").split(","):
        tag = " ".join(part.split())
        if len(tag) > MAX_TAG:
            raise BadRequest(f"A tag may have at most {MAX_TAG} characters.")
        if tag and tag not in tags:
            tags.append(tag)
    if len(tags) > MAX_TAGS:
        raise BadRequest(f"A lead may have at most {MAX_TAGS} tags.")
    with db.write() as conn:
        store.update_lead(conn, lead.pk, {"tags": tags})
    return tags


def add_note(db: Database, clock: Clock, user: User, lead: Lead, body: str) -> None:
    text = _clean(body, MAX_NOTE, "note", lines=True)
    if not text:
        raise BadRequest("The note is empty.")
    with db.write() as conn:
        store.add_note(conn, lead.pk, user.id, text, clock.now())
