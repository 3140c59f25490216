"""How the dashboard surface calls its handlers: the session from its cookie, CSRF checks on
every unsafe request, and errors as pages.

Handlers are plain synchronous code run in the thread pool, like the API's: they get a
``WebContext`` and the path parameters and return a response. Nothing here or in a handler
runs SQL: everything goes through the services.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from openfeeder.dashboard.render import page
from openfeeder.domain.errors import Forbidden, NotFound, OpenfeederError, PayloadTooLarge
from openfeeder.domain.models import Account, User, WebSession
from openfeeder.routing import Auth, Endpoint
from openfeeder.services import access, geoip, signin
from openfeeder.services import accounts as account_services
from openfeeder.services.container import Services

SESSION_COOKIE = "openfeeder_session"
LOGIN_CSRF_COOKIE = "openfeeder_login_csrf"
CSRF_FIELD = "csrf"
CSRF_HEADER = "x-csrf-token"
MAX_FORM = 64 * 1024
UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})
COOKIE_PATH = "/app"


@dataclass
class WebContext:
    request: Request
    services: Services
    session: WebSession | None
    form: dict[str, str]
    query: dict[str, str]
    cookies_to_set: list[tuple[str, str, int | None]] = field(default_factory=list)

    @property
    def user(self) -> User:
        assert self.session is not None, "route declared without session auth"
        return self.session.user

    def account(self, account_id: str) -> Account:
        """The account if the signed-in user is a member of it (else the not-found page)."""
        try:
            return access.account_for(self.services.db, self.user, account_id)
        except Forbidden:
            raise NotFound("There is no such account, or it is not yours.") from None

    def render(self, template: str, status: int = 200, **values: Any) -> Response:
        accounts = accounts_of(self) if self.session is not None else []
        return page(
            template,
            status,
            user=self.session.user if self.session else None,
            csrf=self.session.csrf if self.session else "",
            accounts=accounts,
            attribution=geoip.attribution(self.services.settings),
            **values,
        )

    @property
    def secure_cookies(self) -> bool:
        url = self.services.settings.public_url or str(self.request.base_url)
        return url.startswith("https://")


def accounts_of(ctx: WebContext) -> list[Account]:
    """The signed-in user's accounts, for the header's switcher (the tracking status of each
    is not needed there, and would cost a query per page)."""
    return account_services.accounts_of_user(ctx.services.db, ctx.user)


def set_cookie(
    response: Response, ctx: WebContext, name: str, value: str, max_age: int | None
) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path=COOKIE_PATH,
        httponly=True,
        samesite="lax",
        secure=ctx.secure_cookies,
    )


def login_url(request: Request) -> str:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return f"/app/login?next={quote(target, safe='')}"


def safe_next(value: str | None) -> str:
    """Where to go after signing in: only a dashboard path of this site (no open redirect)."""
    if not value or not (value == "/app" or value.startswith("/app/")) or "\\" in value:
        return "/app"
    return value if all(0x20 < ord(ch) != 0x7F for ch in value) else "/app"


def error_page(ctx: WebContext, error: OpenfeederError) -> Response:
    headers = dict(error.headers)
    response = ctx.render(
        "error.html", error.status, title=error.title, detail=error.detail, code=error.status
    )
    response.headers.update(headers)
    return response


async def _form(request: Request) -> dict[str, str]:
    if request.method not in UNSAFE:
        return {}
    body = await request.body()
    if len(body) > MAX_FORM:
        raise PayloadTooLarge(f"The form is larger than {MAX_FORM} bytes.")
    form = await request.form()
    return {k: v for k, v in form.items() if isinstance(v, str)}


def _csrf_ok(ctx: WebContext) -> bool:
    sent = ctx.form.get(CSRF_FIELD) or ctx.request.headers.get(CSRF_HEADER)
    if ctx.session is not None:
        return signin.csrf_matches(ctx.session, sent)
    # Before sign-in (the login form): the form's token must equal the cookie's.
    cookie = ctx.request.cookies.get(LOGIN_CSRF_COOKIE)
    return bool(cookie and sent and secrets.compare_digest(cookie.encode(), sent.encode()))


def _run(endpoint: Endpoint, request: Request, form: dict[str, str] | OpenfeederError) -> Response:
    services: Services = request.app.state.services
    # Only pages for signed-in people look the session up: static files and the sign-in form
    # cost no query.
    session = (
        signin.session_for(services.db, services.clock, request.cookies.get(SESSION_COOKIE))
        if endpoint.auth is Auth.SESSION
        else None
    )
    ctx = WebContext(
        request=request,
        services=services,
        session=session,
        form=form if isinstance(form, dict) else {},
        query=dict(request.query_params),
    )
    try:
        if isinstance(form, OpenfeederError):
            raise form
        if endpoint.auth is Auth.SESSION and session is None:
            if request.method in UNSAFE:
                raise Forbidden("Your session has ended. Sign in again.")
            return RedirectResponse(login_url(request), status_code=303)
        # A capability URL's POST is safe without a CSRF token: a forged one would have
        # to know the token in the path, which is all the credential there is.
        checked = endpoint.auth is not Auth.CAPABILITY
        if request.method in UNSAFE and checked and not _csrf_ok(ctx):
            raise Forbidden(
                "This form has expired or did not come from this site. Reload and try again."
            )
        response: Response = endpoint.handler(ctx, **request.path_params)
    except OpenfeederError as error:
        return error_page(ctx, error)
    return response


def _asgi(endpoint: Endpoint) -> Callable[[Request], Any]:
    async def dashboard_endpoint(request: Request) -> Response:
        form: dict[str, str] | OpenfeederError
        try:
            form = await _form(request)
        except OpenfeederError as error:
            form = error
        return await run_in_threadpool(_run, endpoint, request, form)

    dashboard_endpoint.__name__ = endpoint.handler.__name__
    return dashboard_endpoint


def route(endpoint: Endpoint) -> Route:
    """The Starlette route of a dashboard endpoint."""
    return Route(endpoint.path, _asgi(endpoint), methods=list(endpoint.methods))
