"""The tracker's wire format: decoding a base64 event, validating it into a ``TrackerEvent``
or a ``BadEvent`` naming the reason, and reading the fields the pipeline needs from a stored
payload. ``docs/tracking.md`` documents the same format; this module is what enforces it."""

from __future__ import annotations

import base64
import binascii
import functools
import itertools
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final, Literal, cast
from urllib.parse import urlsplit

import orjson

EventType = Literal["tracking-event", "form-submit", "file-download", "video-start", "identify"]
EVENT_TYPES: Final[frozenset[str]] = frozenset(
    ("tracking-event", "form-submit", "file-download", "video-start", "identify")
)

# Every reason a payload can be refused for; each has its own counter, so a broken page or a
# probe shows up in /metrics by name rather than as a single "bad request" number.
REASONS: Final[tuple[str, ...]] = (
    "missing_data",
    "too_large",
    "bad_base64",
    "bad_json",
    "not_an_object",
    "bad_event",
    "bad_client_event_id",
    "bad_client_id",
    "bad_script_id",
    "bad_context",
    "bad_page_url",
    "bad_field",
)

CLIENT_EVENT_ID = re.compile(r"[0-9a-fA-F]{16}")
# LF1.1.<16 hex>.<ms since the epoch>, with ".NC" when the browser keeps no cookie.
LF_CLIENT_ID = re.compile(r"LF1\.1\.[0-9a-f]{16}\.[0-9]{1,16}(\.NC)?")
SCRIPT_ID = re.compile(r"[0-9A-Za-z]{1,32}")
MAX_URL = 4096
MAX_TEXT = 1024
MAX_IDS = 10
MAX_DEPTH = 32  # nesting of the free-form properties; real ones are flat
# A browser percent-encodes controls in URLs; a title may carry tabs and line breaks.
_URL_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_TEXT_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


@dataclass
class BadEvent(Exception):
    """A tracker payload we refuse (400); ``reason`` is one of ``REASONS``."""

    reason: str
    detail: str

    def __str__(self) -> str:
        return f"{self.reason}: {self.detail}"


@dataclass(frozen=True)
class TrackerEvent:
    """A validated event; ``raw`` is the JSON object exactly as the browser sent it."""

    type: EventType
    client_event_id: str  # lower-case hex, the deduplication key
    script_id: str | None
    lf_client_id: str
    cookieless: bool
    page_url: str
    page_title: str
    referrer: str
    ga_client_ids: tuple[str, ...]
    adobe_cookies: tuple[dict[str, str], ...]
    properties: Mapping[str, Any]
    raw: Mapping[str, Any]


def decode(data: str | bytes, limit: int | None = None) -> dict[str, Any]:
    """base64 (standard or URL-safe, padding optional) of UTF-8 JSON → the JSON object;
    more than ``limit`` bytes of JSON is ``too_large``."""
    return _loads(_unbase64(data, limit))


def _unbase64(data: str | bytes, limit: int | None) -> bytes:
    text = data.decode("ascii", "replace") if isinstance(data, bytes) else data
    # A "+" in an unencoded query string arrives as a space; put it back.
    text = text.strip().replace(" ", "+")
    if not text:
        raise BadEvent("missing_data", "the event data is empty")
    text = text.replace("-", "+").replace("_", "/")
    try:
        raw = base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise BadEvent("bad_base64", "the event data is not base64") from None
    if limit is not None and len(raw) > limit:
        raise BadEvent("too_large", f"the event is larger than {limit} bytes")
    return raw


def _loads(raw: bytes) -> dict[str, Any]:
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise BadEvent("bad_json", "the event data is not UTF-8 JSON") from None
    if not isinstance(value, dict):
        raise BadEvent("not_an_object", "the event must be a JSON object")
    return value


