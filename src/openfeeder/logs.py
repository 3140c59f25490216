"""How openfeeder's processes log: one configuration (``configure``) that ``serve`` and
``worker`` install for openfeeder's loggers, uvicorn's (server and access log) and every
library's — text lines or one JSON object per line, on stderr — and the context each record
carries: the id of the HTTP request it was logged while answering (``request_id``), of the
pipeline batch (``batch_id``) or of the job (``job_id``).

The request id lives in a context variable, so it follows the request into every coroutine
and ``run_in_threadpool`` call that answers it, and uvicorn's access line and its
"Exception in ASGI application" traceback (both logged in the request's task) carry it too.
For the tracker's hot path the id is lazy: ``enter_request`` only remembers the ASGI scope,
and the id is read from ``X-Request-ID`` (or made) the first time a record needs it.

JSON lines are formatted by python-json-logger: a ``logging.Formatter``, so every library that
logs through the standard library (uvicorn, huey, alembic) comes out as JSON unchanged, which
structlog would give only through its standard-library bridge, for no gain here.
"""

from __future__ import annotations

import logging
import logging.config
import re
import secrets
import sys
import threading
from collections.abc import Iterator, Mapping, MutableMapping
from contextlib import contextmanager
from contextvars import ContextVar
from types import MappingProxyType, TracebackType
from typing import Any, Final, Literal

from pythonjsonlogger.core import RESERVED_ATTRS
from pythonjsonlogger.orjson import OrjsonFormatter

__all__ = [
    "REQUEST_ID_HEADER",
    "LogFormat",
    "bound",
    "configure",
    "enter_request",
    "new_id",
    "request_id",
    "sane_request_id",
]

LogFormat = Literal["text", "json"]

# The line `openfeeder worker` has always written, now that of `serve` too.
TEXT_FORMAT: Final = "%(asctime)s %(levelname)s %(name)s: %(message)s"
REQUEST_ID_HEADER: Final = b"x-request-id"
# What an incoming X-Request-ID may be to be kept: it is the client's (or a proxy's) input,
# written into every log line of the request, so no control characters, quotes, spaces or
# newlines (no forged lines in a text log) and a bound on length. Covers UUIDs, nginx's
# $request_id, Heroku's and most tracing ids.
_SANE: Final = re.compile(rb"[A-Za-z0-9._:+=@/-]{1,128}")
_SCOPE_KEY: Final = "openfeeder.request_id"

# The ASGI scope of the request being answered (its id is made from it on first use).
_request: ContextVar[MutableMapping[str, Any] | None] = ContextVar(
    "openfeeder_request", default=None
)
# Other context: a pipeline batch's or a job's id.
_NO_FIELDS: Final[Mapping[str, str]] = MappingProxyType({})
_fields: ContextVar[Mapping[str, str]] = ContextVar("openfeeder_log_fields", default=_NO_FIELDS)


def new_id() -> str:
    """A fresh id: 128 random bits as 32 hex digits (the form of nginx's $request_id)."""
    return secrets.token_hex(16)


def sane_request_id(value: bytes) -> str | None:
    """``value`` as a request id if it is one to keep (see ``_SANE``), else None."""
    return value.decode("ascii") if _SANE.fullmatch(value) else None


def request_id(scope: MutableMapping[str, Any]) -> str:
    """The id of the request of this ASGI scope: its first ``X-Request-ID`` when sane, else a
    new one; made once and kept in the scope."""
    found = scope.get(_SCOPE_KEY)
    if found is None:
        for name, value in scope.get("headers", ()):
            if name == REQUEST_ID_HEADER:
                found = sane_request_id(value)
                break
        found = scope[_SCOPE_KEY] = found or new_id()
    return str(found)


def enter_request(scope: MutableMapping[str, Any]) -> None:
    """Records logged from here on in this context belong to this request. No reset: each
    request runs in a task of its own, whose context ends with it."""
    _request.set(scope)


