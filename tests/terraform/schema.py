"""A provider's schema, read from its prebuilt CDKTF package's jsii assembly (pure: no I/O).

The CDKTF provider packages on PyPI are generated from the provider binaries' own schemas, so their
assembly is the schema of one exact provider release: every resource and data source type, its
arguments (snake_case names from the registry links in the property docs), nested blocks, and the
attributes it exposes (the classes' getters, compared without case and underscores).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Attr:
    """A readable attribute: nothing below it (primitive), an object, or a list/map of objects."""

    kind: str  # "value" | "object" | "list" | "map" | "any"
    attrs: dict[str, Attr] | None = None  # for object/list/map: the element's attributes


@dataclass
class Block:
    """What may be written inside one block: arguments and nested blocks (by snake_case name)."""

    arguments: dict[str, bool] = field(default_factory=dict)  # name => required
    # name => "value" (string, number, bool), "list", "map" or "any": literal values are checked
    shapes: dict[str, str] = field(default_factory=dict)
    blocks: dict[str, tuple[bool, Block]] = field(default_factory=dict)  # name => required, schema


@dataclass
class Kind:
    """One resource or data source type: what it takes and what it exposes."""

    block: Block
    attrs: dict[str, Attr]  # normalized name (see _norm) => readable attribute


@dataclass
class ProviderSchema:
    name: str  # local name: google, aws, random, ...
    source: str  # hashicorp/google
    version: str  # the provider release the package was generated from
    config: Block
    resources: Mapping[str, Kind]
    data_sources: Mapping[str, Kind]


def norm(name: str) -> str:
    """Attribute names compared without case and underscores: jsii getters are camelCase and
    cannot always be turned back into snake_case (outputBase64Sha256 is output_base64sha256)."""
    return name.replace("_", "").lower()


def _snake(camel: str) -> str:
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", camel).lower()


_LINK = re.compile(r"\{@link\s+https://registry\.terraform\.io/providers/([^\s}]+)\s+([^}]*)\}")


class _Assembly:
    """Walks a jsii assembly's `types`, lazily and memoized (nested types are shared)."""

    def __init__(self, types: Mapping[str, Any]) -> None:
        self.types = types
        self._blocks: dict[str, Block] = {}
        self._attrs: dict[str, dict[str, Attr]] = {}

    @staticmethod
    def _docs(prop: Mapping[str, Any]) -> str:
        docs = prop.get("docs", {})
        return f"{docs.get('summary', '')} {docs.get('remarks', '')}"

    def _snake_name(self, prop: Mapping[str, Any]) -> str:
        for url, _ in _LINK.findall(self._docs(prop)):
            if "#" in url:
                return str(url.rsplit("#", 1)[1])
        return _snake(prop["name"])

    def _nested_fqn(self, type_ref: Mapping[str, Any]) -> str | None:
        """The assembly-local type a property's type names (through unions and collections)."""
        if "fqn" in type_ref:
            fqn = str(type_ref["fqn"])
            return fqn if fqn in self.types else None
        if "collection" in type_ref:
            return self._nested_fqn(type_ref["collection"]["elementtype"])
        if "union" in type_ref:
            for member in type_ref["union"]["types"]:
                found = self._nested_fqn(member)
                if found:
                    return found
        return None

    def block(self, fqn: str) -> Block:
        """Arguments and nested blocks of a config interface (a resource's XxxConfig or a nested
        block's interface)."""
        if fqn in self._blocks:
            return self._blocks[fqn]
        block = Block()
        self._blocks[fqn] = block  # before recursing: recursive schemas exist
        for prop in self.types[fqn].get("properties", []):
            name = self._snake_name(prop)
            required = not prop.get("optional", False)
            nested = self._nested_fqn(prop["type"])
            if nested and self.types[nested]["kind"] == "interface":
                block.blocks[name] = (required, self.block(nested))
            else:
                block.arguments[name] = required
                block.shapes[name] = _shape(prop["type"])
        return block

    def attrs(self, fqn: str) -> dict[str, Attr]:
        """Readable attributes of a resource class or of a nested OutputReference class."""
        if fqn in self._attrs:
            return self._attrs[fqn]
        attrs: dict[str, Attr] = {}
        self._attrs[fqn] = attrs
        props = [p for p in self.types[fqn].get("properties", []) if not p.get("static")]
        names = {p["name"] for p in props}
        for prop in props:
            name = prop["name"]
            if name == "internalValue" or (name.endswith("Input") and name[:-5] in names):
                continue
            attrs[norm(name)] = self._attr(prop["type"])
            if name.endswith("Attribute"):  # jsii renames attributes that clash with its own
                attrs[norm(name[: -len("Attribute")])] = attrs[norm(name)]
        return attrs

    def _attr(self, type_ref: Mapping[str, Any]) -> Attr:
        nested = self._nested_fqn(type_ref)
        if nested is None:
            return Attr("value")
        kind = self.types[nested]
        if kind["kind"] == "interface":
            return Attr("any")
        base = kind.get("base")
        if base in ("cdktf.ComplexList", "cdktf.ComplexMap"):
            element = next(
                (m["returns"]["type"] for m in kind.get("methods", []) if m["name"] == "get"), None
            )
            inner = self._nested_fqn(element) if element else None
            if inner is None:
                return Attr("any")
            return Attr("list" if base == "cdktf.ComplexList" else "map", self.attrs(inner))
        return Attr("object", self.attrs(nested))


