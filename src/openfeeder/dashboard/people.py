"""The dashboard's people pages: an account's members and invitations, its API tokens and
its own settings (admins only), a person's own page (password, sessions), and the public
page an invitation link opens."""

from __future__ import annotations

import secrets
from typing import Any

from starlette.responses import RedirectResponse, Response

from openfeeder.dashboard import web
from openfeeder.dashboard.web import WebContext
from openfeeder.domain.errors import BadRequest, Conflict, NotFound, RateLimited, Unauthorized
from openfeeder.domain.ids import whole_number
from openfeeder.domain.models import Account
from openfeeder.services import admin, members, signin, traffic
from openfeeder.services.urls import public_base_url

FORM_COOKIE_AGE = 3600


def _admin_account(ctx: WebContext, account_id: str) -> Account:
    account = ctx.account(account_id)
    traffic.require_admin(ctx.services.db, account, ctx.user)
    return account


def _number(value: str, what: str) -> int:
    number = whole_number(value, 9)
    if number is None:
        raise NotFound(f"There is no such {what}.")
    return number


def _back(path: str) -> Response:
    return RedirectResponse(path, status_code=303)


# ── members and invitations ──


def members_page(
    ctx: WebContext,
    account_id: str,
    status: int = 200,
    error: str | None = None,
    invited: members.Invited | None = None,
    emailed: str | None = None,
) -> Response:
    account = _admin_account(ctx, account_id)
    db, clock = ctx.services.db, ctx.services.clock
    return ctx.render(
        "settings_members.html",
        status,
        account=account,
        section="members",
        members=members.members(db, account),
        invitations=members.pending_invitations(db, clock, account),
        roles=members.ROLES,
        invited=invited,
        emailed=emailed,
        error=error,
        email=ctx.form.get("email", "")[:320] if error else "",
    )


def invite(ctx: WebContext, account_id: str) -> Response:
    """Creates the invitation and shows its link, this once (the page is not cached)."""
    account = _admin_account(ctx, account_id)
    services = ctx.services
    try:
        invited = members.invite(
            services.db,
            services.clock,
            account,
            ctx.user,
            ctx.form.get("email", ""),
            ctx.form.get("role", ""),
            public_base_url(services.settings, str(ctx.request.base_url)),
        )
    except (BadRequest, Conflict) as error:
        return members_page(ctx, account_id, error.status, error.detail)
    emailed = members.email_invitation(services.settings, invited, account, ctx.user)
    return members_page(ctx, account_id, invited=invited, emailed=emailed)


def set_role(ctx: WebContext, account_id: str, user_id: str) -> Response:
    account = _admin_account(ctx, account_id)
    number, role = _number(user_id, "member"), ctx.form.get("role", "")
    try:
        members.set_role(ctx.services.db, account, number, role)
    except (BadRequest, Conflict) as error:
        return members_page(ctx, account_id, error.status, error.detail)
    # An admin who made themselves a member no longer sees this page.
    demoted_self = number == ctx.user.id and role != "admin"
    return _back(f"/app/{account.id}/" + ("leads" if demoted_self else "settings/members"))


def remove_member(ctx: WebContext, account_id: str, user_id: str) -> Response:
    account = _admin_account(ctx, account_id)
    number = _number(user_id, "member")
    try:
        members.remove_member(ctx.services.db, account, number)
    except Conflict as error:
        return members_page(ctx, account_id, error.status, error.detail)
    # Whoever removes themselves can no longer see the account.
    return _back("/app" if number == ctx.user.id else f"/app/{account.id}/settings/members")


def revoke_invitation(ctx: WebContext, account_id: str, invitation_id: str) -> Response:
    account = _admin_account(ctx, account_id)
    members.revoke_invitation(
        ctx.services.db, ctx.services.clock, account, _number(invitation_id, "invitation")
    )
    return _back(f"/app/{account.id}/settings/members")


# ── API tokens ──


def tokens_page(
    ctx: WebContext,
    account_id: str,
    status: int = 200,
    error: str | None = None,
    created: str | None = None,
) -> Response:
    account = _admin_account(ctx, account_id)
    return ctx.render(
        "settings_tokens.html",
        status,
        account=account,
        section="tokens",
        tokens=members.tokens(ctx.services.db, account),
        created=created,
        error=error,
        base_url=public_base_url(ctx.services.settings, str(ctx.request.base_url)),
    )


