"""The exception tree every layer raises; ``api/errors.py`` turns it into JSON:API errors.

OpenfeederError
├── BadRequest           400  (carries the offending query parameter)
├── Unauthorized         401
├── PremiumRequired      402
├── Forbidden            403
├── NotFound             404
├── MethodNotAllowed     405
├── Conflict             409
├── Gone                 410  (a link that was good once: a used or expired invitation)
├── PayloadTooLarge      413
└── RateLimited          429  (carries the exact body the seed documents)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar


@dataclass
class OpenfeederError(Exception):
    detail: str
    parameter: str | None = None
    headers: dict[str, str] = field(default_factory=dict)  # e.g. rate-limit headers
    status: ClassVar[int] = 500
    title: ClassVar[str] = "Internal Server Error"

    def __str__(self) -> str:
        return self.detail


class BadRequest(OpenfeederError):
    status = 400
    title = "Bad Request"


class Unauthorized(OpenfeederError):
    status = 401
    title = "Unauthorized"


class PremiumRequired(OpenfeederError):
    status = 402
    title = "Premium required"


class Forbidden(OpenfeederError):
    status = 403
    title = "Forbidden"


class NotFound(OpenfeederError):
    status = 404
    title = "Not Found"


class MethodNotAllowed(OpenfeederError):
    status = 405
    title = "Method Not Allowed"


class Conflict(OpenfeederError):
    status = 409
    title = "Conflict"


class Gone(OpenfeederError):
    status = 410
    title = "Gone"


class PayloadTooLarge(OpenfeederError):
    status = 413
    title = "Payload Too Large"


@dataclass
class RateLimited(OpenfeederError):
    """429 with the seed's body to the letter: a title and an ``about`` link, nothing else."""

    about: str = ""
    retry_after: int = 60
    status: ClassVar[int] = 429
    title: ClassVar[str] = "Too Many Requests"

    def body(self) -> dict[str, Any]:
        return {"errors": [{"title": self.detail, "links": {"about": self.about}}]}
