"""The public unsubscribe page a digest links to: opening it asks to confirm (so a mail
scanner that fetches every link stops nothing), the form's POST stops the digest. The token
in the address is the only credential; the form carries the same anti-forgery token as the
sign-in form."""

from __future__ import annotations

import secrets

from starlette.responses import Response

from openfeeder.dashboard import web
from openfeeder.dashboard.web import WebContext
from openfeeder.services import digests

CSRF_AGE = 3600


def unsubscribe_page(ctx: WebContext, token: str) -> Response:
    subscription = digests.by_token(ctx.services.db, token)
    form_token = secrets.token_urlsafe(32)
    response = ctx.render(
        "unsubscribe.html",
        subscription=subscription,
        feed=digests.feed_name(ctx.services.db, subscription),
        token=token,
        login_csrf=form_token,
    )
    web.set_cookie(response, ctx, web.LOGIN_CSRF_COOKIE, form_token, CSRF_AGE)
    return response


def unsubscribe(ctx: WebContext, token: str) -> Response:
    subscription = digests.unsubscribe(ctx.services.db, token)
    response = ctx.render("unsubscribed.html", subscription=subscription)
    response.delete_cookie(web.LOGIN_CSRF_COOKIE, path=web.COOKIE_PATH)
    return response