def _shape(type_ref: Mapping[str, Any]) -> str:
    """The shape of an argument's jsii type: a single value, a list, a map, or anything."""
    if "collection" in type_ref:
        return "list" if type_ref["collection"]["kind"] == "array" else "map"
    if type_ref.get("primitive") in ("string", "number", "boolean"):
        return "value"
    if "union" in type_ref:
        shapes = {
            _shape(t) for t in type_ref["union"]["types"] if t.get("fqn") != "cdktf.IResolvable"
        }
        return shapes.pop() if len(shapes) == 1 else "any"
    return "any"


def _terraform_name(cls: Mapping[str, Any]) -> tuple[str, str, str] | None:
    """(kind, terraform name, registry path) from a class's docs: 'Represents a {@link
    https://registry.terraform.io/providers/hashicorp/google/6.50.0/docs/resources/x google_x}'."""
    match = _LINK.search(cls.get("docs", {}).get("summary", ""))
    if not match:
        return None
    url, name = match.groups()
    if "/docs/resources/" in url:
        return "resource", name.strip(), url
    if "/docs/data-sources/" in url:
        return "data", name.strip(), url
    if url.endswith("/docs"):
        return "provider", name.strip(), url
    return None


class _Kinds(Mapping[str, Kind]):
    """Terraform type name => Kind, each built on first use: a configuration uses a few dozen of a
    provider's thousand-odd types, and building them all takes seconds."""

    def __init__(self, walker: _Assembly, classes: dict[str, tuple[str, str | None]]) -> None:
        self._walker = walker
        self._classes = classes  # name => (class fqn, config interface fqn)
        self._built: dict[str, Kind] = {}

    def __getitem__(self, name: str) -> Kind:
        if name not in self._built:
            fqn, config = self._classes[name]
            block = self._walker.block(config) if config else Block()
            self._built[name] = Kind(block, self._walker.attrs(fqn))
        return self._built[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._classes)

    def __len__(self) -> int:
        return len(self._classes)


def schema_from_assembly(assembly: Mapping[str, Any]) -> ProviderSchema:
    """A provider's schema from its CDKTF jsii assembly (the `.jsii` JSON document)."""
    types = assembly["types"]
    walker = _Assembly(types)
    classes: dict[str, dict[str, tuple[str, str | None]]] = {"resource": {}, "data": {}}
    provider: tuple[str, str, str, Block] | None = None
    for fqn, cls in types.items():
        if cls["kind"] != "class":
            continue
        named = _terraform_name(cls)
        if named is None:
            continue
        kind, name, url = named
        config = next(
            (p["type"]["fqn"] for p in cls["initializer"]["parameters"] if p["name"] == "config"),
            None,
        )
        if kind == "provider":
            # .../providers/hashicorp/google/6.50.0/docs
            source, version = url.split("/docs")[0].rsplit("/", 1)
            provider = (name, source, version, walker.block(config) if config else Block())
        else:
            classes[kind][name.removeprefix("data_")] = (fqn, config)
    if provider is None:
        raise ValueError("the assembly has no provider class")
    name, source, version, config_block = provider
    return ProviderSchema(
        name,
        source,
        version,
        config_block,
        _Kinds(walker, classes["resource"]),
        _Kinds(walker, classes["data"]),
    )


# terraform_data is built into Terraform (terraform.io/builtin/terraform), not in any package:
# https://developer.hashicorp.com/terraform/language/resources/terraform-data
BUILTIN_RESOURCES = {
    "terraform_data": Kind(
        Block(arguments={"input": False, "triggers_replace": False}),
        {norm(n): Attr("any") for n in ("id", "input", "output", "triggers_replace")},
    )
}
