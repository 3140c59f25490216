"""Who may make a request: token authentication and rate limiting, applied to every
request — routed ones here in ``routes``, unrouted 404/405 ones in ``errors``."""

from __future__ import annotations

from starlette.requests import Request

from openfeeder.domain.errors import OpenfeederError
from openfeeder.domain.ids import hash_token
from openfeeder.domain.models import User
from openfeeder.routing import Auth
from openfeeder.services import access
from openfeeder.services.container import Services


def token_from(header: str | None) -> str | None:
    """``Token token=abc``, ``Token token="abc"`` or ``Bearer abc`` → ``abc``."""
    if not header:
        return None
    scheme, _, rest = header.strip().partition(" ")
    rest = rest.strip()
    if scheme.lower() == "bearer":
        return rest or None
    if scheme.lower() == "token":
        key, _, value = rest.partition("=")
        if key.strip().lower() == "token":
            return value.strip().strip('"') or None
    return None


def admit(
    services: Services, request: Request, auth: Auth, *, export_limited: bool = False
) -> tuple[User | None, dict[str, str]]:
    """Authenticate (for token routes) and count the request against its rate limits.

    Returns the user and the rate-limit headers; raises the auth error or RateLimited.
    Requests whose token is missing or invalid count against their client IP instead.
    """
    assert auth is not Auth.OPERATOR, "operations routes authenticate on their own surface"
    limiter = services.limiter
    if auth is Auth.PUBLIC:
        return None, limiter.check(f"ip:{client_ip(request)}", services.api_limit)
    token = token_from(request.headers.get("authorization"))
    try:
        user = access.authenticate(services.db, token)
    except OpenfeederError as error:
        error.headers.update(limiter.check(f"ip:{client_ip(request)}", services.api_limit))
        raise
    key = f"token:{hash_token(token or '')}"
    headers = limiter.check(key, services.api_limit)
    if export_limited:
        headers = limiter.check(key, services.export_limit)
    return user, headers


def client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"
