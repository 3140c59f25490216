"""The public pages of a forgotten password: the form that asks for the email (the same
answer whether or not a user has it) and the page the mailed link opens, which sets a new
password and sends the person to sign in with it. Both forms carry the sign-in form's
double-submit token."""

from __future__ import annotations

import secrets
from typing import Any

from starlette.background import BackgroundTask
from starlette.responses import RedirectResponse, Response

from openfeeder.dashboard import web
from openfeeder.dashboard.web import WebContext
from openfeeder.domain.errors import BadRequest, RateLimited
from openfeeder.services import resets, signin
from openfeeder.services.urls import public_base_url

FORM_COOKIE_AGE = 3600
DONE = "/app/login?reset=done"


def _form(ctx: WebContext, template: str, status: int, **values: Any) -> Response:
    """A public form page with a fresh double-submit token in its field and its cookie."""
    form_token = secrets.token_urlsafe(32)
    response = ctx.render(template, status, login_csrf=form_token, **values)
    web.set_cookie(response, ctx, web.LOGIN_CSRF_COOKIE, form_token, FORM_COOKIE_AGE)
    return response


def _limited(response: Response, error: RateLimited) -> Response:
    response.headers["Retry-After"] = error.headers.get("Retry-After", "60")
    return response


def _client_ip(ctx: WebContext) -> str | None:
    return ctx.request.client.host if ctx.request.client else None


# ── asking for a link ──


def _request_form(
    ctx: WebContext, status: int = 200, error: str | None = None, sent: bool = False
) -> Response:
    return _form(
        ctx,
        "reset_request.html",
        status,
        configured=resets.email_configured(ctx.services.settings),
        email=ctx.form.get("email", "")[:320],
        minutes=resets.RESET_MINUTES,
        error=error,
        sent=sent,
    )


def request_page(ctx: WebContext) -> Response:
    return _request_form(ctx)


def request_reset(ctx: WebContext) -> Response:
    """Answers the same for every well-formed address; the mail, if there is one, is sent
    after the answer, so that the time the answer takes does not tell either."""
    services = ctx.services
    if not resets.email_configured(services.settings):
        return _request_form(ctx, 503)
    try:
        requested = resets.request_reset(
            services.db,
            services.limiter,
            services.clock,
            ctx.form.get("email", ""),
            ip=_client_ip(ctx),
            base_url=public_base_url(services.settings, str(ctx.request.base_url)),
        )
    except BadRequest as error:
        return _request_form(ctx, 400, error.detail)
    except RateLimited as error:
        return _limited(_request_form(ctx, 429, error.detail), error)
    response = _request_form(ctx, sent=True)
    if requested is not None:
        response.background = BackgroundTask(resets.mail_reset, services.settings, requested)
    return response


# ── the link ──


def _reset_form(
    ctx: WebContext, token: str, status: int = 200, error: str | None = None
) -> Response:
    reset = resets.reset_for(ctx.services.db, ctx.services.clock, token)
    return _form(
        ctx,
        "reset.html",
        status,
        reset=reset,
        token=token,
        min_password=signin.MIN_PASSWORD,
        error=error,
    )


def reset_page(ctx: WebContext, token: str) -> Response:
    """Only shows the form: a mail scanner that opens every link uses nothing up."""
    return _reset_form(ctx, token)


def reset(ctx: WebContext, token: str) -> Response:
    services = ctx.services
    try:
        resets.reset_password(
            services.db,
            services.limiter,
            services.clock,
            token,
            ctx.form.get("password", ""),
            ctx.form.get("repeat", ""),
            ip=_client_ip(ctx),
        )
    except BadRequest as error:
        return _reset_form(ctx, token, 400, error.detail)
    except RateLimited as error:
        return _limited(_reset_form(ctx, token, 429, error.detail), error)
    # Every session of the user ended, this browser's too if it had one: sign in afresh.
    response = RedirectResponse(DONE, status_code=303)
    response.delete_cookie(web.LOGIN_CSRF_COOKIE, path=web.COOKIE_PATH)
    response.delete_cookie(web.SESSION_COOKIE, path=web.COOKIE_PATH)
    return response
