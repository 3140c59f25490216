"""Identifier formats: Leadfeeder-style base58 location ids and ``<company>_<location>`` leads."""

from __future__ import annotations

import hashlib
import re
import secrets
import uuid

_ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
# ASCII only: str.isdigit() also accepts "²", "٢" and "２", which int() either refuses (a 500)
# or reads as 2 (another account's id).
_DIGITS = re.compile(r"[0-9]+")


# Integer primary keys (accounts) are 32-bit on PostgreSQL: a larger id names no row, and
# binding it would fail the query ("integer out of range") rather than find nothing.
MAX_ROW_ID = 2**31 - 1


def whole_number(text: str, max_digits: int = 18) -> int | None:
    """``text`` as a non-negative integer when it is 1 to ``max_digits`` ASCII digits (no
    sign, no blanks); None otherwise."""
    if len(text) > max_digits or not _DIGITS.fullmatch(text):
        return None
    return int(text)


def base58(data: bytes) -> str:
    number = int.from_bytes(data, "big")
    out = []
    while number:
        number, rem = divmod(number, 58)
        out.append(_ALPHABET[rem])
    return "".join(reversed(out)) or _ALPHABET[0]


def location_id(country_code: str | None, region: str | None, city: str | None) -> str:
    """A stable 22-character id, so the same place always gets the same id without a lookup."""
    key = "\x1f".join(part or "" for part in (country_code, region, city)).lower()
    return base58(hashlib.sha256(key.encode()).digest())[:22]


def lead_id(company_id: str, location_id_: str) -> str:
    return f"{company_id}_{location_id_}"


def new_company_id() -> str:
    return str(uuid.uuid4())


def new_visit_id() -> str:
    return str(uuid.uuid4())


def new_script_hash() -> str:
    """16 characters like the seed's ``LbMwm7E2MdOZyAVe``."""
    return base58(secrets.token_bytes(16))[:16]


def new_api_token() -> str:
    return secrets.token_urlsafe(32)


def new_capability() -> str:
    """128 random bits for unguessable download names."""
    return secrets.token_hex(16)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
