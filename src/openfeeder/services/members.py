"""An account's people, for its admins: members and their roles, invitations by link, the
API tokens of its members and the account's name and time zone; and a user's own sessions.

An invitation is a link with a random token (only its SHA-256 is stored) that is good for
``INVITE_DAYS`` and for one acceptance. ``invite`` returns the link; nothing here sends it.
A mailer plugs in by taking the ``Invited`` that ``invite`` returns and sending
``invited.link`` to ``invited.invitation.email`` (docs/dashboard.md, "Members").
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta

import sqlalchemy as sa

from openfeeder.config import Settings
from openfeeder.domain.clock import Clock
from openfeeder.domain.errors import BadRequest, Conflict, Gone, NotFound
from openfeeder.domain.ids import hash_token, new_api_token
from openfeeder.domain.models import Account, User, WebSession
from openfeeder.ratelimit import Limit, RateLimiter
from openfeeder.services import admin, mail_messages, signin
from openfeeder.services.mailer import MailError, make_mailer
from openfeeder.store import accounts as account_store
from openfeeder.store import members as store
from openfeeder.store import web as web_store
from openfeeder.store.db import Database
from openfeeder.store.members import Invitation, Membership, Token

__all__ = ["Invitation", "Membership", "Token"]  # what pages get from here

ROLES = ("admin", "member")
INVITE_DAYS = 7
MAX_TOKEN_NAME = 100
MAX_TOKEN_LENGTH = 100  # a link's token is 43 characters; anything much longer is no token
LAST_ADMIN = "An account needs at least one admin: make someone else admin first."
# Acceptance attempts per UTC minute: per link (guessing a password through an invitation
# is no easier than through the sign-in form) and per client address.
ACCEPT_PER_LINK = Limit("invite-link", 10, "Too many attempts with this link. Wait a minute.", "")
ACCEPT_PER_IP = Limit("invite-ip", 30, "Too many attempts. Wait a minute.", "")


@dataclass(frozen=True)
class Invited:
    """A new invitation and its link: the only time the link exists outside the browser
    that shows it (or the mail that carries it)."""

    invitation: Invitation
    link: str


def _role(role: str) -> str:
    if role not in ROLES:
        raise BadRequest(f"The role must be one of: {', '.join(ROLES)}.", parameter="role")
    return role


# ── members ──


def members(db: Database, account: Account) -> list[Membership]:
    with db.read() as conn:
        return store.members_of(conn, account.id)


def _demoting_last_admin(conn: sa.Connection, account: Account, user_id: int) -> bool:
    role = web_store.role_of(conn, user_id, account.id)
    return role == "admin" and store.admins_of(conn, account.id) <= 1


def set_role(db: Database, account: Account, user_id: int, role: str) -> None:
    _role(role)
    with db.write() as conn:
        if web_store.role_of(conn, user_id, account.id) is None:
            raise NotFound("There is no such member of this account.")
        if role != "admin" and _demoting_last_admin(conn, account, user_id):
            raise Conflict(LAST_ADMIN)
        store.set_role(conn, account.id, user_id, role)


def remove_member(db: Database, account: Account, user_id: int) -> None:
    """Ends the user's access to the account (their tokens and sessions stay: they may be
    members of other accounts)."""
    with db.write() as conn:
        if web_store.role_of(conn, user_id, account.id) is None:
            raise NotFound("There is no such member of this account.")
        if _demoting_last_admin(conn, account, user_id):
            raise Conflict(LAST_ADMIN)
        store.remove_membership(conn, account.id, user_id)


# ── invitations ──


def email_invitation(settings: Settings, invited: Invited, account: Account, inviter: User) -> str:
    """Email the invitation's link to the invitee when SMTP is set up (docs/email.md); what
    happened, in a sentence for the admin. The page shows the link either way."""
    to = invited.invitation.email
    if not settings.smtp_host:
        return "Email is not set up on this server (OPENFEEDER_SMTP_HOST): send the link yourself."
    try:
        mail_messages.send_invitation(
            make_mailer(settings), to, account.name, inviter.name or inviter.email, invited.link
        )
    except MailError as error:
        return f"The email to {to} could not be sent ({error.detail}): send the link yourself."
    return f"The invitation was emailed to {to}."


def invitation_link(base_url: str, token: str) -> str:
    return f"{base_url.rstrip('/')}/app/invite/{token}"


def invite(
    db: Database,
    clock: Clock,
    account: Account,
    inviter: User | None,
    email: str,
    role: str,
    base_url: str,
) -> Invited:
    """A new invitation to ``email`` (``inviter`` None: the operator, from the CLI); an
    older open one to the same address is revoked, so one link at a time lets a person in."""
    address = admin.normalize_email(email)
    _role(role)
    now = clock.now()
    token = secrets.token_urlsafe(32)
    with db.write() as conn:
        existing = account_store.user_by_email(conn, address)
        if existing is not None and web_store.role_of(conn, existing.id, account.id) is not None:
            raise Conflict(f"{address} is already a member of this account.", parameter="email")
        store.revoke_invitations(conn, account.id, now, email=address)
        store.create_invitation(
            conn,
            token_hash=hash_token(token),
            account_id=account.id,
            email=address,
            role=role,
            inviter_id=inviter.id if inviter else None,
            created_at=now,
            expires_at=now + timedelta(days=INVITE_DAYS),
        )
        found = store.invitation_by_hash(conn, hash_token(token))
    assert found is not None
    return Invited(found, invitation_link(base_url, token))


def pending_invitations(db: Database, clock: Clock, account: Account) -> list[Invitation]:
    with db.read() as conn:
        return store.pending_invitations(conn, account.id, clock.now())


def revoke_invitation(db: Database, clock: Clock, account: Account, invitation_id: int) -> None:
    with db.write() as conn:
        if not store.revoke_invitations(conn, account.id, clock.now(), invitation_id=invitation_id):
            raise NotFound("There is no such open invitation in this account.")


def invitation_for(db: Database, clock: Clock, token: str) -> Invitation:
    """The open invitation a link names: ``NotFound`` for no such link, ``Gone`` for one that
    was used, revoked or has expired."""
    if not token or len(token) > MAX_TOKEN_LENGTH:
        raise NotFound("This invitation link is not valid. Ask for a new one.")
    with db.read() as conn:
        found = store.invitation_by_hash(conn, hash_token(token))
    if found is None:
        raise NotFound("This invitation link is not valid. Ask for a new one.")
    if found.accepted_at is not None:
        raise Gone("This invitation has been used already. Sign in to see the account.")
    if found.revoked_at is not None:
        raise Gone("This invitation has been withdrawn. Ask for a new one.")
    if clock.now() >= found.expires_at:
        raise Gone("This invitation has expired. Ask for a new one.")
    return found


def has_user(db: Database, invitation: Invitation) -> bool:
    with db.read() as conn:
        return account_store.user_by_email(conn, invitation.email) is not None


def accept(
    db: Database,
    limiter: RateLimiter,
    clock: Clock,
    token: str,
    *,
    name: str,
    password: str,
    repeat: str | None,
    ip: str | None,
    user_agent: str | None,
) -> tuple[Invitation, signin.SignedIn]:
    """Accepts an invitation and signs the person in.

    Someone new (no user has the invitation's email) signs up: ``name``, ``password`` and
    ``repeat``. Someone who has a user signs in with their password (``repeat`` is None).
    Either way the membership with the invited role is made once; a second acceptance of
    the same link is ``Gone``.
    """
    limiter.check(hash_token(token[:MAX_TOKEN_LENGTH]), ACCEPT_PER_LINK)
    if ip:
        limiter.check(ip, ACCEPT_PER_IP)
    invitation = invitation_for(db, clock, token)
    if repeat is not None:
        display = admin.check_name(name, "user")
        if password != repeat:
            raise BadRequest("The two passwords differ.", parameter="password")
        hashed = signin.hash_password(password)
        with db.write() as conn:
            if account_store.user_by_email(conn, invitation.email) is not None:
                raise Conflict("A user with this email exists: sign in to accept.")
            user = account_store.create_user(conn, invitation.email, display, clock=clock)
            web_store.set_password_hash(conn, user.id, hashed)
    signed = signin.sign_in(
        db, limiter, clock, invitation.email, password, ip=ip, user_agent=user_agent
    )
    with db.write() as conn:
        if not store.mark_accepted(conn, invitation, clock.now()):
            raise Gone("This invitation has been used already. Sign in to see the account.")
        store.add_membership(conn, signed.session.user.id, invitation.account_id, invitation.role)
    return invitation, signed


# ── API tokens ──


def tokens(db: Database, account: Account) -> list[Token]:
    with db.read() as conn:
        return store.tokens_of_members(conn, account.id)


def create_token(db: Database, clock: Clock, owner: User, name: str) -> tuple[int, str]:
    """A new API token of ``owner`` named ``name``: ``(id, clear token)``; the clear token
    is shown once and not kept."""
    label = " ".join(name.split())
    if not label:
        raise BadRequest("Give the token a name (what it is for).", parameter="name")
    if len(label) > MAX_TOKEN_NAME:
        raise BadRequest(f"A token name has at most {MAX_TOKEN_NAME} characters.", parameter="name")
    token = new_api_token()
    with db.write() as conn:
        token_id = account_store.create_token(
            conn, owner.id, hash_token(token), token[-admin.HINT_LENGTH :], clock=clock, name=label
        )
    return token_id, token


def disable_token(db: Database, account: Account, token_id: int) -> None:
    """Disables a token of one of the account's members (everywhere: a token is its
    owner's, whatever account it reads)."""
    with db.write() as conn:
        if not store.disable_member_token(conn, account.id, token_id):
            raise NotFound("There is no such token among this account's members.")


# ── the account ──


def update_account(db: Database, account: Account, name: str, timezone: str) -> None:
    display = admin.check_name(name, "account")
    zone = admin.validate_timezone(timezone.strip())
    with db.write() as conn:
        store.update_account(conn, account.id, name=display, timezone=zone)


# ── a user's own sessions ──


def end_sessions(db: Database, session: WebSession, which: str) -> int:
    """Ends one of the user's other sessions (``which``: its id hash) or, with ``"others"``,
    all of them but this one. The current session ends by signing out."""
    user = session.user
    with db.write() as conn:
        if which == "others":
            return store.end_sessions(conn, user.id, keep=session.id_hash)
        if which == session.id_hash or len(which) != 64:
            raise NotFound("There is no such other session of yours.")
        ended = store.end_sessions(conn, user.id, only=which)
    if not ended:
        raise NotFound("There is no such other session of yours.")
    return ended
