"""The client's models against the server's own OpenAPI document, fetched live from
``/openapi.json``: each model knows exactly the attributes the document gives its type, and
types each one as the document does (string, integer, boolean, array, object; dates and
date-times as such)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import types
import typing
from typing import Any

import pytest

from openfeeder_client import (
    Account,
    Client,
    CustomFeed,
    ExportRequest,
    ExportRow,
    Lead,
    Location,
    TrackingScript,
    Visit,
)

MODELS: tuple[Any, ...] = (
    Account,
    CustomFeed,
    Lead,
    Location,
    Visit,
    TrackingScript,
    ExportRequest,
    ExportRow,
)
_JSON_TYPES = {str: "string", int: "integer", bool: "boolean", float: "number", list: "array"}


def _resolve(document: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        node: Any = document
        for part in schema["$ref"].removeprefix("#/").split("/"):
            node = node[part]
        schema = node
    return schema


def attribute_schemas(document: dict[str, Any], type_: str) -> dict[str, Any]:
    """The attribute properties of ``type_``: of its fullest resource schema (a lead in a
    list carries quality, a single lead does not)."""
    found: list[dict[str, Any]] = []
    for schema in document["components"]["schemas"].values():
        properties = schema.get("properties", {})
        if properties.get("type") == {"const": type_} and "attributes" in properties:
            found.append(_resolve(document, properties["attributes"])["properties"])
    assert found, f"the document has no resource of type {type_}"
    return max(found, key=len)


def json_types(document: dict[str, Any], schema: dict[str, Any]) -> set[str]:
    """What a value may be, as (JSON type, format) words: string, string:date, integer, …"""
    schema = _resolve(document, schema)
    if "anyOf" in schema or "oneOf" in schema:
        branches = schema.get("anyOf", schema.get("oneOf"))
        return set().union(*(json_types(document, b) for b in branches))
    kinds = schema.get("type", "string" if "enum" in schema else None)
    assert kinds is not None, schema
    names = {kinds} if isinstance(kinds, str) else set(kinds)
    fmt = schema.get("format")
    return {f"{n}:{fmt}" if n == "string" and fmt in ("date", "date-time") else n for n in names}


def python_types(hint: Any) -> set[str]:
    """The same words for a client field's annotation (None dropped: a sparse fieldset may
    leave any attribute out, so every client field may be None)."""
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        return set().union(*(python_types(arg) for arg in typing.get_args(hint)))
    origin = typing.get_origin(hint) or hint
    if origin is type(None):
        return set()
    if origin is dt.datetime:
        return {"string:date-time"}
    if origin is dt.date:
        return {"string:date"}
    if origin is dict or dataclasses.is_dataclass(origin):
        return {"object"}
    return {_JSON_TYPES[origin]}


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.TYPE)
def test_each_model_knows_exactly_the_documented_attributes_and_their_types(
    client: Client, model: Any
) -> None:
    document = client.openapi()
    documented = attribute_schemas(document, model.TYPE)
    assert set(model.FIELDS) == set(documented), "the client's FIELDS and the document differ"
    hints = typing.get_type_hints(model)
    wrong = {
        name: (sorted(python_types(hints[name])), sorted(json_types(document, schema) - {"null"}))
        for name, schema in documented.items()
        if python_types(hints[name]) != json_types(document, schema) - {"null"}
    }
    assert not wrong, f"typed unlike the document (client, document): {wrong}"