def create_token(ctx: WebContext, account_id: str) -> Response:
    """A new token of the signed-in admin, shown this once."""
    _admin_account(ctx, account_id)
    try:
        _, token = members.create_token(
            ctx.services.db, ctx.services.clock, ctx.user, ctx.form.get("name", "")
        )
    except BadRequest as error:
        return tokens_page(ctx, account_id, 400, error.detail)
    return tokens_page(ctx, account_id, created=token)


def disable_token(ctx: WebContext, account_id: str, token_id: str) -> Response:
    account = _admin_account(ctx, account_id)
    members.disable_token(ctx.services.db, account, _number(token_id, "token"))
    return _back(f"/app/{account.id}/settings/tokens")


# ── the account ──


def account_page(
    ctx: WebContext, account_id: str, status: int = 200, error: str | None = None
) -> Response:
    account = _admin_account(ctx, account_id)
    return ctx.render(
        "settings_account.html",
        status,
        account=account,
        section="account",
        name=ctx.form.get("name", account.name)[:300],
        timezone=ctx.form.get("timezone", account.timezone)[:100],
        timezones=admin.timezones(),
        saved=ctx.query.get("saved") == "1",
        error=error,
    )


def save_account(ctx: WebContext, account_id: str) -> Response:
    account = _admin_account(ctx, account_id)
    try:
        members.update_account(
            ctx.services.db, account, ctx.form.get("name", ""), ctx.form.get("timezone", "")
        )
    except BadRequest as error:
        return account_page(ctx, account_id, 400, error.detail)
    return _back(f"/app/{account.id}/settings/account?saved=1")


# ── the user's own page ──


def me_page(
    ctx: WebContext, status: int = 200, error: str | None = None, notice: str | None = None
) -> Response:
    assert ctx.session is not None
    return ctx.render(
        "me.html",
        status,
        sessions=signin.sessions_of(ctx.services.db, ctx.user),
        current=ctx.session.id_hash,
        error=error,
        notice=notice
        or {
            "password": "Your password is changed; your other sessions ended.",
            "ended": "Done: the session has ended.",
        }.get(ctx.query.get("done", "")),
    )


def change_password(ctx: WebContext) -> Response:
    assert ctx.session is not None
    new = ctx.form.get("password", "")
    try:
        if new != ctx.form.get("repeat", ""):
            raise BadRequest("The two new passwords differ.")
        signin.change_password(ctx.services.db, ctx.session, ctx.form.get("current", ""), new)
    except BadRequest as error:
        return me_page(ctx, 400, error.detail)
    return _back("/app/me?done=password")


def end_sessions(ctx: WebContext) -> Response:
    assert ctx.session is not None
    members.end_sessions(ctx.services.db, ctx.session, ctx.form.get("session", "")[:100])
    return _back("/app/me?done=ended")


# ── the invitation link (public) ──


def _invite_form(
    ctx: WebContext, token: str, status: int = 200, error: str | None = None
) -> Response:
    services = ctx.services
    invitation = members.invitation_for(services.db, services.clock, token)
    form_token = secrets.token_urlsafe(32)
    values: dict[str, Any] = {
        "invitation": invitation,
        "existing": members.has_user(services.db, invitation),
        "token": token,
        "login_csrf": form_token,
        "name": ctx.form.get("name", "")[:200],
        "error": error,
    }
    response = ctx.render("invite.html", status, **values)
    web.set_cookie(response, ctx, web.LOGIN_CSRF_COOKIE, form_token, FORM_COOKIE_AGE)
    return response


def invite_page(ctx: WebContext, token: str) -> Response:
    return _invite_form(ctx, token)


def accept_invite(ctx: WebContext, token: str) -> Response:
    services, form = ctx.services, ctx.form
    signing_up = "repeat" in form
    try:
        invitation, signed = members.accept(
            services.db,
            services.limiter,
            services.clock,
            token,
            name=form.get("name", ""),
            password=form.get("password", ""),
            repeat=form.get("repeat", "") if signing_up else None,
            ip=ctx.request.client.host if ctx.request.client else None,
            user_agent=ctx.request.headers.get("user-agent"),
        )
    except (BadRequest, Conflict, Unauthorized) as error:
        return _invite_form(ctx, token, error.status, error.detail)
    except RateLimited as error:
        response = _invite_form(ctx, token, 429, error.detail)
        response.headers["Retry-After"] = error.headers.get("Retry-After", "60")
        return response
    response = _back(f"/app/{invitation.account_id}/leads")
    web.set_cookie(response, ctx, web.SESSION_COOKIE, signed.token, signin.SESSION_DAYS * 24 * 3600)
    response.delete_cookie(web.LOGIN_CSRF_COOKIE, path=web.COOKIE_PATH)
    return response
