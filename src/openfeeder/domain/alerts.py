"""Alerts: what a rule watches for (its trigger and parameters), where its events go (endpoints
of four channel kinds), and the rules that are pure arithmetic — glob matching of page
patterns, the retry schedule of deliveries. No I/O; ``services.alerts`` does the rest."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Annotated, Any, ClassVar, TypeVar
from urllib.parse import urlsplit

from msgspec import UNSET, Meta, UnsetType

from openfeeder.domain.errors import BadRequest
from openfeeder.domain.resource import Resource


class Trigger(StrEnum):
    NEW_COMPANY = "new_company"  # the lead's first visit, once the lead is in the feed
    RETURNING = "returning"  # a visit after at least ``days`` days without one
    PAGE_VISIT = "page_visit"  # a visit with a page whose URL or path matches ``pattern``
    QUALITY = "quality"  # the lead's quality in the feed reaches ``quality``


class ChannelKind(StrEnum):
    WEBHOOK = "webhook"
    SLACK = "slack"
    TEAMS = "teams"
    EMAIL = "email"


# The event type of each trigger, in webhook bodies and REST hook subscriptions.
EVENT_TYPES: dict[Trigger, str] = {
    Trigger.NEW_COMPANY: "lead.new_company",
    Trigger.RETURNING: "lead.returning",
    Trigger.PAGE_VISIT: "lead.page_visit",
    Trigger.QUALITY: "lead.quality",
}
TEST_EVENT_TYPE = "test"

MAX_PATTERN = 300  # characters of a page pattern
MAX_PATTERN_STARS = 10  # wildcards in one pattern: matching stays linear in the URL
MAX_RETURNING_DAYS = 3650
MAX_COOLDOWN_SECONDS = 366 * 86400
MAX_NAME = 200
MAX_URL = 2000
MAX_TEMPLATE = 20_000
MAX_TARGETS = 20


@dataclass(frozen=True)
class Rule:
    id: int
    account_id: int
    name: str
    feed_id: str
    trigger: Trigger
    params: dict[str, Any]
    cooldown_seconds: int
    enabled: bool
    endpoint_ids: tuple[int, ...]
    user_id: int | None  # whose "followed companies" a rule on that feed means
    created_at: datetime


@dataclass(frozen=True)
class Endpoint:
    id: int
    account_id: int
    kind: ChannelKind
    name: str
    url: str
    config: dict[str, Any]  # per kind: a webhook's body template, an email's recipients
    secrets: tuple[str, ...]  # webhook signing secrets, newest first (two while rotating)
    enabled: bool
    created_at: datetime
    failing_since: datetime | None = None
    disabled_at: datetime | None = None
    disabled_reason: str | None = None

    @property
    def shown_target(self) -> str:
        """Where the endpoint sends to, fit to show in a page or an email: a Slack or Teams
        incoming-webhook URL is a credential of its own, so only its host."""
        if self.kind is ChannelKind.EMAIL:
            return ", ".join(self.config.get("to", [])) or self.url
        if self.kind in (ChannelKind.SLACK, ChannelKind.TEAMS):
            return f"{urlsplit(self.url).hostname or ''}/…"
        return self.url


@dataclass(frozen=True)
class Delivery:
    id: int
    event_id: str
    endpoint_id: int
    status: str  # pending, delivered, failed (retries used up)
    attempts: int
    next_attempt_at: datetime | None
    created_at: datetime
    delivered_at: datetime | None
    last_error: str | None
    event_type: str = ""


@dataclass(frozen=True)
class Attempt:
    id: int
    delivery_id: int
    at: datetime
    request_headers: dict[str, str]
    request_body: str
    response_status: int | None
    response_excerpt: str | None
    latency_ms: int
    error: str | None


@dataclass(frozen=True)
class DueDelivery:
    """A claimed delivery with what sending it needs."""

    delivery: Delivery
    endpoint: Endpoint
    event: dict[str, Any] | None  # the webhook body; None until the first attempt builds it


def parse_params(trigger: Trigger, raw: dict[str, Any]) -> dict[str, Any]:
    """A trigger's parameters, validated: ``days`` (returning), ``pattern`` (page_visit),
    ``quality`` (quality); none for new_company."""
    match trigger:
        case Trigger.NEW_COMPANY:
            return {}
        case Trigger.RETURNING:
            return {"days": _whole(raw.get("days"), "days", 1, MAX_RETURNING_DAYS)}
        case Trigger.PAGE_VISIT:
            pattern = raw.get("pattern")
            if not isinstance(pattern, str) or not pattern.strip():
                raise BadRequest("A page_visit rule needs a pattern.", parameter="pattern")
            if len(pattern) > MAX_PATTERN or pattern.count("*") > MAX_PATTERN_STARS:
                raise BadRequest(
                    f"A pattern has at most {MAX_PATTERN} characters and "
                    f"{MAX_PATTERN_STARS} wildcards.",
                    parameter="pattern",
                )
            return {"pattern": pattern.strip()}
        case Trigger.QUALITY:
            return {"quality": _whole(raw.get("quality"), "quality", 1, 10)}
    raise AssertionError(trigger)  # pragma: no cover - exhaustive


def parse_trigger(value: str) -> Trigger:
    return _member(Trigger, value, "trigger")


def parse_kind(value: str) -> ChannelKind:
    return _member(ChannelKind, value, "kind")


_E = TypeVar("_E", bound=StrEnum)


def _member(kind: type[_E], value: str, name: str) -> _E:
    try:
        return kind(value)
    except ValueError:
        valid = ", ".join(member.value for member in kind)
        raise BadRequest(f"{name} must be one of: {valid}", parameter=name) from None


def parse_cooldown(value: Any) -> int:
    return _whole(value, "cooldown", 0, MAX_COOLDOWN_SECONDS)


def _whole(value: Any, name: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise BadRequest(f"{name} must be a whole number from {low} to {high}.", parameter=name)
    try:
        number = int(value)
    except ValueError:
        raise BadRequest(
            f"{name} must be a whole number from {low} to {high}.", parameter=name
        ) from None
    if not low <= number <= high:
        raise BadRequest(f"{name} must be a whole number from {low} to {high}.", parameter=name)
    return number


def glob_match(pattern: str, text: str) -> bool:
    """Whether ``text`` matches ``pattern`` as a whole, case-insensitively: ``*`` is any run of
    characters, ``?`` one character, anything else itself. Greedy-free: each literal piece
    between stars is found left to right once, so the cost is linear in the text whatever
    the pattern (no regular expression, no backtracking)."""
    pattern, text = pattern.lower(), text.lower()
    pieces = pattern.split("*")
    if len(pieces) == 1:
        return len(text) == len(pattern) and _piece_at(pattern, text, 0)
    head, *middle, tail = pieces
    if len(text) < len(head) + len(tail) or not _piece_at(head, text, 0):
        return False
    end = len(text) - len(tail)
    if not _piece_at(tail, text, end):
        return False
    position = len(head)
    for piece in middle:
        found = _find(piece, text, position, end)
        if found < 0:
            return False
        position = found + len(piece)
    return True


def _piece_at(piece: str, text: str, at: int) -> bool:
    if "?" not in piece:
        return text.startswith(piece, at)
    if at + len(piece) > len(text):
        return False
    return all(p in ("?", c) for p, c in zip(piece, text[at : at + len(piece)], strict=True))


def _find(piece: str, text: str, start: int, end: int) -> int:
    if not piece:
        return start
    if "?" not in piece:
        return text.find(piece, start, end)
    for at in range(start, end - len(piece) + 1):
        if _piece_at(piece, text, at):
            return at
    return -1


# Waits before each retry: about a day in all (the Standard Webhooks spec's example schedule).
RETRY_DELAYS = (
    timedelta(minutes=1),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=5),
    timedelta(hours=10),
)
JITTER = 0.1  # each wait is stretched or shrunk by up to a tenth, so retries do not stampede


def next_retry(attempts: int, now: datetime, rng: random.Random) -> datetime | None:
    """When to try again after ``attempts`` failed attempts; None once retries are used up."""
    if attempts > len(RETRY_DELAYS):
        return None
    delay = RETRY_DELAYS[attempts - 1]
    return now + delay * (1 + rng.uniform(-JITTER, JITTER))


# ── REST hooks (``POST /hooks``): a subscription as the API renders it ──


class HookAttributes(Resource):
    """A REST hook: a target URL subscribed to one event type of an account."""

    TYPE: ClassVar[str] = "hooks"

    account_id: Annotated[str, Meta(description="The account whose events are sent.")]
    event: Annotated[
        str,
        Meta(
            description="The event type: lead.new_company, lead.returning, lead.page_visit "
            "or lead.quality."
        ),
    ]
    target_url: Annotated[
        str, Meta(description="Where the events are POSTed.", extra_json_schema={"format": "uri"})
    ]
    feed_id: Annotated[str, Meta(description="The feed whose leads the events are about.")]
    created_at: Annotated[
        str, Meta(description="When it was made (UTC).", extra_json_schema={"format": "date-time"})
    ]
    secret: (
        Annotated[
            str,
            Meta(
                description="The Standard Webhooks signing secret (whsec_…) of the deliveries; "
                "only in the answer that creates the hook.",
            ),
        ]
        | UnsetType
    ) = UNSET


HOOK_EVENTS: dict[str, Trigger] = {name: trigger for trigger, name in EVENT_TYPES.items()}
