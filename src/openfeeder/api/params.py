"""Query and body parameters shared by several routes, validated into typed values."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date

from openfeeder.domain.errors import BadRequest

_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
DEFAULT_PAGE_SIZE = 10
MAX_PAGE_SIZE = 100


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
    if not raw.strip().isdigit() or not low <= int(raw) <= high:
        bounds = f"between {low} and {high}" if high < 10**9 else f"at least {low}"
        raise BadRequest(f"{name} must be a whole number {bounds}, got {raw!r}.", name)
    return int(raw)


def paging(params: Mapping[str, str]) -> tuple[int, int]:
    number = _whole(params, "page[number]", 1, 1, 10**9)
    size = _whole(params, "page[size]", DEFAULT_PAGE_SIZE, 1, MAX_PAGE_SIZE)
    return number, size
