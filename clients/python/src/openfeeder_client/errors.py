"""The client's exception tree, and the one function that turns an error response into it.

OpenfeederClientError
├── APIError                 any error response; carries the JSON:API error objects
│   ├── ValidationError      400  (``parameter``: the offending query or body parameter)
│   ├── AuthenticationError  401  (no token, or an unknown one)
│   ├── PremiumRequired      402  (leads, visits and exports need a premium or trial account)
│   ├── Forbidden            403  (a disabled token, or an account the user may not see)
│   ├── NotFound             404
│   ├── RateLimited          429  (still limited after the allowed retries, or told to wait
│   │                              longer than the client may)
│   └── ServerError          5xx
└── ExportError              an export that did not finish
    ├── ExportFailed         the server marked it ``failed``
    └── ExportTimeout        still not finished when the wait ran out

Network failures are httpx's own exceptions (``httpx.TransportError``) and are not wrapped.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import httpx

if TYPE_CHECKING:
    from openfeeder_client.models import ExportRequest

__all__ = [
    "APIError",
    "AuthenticationError",
    "ErrorObject",
    "ExportError",
    "ExportFailed",
    "ExportTimeout",
    "Forbidden",
    "NotFound",
    "OpenfeederClientError",
    "PremiumRequired",
    "RateLimited",
    "ServerError",
    "ValidationError",
    "error_from_response",
]


@dataclass(frozen=True)
class ErrorObject:
    """One JSON:API error object as the server sent it (``raw``), with its usual members."""

    status: str | None = None
    title: str | None = None
    detail: str | None = None
    parameter: str | None = None  # source.parameter
    about: str | None = None  # links.about (the rate-limit errors have one)
    raw: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> ErrorObject:
        source = raw.get("source")
        links = raw.get("links")
        source = source if isinstance(source, Mapping) else {}
        links = links if isinstance(links, Mapping) else {}
        return cls(
            status=_text(raw.get("status")),
            title=_text(raw.get("title")),
            detail=_text(raw.get("detail")),
            parameter=_text(source.get("parameter")),
            about=_text(links.get("about")),
            raw=raw,
        )

    def __str__(self) -> str:
        return " — ".join(part for part in (self.title, self.detail) if part) or "(no detail)"


class OpenfeederClientError(Exception):
    """Base of every exception this package raises."""


class APIError(OpenfeederClientError):
    """The server answered with an error status."""

    def __init__(
        self, status_code: int, errors: list[ErrorObject], response: httpx.Response | None = None
    ) -> None:
        self.status_code = status_code
        self.errors = errors
        self.response = response
        super().__init__(self._message())

    def _message(self) -> str:
        described = "; ".join(str(error) for error in self.errors)
        if not described and self.response is not None:
            described = self.response.reason_phrase or "no error document"
        return f"{self.status_code}: {described}"

    @property
    def detail(self) -> str | None:
        """The first error object's ``detail`` (or ``title``), the usual one-line reason."""
        return next((e.detail or e.title for e in self.errors if e.detail or e.title), None)


class ValidationError(APIError):
    """400: a parameter is missing or malformed; ``parameter`` names it when the server did."""

    @property
    def parameter(self) -> str | None:
        return next((e.parameter for e in self.errors if e.parameter), None)

    def _message(self) -> str:
        message = super()._message()
        return f"{message} (parameter {self.parameter})" if self.parameter else message


class AuthenticationError(APIError):
    """401: no token was sent, or the server does not know it."""


class PremiumRequired(APIError):
    """402: the account is on a plan without leads, visits and exports."""


class Forbidden(APIError):
    """403: the token is disabled, or its user is not a member of the account."""


class NotFound(APIError):
    """404: no such lead, custom feed, export, download or route."""


class RateLimited(APIError):
    """429 that the client gave up on: after ``attempts`` tries, or a wait over its cap."""

    def __init__(
        self,
        status_code: int,
        errors: list[ErrorObject],
        response: httpx.Response | None = None,
        *,
        retry_after: float,
        attempts: int,
        reason: str,
    ) -> None:
        self.retry_after = retry_after
        self.attempts = attempts
        self.reason = reason
        super().__init__(status_code, errors, response)

    def _message(self) -> str:
        return f"{super()._message()} — {self.reason}"


class ServerError(APIError):
    """5xx: the server failed; the request itself may be fine to repeat later."""


class ExportError(OpenfeederClientError):
    """An export request that did not end ``processed``; ``export`` is its last known state."""

    def __init__(self, export: ExportRequest, message: str) -> None:
        self.export = export
        super().__init__(message)


class ExportFailed(ExportError):
    """The server gave up on the export (its status is ``failed``)."""


class ExportTimeout(ExportError):
    """The export was still not finished when the client stopped waiting."""


_BY_STATUS: dict[int, type[APIError]] = {
    400: ValidationError,
    401: AuthenticationError,
    402: PremiumRequired,
    403: Forbidden,
    404: NotFound,
}


def error_objects(response: httpx.Response) -> list[ErrorObject]:
    """The JSON:API error objects of a response; none when its body is not such a document."""
    try:
        document = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        return []
    errors = document.get("errors") if isinstance(document, dict) else None
    if not isinstance(errors, list):
        return []
    return [ErrorObject.from_json(error) for error in errors if isinstance(error, dict)]


def error_from_response(response: httpx.Response) -> APIError:
    """The exception for an error response (other than a 429, which the client retries)."""
    status = response.status_code
    kind = _BY_STATUS.get(status) or (ServerError if status >= 500 else APIError)
    return kind(status, error_objects(response), response)


def _text(value: object) -> str | None:
    return None if value is None else str(value)
