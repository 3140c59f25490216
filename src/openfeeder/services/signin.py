"""Dashboard sign-in: passwords (argon2id), server-side sessions and their limits.

A session is a random token in an HttpOnly cookie; the store keeps its SHA-256 only. Sessions
end after ``SESSION_DAYS`` whatever happens, or after ``IDLE_DAYS`` without a request, or when
the user signs out (one session) or changes their password (all of them).
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from openfeeder.domain.clock import SYSTEM_CLOCK, Clock
from openfeeder.domain.errors import BadRequest, Unauthorized
from openfeeder.domain.ids import hash_token
from openfeeder.domain.models import User, WebSession
from openfeeder.ratelimit import Limit, RateLimiter
from openfeeder.services.admin import normalize_email
from openfeeder.store import members as member_store
from openfeeder.store import resets as reset_store
from openfeeder.store import web as store
from openfeeder.store.db import Database

SESSION_DAYS = 14
IDLE_DAYS = 3
TOUCH_EVERY = timedelta(minutes=5)  # last_seen_at is written at most this often per session
MIN_PASSWORD, MAX_PASSWORD = 10, 1024
# Sign-in attempts per UTC minute, counted per account name and per client address: slow
# enough to make guessing hopeless, loose enough for a person who mistypes a few times.
LOGIN_PER_EMAIL = Limit("login-email", 5, "Too many sign-in attempts. Wait a minute.", "")
LOGIN_PER_IP = Limit("login-ip", 20, "Too many sign-in attempts. Wait a minute.", "")
WRONG = "Wrong email or password."

_hasher = PasswordHasher()  # argon2id with the library's current recommended parameters
# Verified when the account name is unknown, so that the answer takes as long as for a known
# one and no one learns from the time which addresses have accounts.
_DUMMY = _hasher.hash(secrets.token_urlsafe(16))


@dataclass(frozen=True)
class SignedIn:
    token: str  # the cookie value; shown to the browser once, never stored
    session: WebSession


def check_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise BadRequest(f"A password needs at least {MIN_PASSWORD} characters.")
    if len(password) > MAX_PASSWORD:
        raise BadRequest(f"A password may have at most {MAX_PASSWORD} characters.")
    return password


def hash_password(password: str) -> str:
    """The argon2id hash of a password that meets the length rules (else ``BadRequest``)."""
    return _hasher.hash(check_password(password))


def set_password(db: Database, email: str, password: str, clock: Clock = SYSTEM_CLOCK) -> User:
    """Sets a user's password and ends their sessions (a changed password signs everyone out)
    and their open password resets."""
    hashed = hash_password(password)
    with db.write() as conn:
        found = store.password_hash(conn, normalize_email(email))
        if found is None:
            raise BadRequest(f"There is no user {email!r}.")
        user = found[0]
        store.set_password_hash(conn, user.id, hashed)
        store.delete_sessions(conn, user_id=user.id)
        reset_store.revoke_resets(conn, user.id, clock.now())
    return user


def change_password(
    db: Database, session: WebSession, current: str, new: str, clock: Clock = SYSTEM_CLOCK
) -> None:
    """The user's own change: the current password must be right (``BadRequest`` if not);
    every other session of theirs ends, the one they change it from stays, and so do their
    open password resets."""
    hashed = hash_password(new)
    user = session.user
    with db.read() as conn:
        stored = member_store.password_hash_of(conn, user.id)
    if not _verify(stored, current[:MAX_PASSWORD]):
        raise BadRequest("The current password is wrong.", parameter="current_password")
    with db.write() as conn:
        store.set_password_hash(conn, user.id, hashed)
        member_store.end_sessions(conn, user.id, keep=session.id_hash)
        reset_store.revoke_resets(conn, user.id, clock.now())


def _verify(hashed: str | None, password: str) -> bool:
    try:
        return _hasher.verify(hashed or _DUMMY, password) and hashed is not None
    except (VerificationError, InvalidHashError):
        return False


def sign_in(
    db: Database,
    limiter: RateLimiter,
    clock: Clock,
    email: str,
    password: str,
    *,
    ip: str | None,
    user_agent: str | None,
) -> SignedIn:
    """A new session for the right email and password; ``Unauthorized`` with the same words
    for an unknown email and a wrong password; ``RateLimited`` past the limits."""
    address = email.strip().lower()[:320]
    limiter.check(address, LOGIN_PER_EMAIL)
    if ip:
        limiter.check(ip, LOGIN_PER_IP)
    with db.read() as conn:
        found = store.password_hash(conn, address)
    hashed = found[1] if found else None
    if found is None or not _verify(hashed, password[:MAX_PASSWORD]):
        raise Unauthorized(WRONG)
    user = found[0]
    now = clock.now()
    token = secrets.token_urlsafe(32)
    session = WebSession(
        id_hash=hash_token(token),
        user=user,
        csrf=secrets.token_urlsafe(32),
        created_at=now,
        last_seen_at=now,
        expires_at=now + timedelta(days=SESSION_DAYS),
        ip=ip,
        user_agent=(user_agent or "")[:300] or None,
    )
    with db.write() as conn:
        if hashed is not None and _hasher.check_needs_rehash(hashed):
            store.set_password_hash(conn, user.id, _hasher.hash(password))
        store.delete_expired(conn, now)
        store.create_session(conn, session)
    return SignedIn(token, session)


def session_for(db: Database, clock: Clock, token: str | None) -> WebSession | None:
    """The live session a cookie names, or None (no cookie, unknown, expired or idle)."""
    if not token or len(token) > 100:
        return None
    id_hash = hash_token(token)
    with db.read() as conn:
        session = store.get_session(conn, id_hash)
    if session is None:
        return None
    now = clock.now()
    if now >= session.expires_at or now - session.last_seen_at > timedelta(days=IDLE_DAYS):
        with db.write() as conn:
            store.delete_sessions(conn, id_hash=id_hash)
        return None
    if now - session.last_seen_at > TOUCH_EVERY:
        with db.write() as conn:
            store.touch_session(conn, id_hash, now)
    return session


def csrf_matches(session: WebSession, sent: str | None) -> bool:
    return sent is not None and hmac.compare_digest(session.csrf.encode(), sent.encode())


def sign_out(db: Database, token: str | None) -> None:
    if token:
        with db.write() as conn:
            store.delete_sessions(conn, id_hash=hash_token(token))


def sessions_of(db: Database, user: User) -> list[WebSession]:
    with db.read() as conn:
        return store.sessions_of(conn, user.id)


def role_of(db: Database, user: User, account_id: int) -> str | None:
    with db.read() as conn:
        return store.role_of(conn, user.id, account_id)