def _plainly_flat(raw: bytes) -> bool:
    """Whether JSON text ``raw`` can hold neither U+0000 nor more than ``MAX_DEPTH`` levels, so
    ``_refuse_nul`` need not walk it: JSON writes U+0000 only as the escape ``\\u0000`` (a raw
    control character is no JSON), and a value ``MAX_DEPTH + 1`` levels down needs that many
    opening brackets. Either may also be counted inside strings: then the walk decides."""
    return b"\\u0000" not in raw and raw.count(b"{") + raw.count(b"[") <= MAX_DEPTH


def parse(data: str | bytes, sid: str | None = None, limit: int | None = None) -> TrackerEvent:
    """Decode and validate one event; ``sid`` is the script hash from the query string."""
    raw = _unbase64(data, limit)
    return validate(_loads(raw), sid, walk=not _plainly_flat(raw))


def validate(raw: Mapping[str, Any], sid: str | None = None, *, walk: bool = True) -> TrackerEvent:
    """Check the fields the rest of the system relies on; unknown fields are kept as sent.
    ``walk=False`` skips looking for U+0000 and deep nesting, for JSON text known to hold
    neither (``parse``)."""
    kind = raw.get("event")
    if not isinstance(kind, str) or kind not in EVENT_TYPES:
        raise BadEvent("bad_event", f"event must be one of {', '.join(sorted(EVENT_TYPES))}")
    event_id = raw.get("clientEventId")
    if not isinstance(event_id, str) or not CLIENT_EVENT_ID.fullmatch(event_id):
        raise BadEvent("bad_client_event_id", "clientEventId must be 16 hexadecimal digits")
    client_id = raw.get("lfClientId")
    if not isinstance(client_id, str) or not LF_CLIENT_ID.fullmatch(client_id):
        raise BadEvent("bad_client_id", "lfClientId must look like LF1.1.<16 hex>.<ms>[.NC]")
    script_id = raw.get("scriptId")
    if script_id is not None and (
        not isinstance(script_id, str) or not SCRIPT_ID.fullmatch(script_id)
    ):
        raise BadEvent("bad_script_id", "scriptId must be the script hash")
    if sid is not None and script_id is not None and script_id != sid:
        raise BadEvent("bad_script_id", "scriptId does not match the sid parameter")
    context = raw.get("context")
    if not isinstance(context, dict):
        raise BadEvent("bad_context", "context must be an object")
    page_url = context.get("pageUrl")
    if not _is_web_url(page_url):
        raise BadEvent("bad_page_url", "context.pageUrl must be an http(s) URL")
    assert isinstance(page_url, str)
    title = _text(context, "pageTitle", MAX_TEXT, "context.pageTitle")
    referrer = _text(context, "referrer", MAX_URL, "context.referrer")
    for flag in ("cookiesEnabled", "anonymizeIp"):
        if not isinstance(raw.get(flag, False), bool):
            raise BadEvent("bad_field", f"{flag} must be true or false")
    for name in ("clientTimestamp", "clientTimezone"):
        _text(raw, name, 64, name)
    ga_ids = _strings(raw, "gaClientIds")
    _strings(raw, "gaTrackingIds")
    cookies = raw.get("foreignCookies", [])
    if not isinstance(cookies, list) or len(cookies) > MAX_IDS:
        raise BadEvent("bad_field", "foreignCookies must be a list of {type, value}")
    for cookie in cookies:
        if not (
            isinstance(cookie, dict)
            and isinstance(cookie.get("type"), str)
            and isinstance(cookie.get("value"), str)
            and len(cookie["value"]) <= MAX_TEXT
        ):
            raise BadEvent("bad_field", "foreignCookies must be a list of {type, value}")
    properties = raw.get("properties", {})
    if not isinstance(properties, dict):
        raise BadEvent("bad_field", "properties must be an object")
    if walk:
        _refuse_nul(raw)
    for label, text in (("context.pageUrl", page_url), ("context.referrer", referrer)):
        if _URL_CONTROL.search(text):
            raise BadEvent("bad_field", f"{label} must not contain control characters")
    if _TEXT_CONTROL.search(title):
        raise BadEvent("bad_field", "context.pageTitle must not contain control characters")
    return TrackerEvent(
        type=cast(EventType, kind),  # checked against EVENT_TYPES above
        client_event_id=event_id.lower(),
        script_id=script_id,
        lf_client_id=client_id,
        cookieless=client_id.endswith(".NC"),
        page_url=page_url,
        page_title=title,
        referrer=referrer,
        ga_client_ids=tuple(ga_ids),
        adobe_cookies=tuple(adobe_ids(cookies)),
        properties=properties,
        raw=raw,
    )


