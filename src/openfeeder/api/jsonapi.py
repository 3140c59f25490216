"""JSON:API documents: responses, resource objects, sparse fieldsets and pagination links."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import orjson
from starlette.responses import Response

from openfeeder.domain.errors import BadRequest

MEDIA_TYPE = "application/vnd.api+json"


class JSONAPIResponse(Response):
    media_type = MEDIA_TYPE

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


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

    def select(self, kind: str, attributes: dict[str, Any]) -> dict[str, Any]:
        wanted = self.by_type.get(kind)
        if wanted is None:
            return attributes
        return {name: value for name, value in attributes.items() if name in wanted}


ALL_FIELDS = Fieldsets({})


def resource(
    kind: str,
    id_: str,
    attributes: dict[str, Any],
    fields: Fieldsets = ALL_FIELDS,
    relationships: dict[str, tuple[str, str]] | None = None,
) -> dict[str, Any]:
    """A resource object; relationships map a name to (type, id) and stay whatever the fields."""
    out: dict[str, Any] = {"id": id_, "type": kind, "attributes": fields.select(kind, attributes)}
    if relationships:
        out["relationships"] = {
            name: {"data": {"id": rel_id, "type": rel_type}}
            for name, (rel_type, rel_id) in relationships.items()
        }
    return out


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
