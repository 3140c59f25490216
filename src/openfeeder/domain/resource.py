"""What every resource model is: a msgspec ``Struct`` of one type's attributes object that
renders the JSON:API resource object, applies a sparse fieldset and, with the others, emits
its JSON Schema. The models themselves are in ``domain.representation``."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any, ClassVar

import msgspec
from msgspec import UNSET

__all__ = ["EXTENSION", "Resource", "Schema", "field_names", "json_schemas"]

Schema = dict[str, Any]

EXTENSION = "x-openfeeder-extension"  # marks what openfeeder adds to the seed's contract


class Resource(msgspec.Struct, forbid_unknown_fields=True, kw_only=True, gc=False):
    """The attributes object of one resource type, and the type's place in a document.

    ``gc=False``: these objects hold only strings, numbers and plain containers and never
    take part in a reference cycle, so the garbage collector need not track thousands of them
    in a lead list or an export.
    """

    TYPE: ClassVar[str]
    RELATIONSHIPS: ClassVar[Mapping[str, str]] = {}  # relationship name → related type
    ID_SCHEMA: ClassVar[Schema] = {}  # constraints on the resource's id beyond "a string"
    LISTED_ONLY: ClassVar[tuple[str, ...]] = ()  # attributes only lists carry
    SINGLE_DESCRIPTION: ClassVar[str | None] = None  # of a single resource, if LISTED_ONLY

    def attributes(self, wanted: frozenset[str] | None = None) -> Any:
        """The attributes object: the model itself when complete, else the ``wanted`` names
        (a sparse fieldset) in the model's order. Both encode the same way."""
        if wanted is None:
            return self
        return {
            name: value
            for name in _selected(type(self), wanted)
            if (value := getattr(self, name)) is not UNSET
        }

    def resource(
        self,
        id_: str,
        wanted: frozenset[str] | None = None,
        related: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        """The resource object; ``related`` maps each relationship to the related id.
        Relationships stay whatever the fieldset (JSON:API: a fieldset names attributes)."""
        attributes = self if wanted is None else self.attributes(wanted)
        out: dict[str, Any] = {"id": id_, "type": self.TYPE, "attributes": attributes}
        if self.RELATIONSHIPS:
            out["relationships"] = self.relationships(related or {})
        return out

    def relationships(self, related: Mapping[str, str]) -> dict[str, Any]:
        """The relationships object: each relationship's linkage to the related id."""
        out = {}
        # A loop, not a comprehension: this runs for every resource of a list or an export,
        # and on CPython 3.11 a comprehension costs a function object each time.
        for name, kind in self.RELATIONSHIPS.items():
            out[name] = {"data": {"id": related[name], "type": kind}}
        return out


@functools.lru_cache(maxsize=1024)  # bounded: clients choose the fieldsets
def _selected(model: type[Resource], wanted: frozenset[str]) -> tuple[str, ...]:
    # A fieldset applies to every resource of a page: put its names in model order once.
    return tuple(name for name in model.__struct_fields__ if name in wanted)


def field_names(model: type[Resource]) -> tuple[str, ...]:
    """The attribute names of a model, in wire order: what ``fields[<type>]`` may name."""
    return model.__struct_fields__


def json_schemas(models: tuple[type[Resource], ...], ref_prefix: str) -> dict[str, Schema]:
    """The JSON Schema of each model and of the value types they use, by class name, with
    references as ``<ref_prefix><name>``.

    msgspec writes the schemas; they are then put the way the hand-written document had them:
    ``type: [x, "null"]`` for a nullable value, string enums typed, no titles, descriptions
    on one line, every object closed (an attribute nobody documented fails validation), and
    no attribute of a model required, since a sparse fieldset may leave any out.
    """
    _, components = msgspec.json.schema_components(models, ref_template=ref_prefix + "{name}")
    resources = {model.__name__ for model in models}
    out: dict[str, Schema] = {}
    for name, schema in components.items():
        tidy = _tidy(schema)
        if name in resources:
            tidy.pop("required", None)
        out[name] = tidy
    return out


def _tidy(node: Any) -> Any:
    if isinstance(node, list):
        return [_tidy(item) for item in node]
    if not isinstance(node, dict):
        return node
    # A schema's title is a string; a property named "title" would be a schema (a dict).
    node = {k: _tidy(v) for k, v in node.items() if not (k == "title" and isinstance(v, str))}
    if isinstance(node.get("description"), str):  # a docstring wrapped at the line length
        node["description"] = " ".join(node["description"].split())
    if "enum" in node and "type" not in node and all(isinstance(v, str) for v in node["enum"]):
        node = {"type": "string"} | node
    branches = node.get("anyOf")
    if branches and all(set(b) <= {"type"} for b in branches[1:]) and "type" in branches[0]:
        # A union of plain types (str | None, str | int) as one list of types.
        first = branches[0]
        rest = {key: value for key, value in node.items() if key != "anyOf"}
        node = rest | first | {"type": [first["type"], *(b["type"] for b in branches[1:])]}
    if node.get("type") == "object" and "properties" in node:
        node.setdefault("additionalProperties", False)
    return node