@contextmanager
def bound(**fields: str) -> Iterator[None]:
    """Records logged inside carry these fields (``batch_id=…``, ``job_id=…``)."""
    token = _fields.set({**_fields.get(), **fields})
    try:
        yield
    finally:
        _fields.reset(token)


class ContextFilter(logging.Filter):
    """Adds the context's ids to every record its handler writes."""

    def filter(self, record: logging.LogRecord) -> bool:
        scope = _request.get()
        if scope is not None:
            record.request_id = request_id(scope)
        for name, value in _fields.get().items():
            setattr(record, name, value)
        return True


class AccessFields(logging.Filter):
    """uvicorn's access line with its parts as JSON fields too (client, method, path,
    http_version, status), for a log store to query without parsing the message."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) == 5:
            record.client, record.method, record.path, record.http_version, record.status = args
        return True


def _json_formatter() -> logging.Formatter:
    return OrjsonFormatter(
        ["levelname", "name", "message"],
        rename_fields={"levelname": "level", "name": "logger"},
        timestamp=True,  # ISO 8601, UTC
        # uvicorn adds a colourised copy of some messages as an extra.
        reserved_attrs=[*RESERVED_ATTRS, "color_message"],
    )


def _log_uncaught(
    kind: type[BaseException], error: BaseException, trace: TracebackType | None
) -> None:
    logging.getLogger("openfeeder").critical("uncaught exception", exc_info=(kind, error, trace))


def _log_uncaught_in_thread(args: threading.ExceptHookArgs) -> None:
    if args.exc_value is None or issubclass(args.exc_type, SystemExit):
        return  # as Python's own hook: a thread that exits says nothing
    logging.getLogger("openfeeder").critical(
        "uncaught exception in thread %s",
        args.thread.name if args.thread is not None else "?",
        exc_info=(args.exc_type, args.exc_value, args.exc_traceback),
    )


def configure(log_format: LogFormat) -> None:
    """Log every record of level INFO and up to stderr in ``log_format``. uvicorn's loggers
    propagate here (``serve`` runs uvicorn with ``log_config=None``); whether its access
    log writes at all stays uvicorn's ``access_log`` option (``OPENFEEDER_ACCESS_LOG``)."""
    json = log_format == "json"
    logging.config.dictConfig(
        {
            "version": 1,
            "disable_existing_loggers": False,
            "filters": {
                "context": {"()": ContextFilter},
                "access": {"()": AccessFields},
            },
            "formatters": {
                "text": {"format": TEXT_FORMAT},
                "json": {"()": _json_formatter},
            },
            "handlers": {
                "stderr": {
                    "class": "logging.StreamHandler",
                    "stream": "ext://sys.stderr",
                    "formatter": log_format,
                    "filters": ["context"],
                },
            },
            "loggers": {
                "uvicorn": {"level": "INFO", "handlers": [], "propagate": True},
                "uvicorn.error": {"level": "INFO", "handlers": [], "propagate": True},
                "uvicorn.access": {
                    "level": "INFO",
                    "handlers": [],
                    "propagate": True,
                    "filters": ["access"] if json else [],
                },
                # httpx logs every request's URL at INFO: a Slack or Teams webhook URL is a
                # secret, and alert deliveries are logged (and recorded) by openfeeder itself.
                "httpx": {"level": "WARNING"},
                "httpcore": {"level": "WARNING"},
                # /readyz asks alembic for the store's revision, and alembic logs its
                # "Context impl" lines at INFO on every ask: every few seconds behind a
                # load balancer.
                "alembic": {"level": "WARNING"},
            },
            "root": {"level": "INFO", "handlers": ["stderr"]},
        }
    )
    logging.captureWarnings(True)  # warnings are records too, in the same format
    if json:
        # Python prints these itself, as lines no JSON reader takes.
        sys.excepthook = _log_uncaught
        threading.excepthook = _log_uncaught_in_thread
