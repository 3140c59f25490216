"""Query and body parameters shared by several routes, validated into typed values."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date

from openfeeder.domain.errors import BadRequest
from openfeeder.domain.ids import whole_number

_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
# C0 controls (NUL included) and DEL: no parameter of ours can hold one, and PostgreSQL's
# text types cannot store NUL at all, so they are refused before anything reaches the store.
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
DEFAULT_PAGE_SIZE = 10
MAX_PAGE_SIZE = 100


def refuse_control_characters(params: Mapping[str, str]) -> None:
    """400 naming the first parameter whose name or value holds a control character."""
    for name, value in params.items():
        if _CONTROL.search(name) or _CONTROL.search(value):
            shown = _CONTROL.sub("?", name)
            raise BadRequest(f"{shown} must not contain control characters.", shown)


def required(params: Mapping[str, str], name: str) -> str:
    value = params.get(name, "").strip()
    if not value:
        raise BadRequest(f"The parameter {name} is required.", name)
    return value


def a_date(params: Mapping[str, str], name: str) -> date:
    value = required(params, name)
    if not _DATE.fullmatch(value):
        raise BadRequest(f"{name} must be a date in the format yyyy-mm-dd, got {value!r}.", name)
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise BadRequest(f"{name} is not a valid calendar date: {value!r}.", name) from None


def interval(params: Mapping[str, str]) -> tuple[date, date]:
    first, last = a_date(params, "start_date"), a_date(params, "end_date")
    if first > last:
        raise BadRequest("start_date must not be after end_date.", "start_date")
    return first, last


def _whole(params: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = params.get(name)
    if raw is None:
        return default
    number = whole_number(raw.strip(), len(str(high)))
    if number is None or not low <= number <= high:
        raise BadRequest(
            f"{name} must be a whole number between {low} and {high}, got {raw!r}.", name
        )
    return number


def paging(params: Mapping[str, str]) -> tuple[int, int]:
    number = _whole(params, "page[number]", 1, 1, 10**9)
    size = _whole(params, "page[size]", DEFAULT_PAGE_SIZE, 1, MAX_PAGE_SIZE)
    return number, size
