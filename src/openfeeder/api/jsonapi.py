"""JSON:API documents: responses, sparse fieldsets and pagination links. Resource objects
are rendered by their models (``domain.representation``)."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import msgspec
from starlette.responses import Response

from openfeeder.domain.errors import BadRequest

MEDIA_TYPE = "application/vnd.api+json"


_encoder = msgspec.json.Encoder()


class JSONAPIResponse(Response):
    """A JSON body; msgspec encodes the resource models inside it directly (no dict copy)."""

    media_type = MEDIA_TYPE

    def render(self, content: Any) -> bytes:
        return _encoder.encode(content)


@dataclass(frozen=True)
class Fieldsets:
    """``fields[type]=a,b`` per type; a type not named keeps all its attributes."""

    by_type: Mapping[str, frozenset[str]]

    @classmethod
    def parse(cls, query: Mapping[str, str], known: Mapping[str, Iterable[str]]) -> Fieldsets:
        chosen: dict[str, frozenset[str]] = {}
        for key, value in query.items():
            if not (key.startswith("fields[") and key.endswith("]")):
                continue
            kind = key[len("fields[") : -1]
            if kind not in known:
                valid = ", ".join(sorted(known))
                raise BadRequest(f"Unknown type {kind!r} in {key}; valid types: {valid}.", key)
            names = frozenset(name.strip() for name in value.split(",") if name.strip())
            unknown = sorted(names - set(known[kind]))
            if unknown:
                valid = ", ".join(known[kind])
                raise BadRequest(
                    f"Unknown field(s) {', '.join(unknown)} for {kind}; valid fields: {valid}.", key
                )
            chosen[kind] = names
        return cls(chosen)

    def of(self, kind: str) -> frozenset[str] | None:
        """The attributes asked for of one type; None: all of them."""
        return self.by_type.get(kind)


ALL_FIELDS = Fieldsets({})


def page_links(
    base_url: str, params: Mapping[str, str], number: int, size: int, total: int
) -> dict[str, str]:
    """self/first/last always; prev not on page 1; next not on the last page."""
    last = max(1, math.ceil(total / size))

    def link(page: int) -> str:
        query = dict(params) | {"page[number]": str(page), "page[size]": str(size)}
        return f"{base_url}?{urlencode(sorted(query.items()))}"

    links = {"self": link(number), "first": link(1), "last": link(last)}
    if number > 1:
        links["prev"] = link(min(number - 1, last))
    if number < last:
        links["next"] = link(number + 1)
    return links