def adobe_ids(foreign_cookies: list[Any]) -> list[dict[str, str]]:
    """Adobe visitor ids from ``AMCV`` foreign cookies, shaped like the API's ``adobe_cookies``.

    An AMCV value is a version mark followed by ``key|value`` pairs, some keys with an
    expiry suffix (``-1124106680|MCMID|681245|MCAAMLH-1700000000|6|…``); only MCMID, MCAAMB
    and MCAAMLH are kept.
    """
    found = []
    for cookie in foreign_cookies:
        if not isinstance(cookie, dict) or cookie.get("type") != "AMCV":
            continue
        parts = str(cookie.get("value", "")).split("|")
        ids = {}
        for key, value in itertools.pairwise(parts):
            name = key.split("-", 1)[0]
            if name in ("MCMID", "MCAAMB", "MCAAMLH") and value and name not in ids:
                ids[name] = value
        if ids:
            found.append(ids)
    return found


def _refuse_nul(value: object, depth: int = 0) -> None:
    """U+0000 anywhere in the event, names included: PostgreSQL's text types cannot hold it,
    so a hit carrying one could be acknowledged but never recorded."""
    if depth == 0 and _plainly_clean(value):
        return
    if depth > MAX_DEPTH:
        raise BadEvent("bad_field", f"the event nests deeper than {MAX_DEPTH} levels")
    if isinstance(value, str):
        if "\x00" in value:
            raise BadEvent("bad_field", "the event must not contain U+0000")
    elif isinstance(value, dict):
        for key, item in value.items():
            _refuse_nul(key, depth)
            _refuse_nul(item, depth + 1)
    elif isinstance(value, list):
        for item in value:
            _refuse_nul(item, depth + 1)


def _plainly_clean(value: object) -> bool:
    """The quick answer for the usual event, from its JSON text (orjson writes U+0000 as
    ``\\u0000``): no U+0000, and no more brackets than the depth limit, so it cannot nest
    too deep. False means only "look closer"."""
    try:
        text = orjson.dumps(value)
    except TypeError:  # not JSON (too deep for orjson, or odd types): the walk decides
        return False
    return b"\\u0000" not in text and text.count(b"[") + text.count(b"{") <= MAX_DEPTH


def _is_web_url(value: object) -> bool:
    if not isinstance(value, str) or len(value) > MAX_URL:
        return False
    return _web_url(value)


@functools.lru_cache(maxsize=4096)
def _web_url(value: str) -> bool:
    """An http(s) URL with a host (the last few thousand answers remembered: a site's hits
    repeat its pages)."""
    try:
        parts = urlsplit(value)
    except ValueError:  # e.g. an unbalanced "[" in the host
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def _text(source: Mapping[str, Any], key: str, limit: int, label: str) -> str:
    value = source.get(key)
    if value is None:
        return ""
    if not isinstance(value, str) or len(value) > limit:
        raise BadEvent("bad_field", f"{label} must be a string of at most {limit} characters")
    return value


def _strings(source: Mapping[str, Any], key: str) -> list[str]:
    value = source.get(key, [])
    if (
        not isinstance(value, list)
        or len(value) > MAX_IDS
        or not all(isinstance(v, str) and len(v) <= 200 for v in value)
    ):
        raise BadEvent("bad_field", f"{key} must be a list of at most {MAX_IDS} strings")
    return value
