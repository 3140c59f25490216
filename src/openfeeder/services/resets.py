"""Forgotten dashboard passwords: a reset link by email that sets a new password once.

A request names an email address and always gets the same answer, whether or not a user has
it, so that the form tells nobody which addresses have users. When one does (and has a
password: a user with API tokens only gets no mail), a random token is stored as its
SHA-256, any older open reset of theirs is revoked, and the link ``/app/reset/<token>`` is
mailed; it works for ``RESET_MINUTES``, once. It also stops working when the password
changes in any other way (``services.signin`` revokes the open resets). Using it sets the
password with the same rules as everywhere else and ends every session of the user.

Requests are limited per address and per client address each minute (visible, as for
sign-in), and each user is sent at most ``MAILS_PER_HOUR`` resets an hour (silently: the
answer stays the same), so that the form cannot be used to flood someone's mailbox.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import timedelta

from openfeeder.config import Settings
from openfeeder.domain.clock import Clock
from openfeeder.domain.errors import BadRequest, Gone, NotFound
from openfeeder.domain.ids import hash_token
from openfeeder.domain.models import User
from openfeeder.ratelimit import Limit, RateLimiter
from openfeeder.services import admin, mail_messages, signin
from openfeeder.services.mailer import MailError, make_mailer
from openfeeder.store import resets as store
from openfeeder.store import web as web_store
from openfeeder.store.db import Database
from openfeeder.store.resets import PasswordReset

__all__ = ["PasswordReset"]

log = logging.getLogger(__name__)

RESET_MINUTES = 60
MAILS_PER_HOUR = 3  # per user: enough for a lost mail or two, too few to flood a mailbox
KEEP = timedelta(days=1)  # how long a reset's row stays after it expired
MAX_TOKEN_LENGTH = 100  # a link's token is 43 characters; anything much longer is no token
# Requests per UTC minute, per address asked for and per client address.
REQUEST_PER_EMAIL = Limit(
    "reset-email", 3, "Too many reset requests for this address. Wait a minute.", ""
)
REQUEST_PER_IP = Limit("reset-ip", 10, "Too many reset requests. Wait a minute.", "")
# Attempts to set a password through a link, per UTC minute: per link and per client address.
USE_PER_LINK = Limit("reset-link", 10, "Too many attempts with this link. Wait a minute.", "")
USE_PER_IP = Limit("reset-use-ip", 30, "Too many attempts. Wait a minute.", "")

NOT_VALID = "This reset link is not valid. Ask for a new one."
USED = "This reset link has been used already. Sign in, or ask for a new one."
REVOKED = (
    "This reset link no longer works: a newer one was sent, or the password was changed "
    "since. Use the newest email, or ask for a new one."
)
EXPIRED = (
    f"This reset link has expired (links work for {RESET_MINUTES} minutes). Ask for a new one."
)


@dataclass(frozen=True)
class Requested:
    """A reset to mail: the only time its link exists outside the mail that carries it."""

    email: str
    link: str


def email_configured(settings: Settings) -> bool:
    """Whether this server can send mail at all (docs/email.md); without it, passwords are
    set by the operator (``openfeeder users set-password``)."""
    return bool(settings.smtp_host and settings.smtp_from)


def reset_link(base_url: str, token: str) -> str:
    return f"{base_url.rstrip('/')}/app/reset/{token}"


def request_reset(
    db: Database,
    limiter: RateLimiter,
    clock: Clock,
    email: str,
    *,
    ip: str | None,
    base_url: str,
) -> Requested | None:
    """A new reset for the user with ``email``, to be mailed; None when there is nothing to
    mail (no such user, no password, the hourly cap reached). The caller answers the same
    either way. ``BadRequest`` for what is no email address, ``RateLimited`` past a limit."""
    limiter.check(email.strip().lower()[:320], REQUEST_PER_EMAIL)
    if ip:
        limiter.check(ip, REQUEST_PER_IP)
    if not email.strip():
        raise BadRequest("Enter the email address you sign in with.", parameter="email")
    address = admin.normalize_email(email)
    now = clock.now()
    token = secrets.token_urlsafe(32)
    with db.write() as conn:
        store.purge(conn, now - KEEP)
        found = web_store.password_hash(conn, address)
        if found is None or found[1] is None:
            return None
        user = found[0]
        if store.requested_since(conn, user.id, now - timedelta(hours=1)) >= MAILS_PER_HOUR:
            return None
        store.revoke_resets(conn, user.id, now)
        store.create_reset(
            conn,
            token_hash=hash_token(token),
            user_id=user.id,
            created_at=now,
            expires_at=now + timedelta(minutes=RESET_MINUTES),
        )
    return Requested(user.email, reset_link(base_url, token))


def mail_reset(settings: Settings, requested: Requested) -> None:
    """Sends the reset's mail. A failure is logged, not raised: whoever asked is not signed in
    and is told the same whatever happens, so the log is the one place it can go."""
    try:
        mail_messages.send_password_reset(
            make_mailer(settings), requested.email, requested.link, RESET_MINUTES
        )
    except MailError as error:
        log.warning("The password reset mail could not be sent: %s", error.detail)


def reset_for(db: Database, clock: Clock, token: str) -> PasswordReset:
    """The open reset a link names: ``NotFound`` for no such link, ``Gone`` for one that was
    used, revoked or has expired."""
    if not token or len(token) > MAX_TOKEN_LENGTH:
        raise NotFound(NOT_VALID)
    with db.read() as conn:
        found = store.reset_by_hash(conn, hash_token(token))
    if found is None:
        raise NotFound(NOT_VALID)
    if found.used_at is not None:
        raise Gone(USED)
    if found.revoked_at is not None:
        raise Gone(REVOKED)
    if clock.now() >= found.expires_at:
        raise Gone(EXPIRED)
    return found


def reset_password(
    db: Database,
    limiter: RateLimiter,
    clock: Clock,
    token: str,
    password: str,
    repeat: str,
    *,
    ip: str | None,
) -> User:
    """Sets the password of the reset's user (the sign-in rules: ``BadRequest``), uses the
    link up and ends every session of the user; ``NotFound``/``Gone`` for a link that does
    not work (also when another tab used it a moment before)."""
    limiter.check(hash_token(token[:MAX_TOKEN_LENGTH]), USE_PER_LINK)
    if ip:
        limiter.check(ip, USE_PER_IP)
    reset = reset_for(db, clock, token)
    if password != repeat:
        raise BadRequest("The two passwords differ.", parameter="password")
    hashed = signin.hash_password(password)
    now = clock.now()
    with db.write() as conn:
        if not store.mark_used(conn, reset.id, now):
            raise Gone(USED)
        web_store.set_password_hash(conn, reset.user.id, hashed)
        web_store.delete_sessions(conn, user_id=reset.user.id)
        store.revoke_resets(conn, reset.user.id, now)
    return reset.user
