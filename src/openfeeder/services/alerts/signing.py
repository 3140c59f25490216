"""Standard Webhooks signatures: per-endpoint secrets ``whsec_<base64 of 24 random bytes>``,
and the ``webhook-id``, ``webhook-timestamp`` and ``webhook-signature`` headers, the last
``v1,<base64 HMAC-SHA256 of "id.timestamp.body">`` once per valid secret (two while a secret
is being rotated, space-separated), so receivers verify with the spec's libraries and refuse
old timestamps (replays)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets as random_secrets
from collections.abc import Sequence

from openfeeder.domain.errors import BadRequest

PREFIX = "whsec_"
SECRET_BYTES = 24


def new_secret() -> str:
    return PREFIX + base64.b64encode(random_secrets.token_bytes(SECRET_BYTES)).decode("ascii")


def secret_key(secret: str) -> bytes:
    """The HMAC key a ``whsec_`` secret stands for; BadRequest for anything else."""
    if not secret.startswith(PREFIX):
        raise BadRequest("A signing secret starts with whsec_.", parameter="secret")
    try:
        key = base64.b64decode(secret.removeprefix(PREFIX), validate=True)
    except ValueError:
        raise BadRequest("A signing secret is whsec_ and base64.", parameter="secret") from None
    if not 24 <= len(key) <= 64:
        raise BadRequest("A signing secret holds 24 to 64 bytes.", parameter="secret")
    return key


def signature(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    signed = f"{message_id}.{timestamp}.".encode() + body
    digest = hmac.new(secret_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")


def signed_headers(
    secrets: Sequence[str], message_id: str, timestamp: int, body: bytes
) -> dict[str, str]:
    """The three Standard Webhooks headers for one message."""
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": " ".join(signature(s, message_id, timestamp, body) for s in secrets),
    }
