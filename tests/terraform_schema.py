"""Terraform checked against the real provider schemas, offline: pure logic, no I/O.

`terraform validate` needs the provider binaries, which cannot be downloaded here. The prebuilt
CDKTF provider packages on PyPI are generated from those same binaries' schemas and carry them as a
jsii assembly (tests/provider_schemas.py fetches and caches it). This module turns an assembly into
a `ProviderSchema` and checks parsed HCL (python-hcl2's output, blocks marked `__is_block__`) with
it: resource and data source types, provider blocks, arguments, nested and dynamic blocks,
required arguments, meta-arguments, and every reference (resources, data sources, their attribute
paths, variables, locals, module calls and their outputs).

What the assembly cannot tell apart, the check accepts both ways: a nested type may be written as
a block or as an attribute (SDKv2's attribute-mode blocks take both), and an index on a
single-nested block is optional. Values' types are not checked.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

# --- Schemas -------------------------------------------------------------------------------------


@dataclass
class Attr:
    """A readable attribute: nothing below it (primitive), an object, or a list/map of objects."""

    kind: str  # "value" | "object" | "list" | "map" | "any"
    attrs: dict[str, Attr] | None = None  # for object/list/map: the element's attributes


@dataclass
class Block:
    """What may be written inside one block: arguments and nested blocks (by snake_case name)."""

    arguments: dict[str, bool] = field(default_factory=dict)  # name => required
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
    resources: dict[str, Kind]
    data_sources: dict[str, Kind]


def _norm(name: str) -> str:
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
            attrs[_norm(name)] = self._attr(prop["type"])
            if name.endswith("Attribute"):  # jsii renames attributes that clash with its own
                attrs[_norm(name[: -len("Attribute")])] = attrs[_norm(name)]
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


def schema_from_assembly(assembly: Mapping[str, Any]) -> ProviderSchema:
    """A provider's schema from its CDKTF jsii assembly (the `.jsii` JSON document)."""
    types = assembly["types"]
    walker = _Assembly(types)
    resources: dict[str, Kind] = {}
    data_sources: dict[str, Kind] = {}
    provider: tuple[str, str, Block] | None = None
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
        block = walker.block(config) if config else Block()
        if kind == "provider":
            # .../providers/hashicorp/google/6.50.0/docs
            source_version = url.split("/docs")[0]
            source, version = source_version.rsplit("/", 1)
            provider = (source, version, block)
            provider_name = name
        elif kind == "resource":
            resources[name] = Kind(block, walker.attrs(fqn))
        else:
            data_sources[name.removeprefix("data_")] = Kind(block, walker.attrs(fqn))
    if provider is None:
        raise ValueError("the assembly has no provider class")
    source, version, config_block = provider
    return ProviderSchema(provider_name, source, version, config_block, resources, data_sources)


# terraform_data is built into Terraform (terraform.io/builtin/terraform), not in any package:
# https://developer.hashicorp.com/terraform/language/resources/terraform-data
BUILTIN_RESOURCES = {
    "terraform_data": Kind(
        Block(arguments={"input": False, "triggers_replace": False}),
        {_norm(n): Attr("any") for n in ("id", "input", "output", "triggers_replace")},
    )
}


# --- HCL -----------------------------------------------------------------------------------------

Body = Mapping[str, Any]
_MARKERS = ("__is_block__", "__comments__", "__inline_comments__", "__start_line__", "__end_line__")


def _unquote(text: str) -> str:
    return text[1:-1] if len(text) >= 2 and text[0] == text[-1] == '"' else text


def _is_block(value: Any) -> bool:
    return (
        isinstance(value, list)
        and bool(value)
        and all(isinstance(v, dict) and v.get("__is_block__") for v in value)
    )


def _items(body: Body) -> Iterator[tuple[str, Any]]:
    for key, value in body.items():
        if key not in _MARKERS:
            yield _unquote(key), value


def _labelled(blocks: Any) -> Iterator[tuple[str, str, Body]]:
    """(type, name, body) of `resource "type" "name" {}` entries as python-hcl2 gives them."""
    for block in blocks or []:
        for rtype, named in _items(block):
            for name, body in _items(named):
                yield rtype, name, body


def _single(blocks: Any) -> Iterator[tuple[str, Body]]:
    for block in blocks or []:
        yield from _items(block)


@dataclass
class Module:
    """The declarations of one module directory (all its .tf files, parsed)."""

    path: str
    files: dict[str, Body]
    resources: dict[tuple[str, str], Body] = field(default_factory=dict)
    data: dict[tuple[str, str], Body] = field(default_factory=dict)
    variables: set[str] = field(default_factory=set)
    locals: set[str] = field(default_factory=set)
    outputs: set[str] = field(default_factory=set)
    calls: dict[str, Body] = field(default_factory=dict)
    required_providers: dict[str, Mapping[str, Any]] = field(default_factory=dict)

    @classmethod
    def of(cls, path: str, files: Mapping[str, Body]) -> Module:
        module = cls(path, dict(files))
        for tf in files.values():
            for rtype, name, body in _labelled(tf.get("resource")):
                module.resources[(rtype, name)] = body
            for rtype, name, body in _labelled(tf.get("data")):
                module.data[(rtype, name)] = body
            module.variables |= {name for name, _ in _single(tf.get("variable"))}
            module.outputs |= {name for name, _ in _single(tf.get("output"))}
            module.calls |= dict(_single(tf.get("module")))
            for block in tf.get("locals") or []:
                module.locals |= {name for name, _ in _items(block)}
            for block in tf.get("terraform") or []:
                for required in block.get("required_providers") or []:
                    for name, spec in _items(required):
                        module.required_providers[name] = {
                            k: _unquote(v) if isinstance(v, str) else v for k, v in _items(spec)
                        }
        return module


# --- References ----------------------------------------------------------------------------------

Segment = tuple[str, str]  # ("attr", name) | ("index", text) | ("splat", "")
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")
_KEYWORDS = {"for", "in", "if", "true", "false", "null", "endfor", "endif", "else"}


def _matching(text: str, start: int, open_: str, close: str) -> int:
    """Index just past the bracket closing the one at text[start], skipping string literals."""
    depth = 0
    i = start
    while i < len(text):
        char = text[i]
        if char == '"':
            i = _string_end(text, i)
            continue
        if char == open_:
            depth += 1
        elif char == close:
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    return len(text)


def _string_end(text: str, start: int) -> int:
    """Index just past the string literal opening at text[start] (templates nest strings)."""
    i = start + 1
    while i < len(text):
        char = text[i]
        if char == "\\":
            i += 2
            continue
        if char == '"':
            return i + 1
        if text.startswith(("${", "%{"), i) and not text.startswith("$${", i - 1):
            i = _matching(text, i + 1, "{", "}")
            continue
        i += 1
    return len(text)


def _template_parts(text: str) -> Iterator[str]:
    """The expressions inside the ${...} and %{...} of a template (string literal contents)."""
    i = 0
    while i < len(text):
        if text.startswith(("$${", "%%{"), i):
            i += 3
            continue
        if text.startswith(("${", "%{"), i):
            end = _matching(text, i + 1, "{", "}")
            yield text[i + 2 : end - 1]
            i = end
            continue
        i += 1


def traversals(value: str) -> list[list[Segment]]:
    """Every traversal (root.attr[index].attr...) in a python-hcl2 value string: an expression
    wrapped in ${...}, or a quoted template or heredoc whose ${...} parts are expressions."""
    if (
        value.startswith("${")
        and value.endswith("}")
        and _matching(value, 1, "{", "}") == len(value)
    ):
        return _expression_traversals(value[2:-1])
    if value.startswith('"<<'):  # heredoc: quotes inside are literal text
        found: list[list[Segment]] = []
        for part in _template_parts(value):
            found += _expression_traversals(part)
        return found
    return _expression_traversals(value) if value.startswith('"') else []


def _expression_traversals(text: str) -> list[list[Segment]]:
    found: list[list[Segment]] = []
    i = 0
    while i < len(text):
        char = text[i]
        if char == '"':
            end = _string_end(text, i)
            for part in _template_parts(text[i + 1 : end - 1]):
                found += _expression_traversals(part)
            i = end
            continue
        match = _IDENT.match(text, i)
        if match and (i == 0 or not (text[i - 1].isalnum() or text[i - 1] in "_.")):
            name = match.group()
            i = match.end()
            rest = text[i:].lstrip()
            if name in _KEYWORDS or rest.startswith("("):
                continue
            segments: list[Segment] = [("attr", name)]
            while i < len(text):
                if text.startswith(".*", i) or text.startswith("[*]", i):
                    segments.append(("splat", ""))
                    i += 2 if text[i] == "." else 3
                elif text[i] == "." and (attr := _IDENT.match(text, i + 1)):
                    segments.append(("attr", attr.group()))
                    i = attr.end()
                elif text[i] == "." and (number := re.match(r"\.(\d+)", text[i:])):
                    segments.append(("index", number.group(1)))
                    i += number.end()
                elif text[i] == "[":
                    end = _matching(text, i, "[", "]")
                    inner = text[i + 1 : end - 1]
                    found += _expression_traversals(inner)
                    segments.append(("index", inner.strip()))
                    i = end
                else:
                    break
            if len(segments) > 1:  # a bare name is a for-expression or iterator variable
                found.append(segments)
            continue
        i = match.end() if match else i + 1
    return found


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            if key not in _MARKERS:
                yield from _strings(key)
                yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


# --- The check -----------------------------------------------------------------------------------

RESOURCE_META = {"count", "for_each", "depends_on", "provider", "lifecycle", "provisioner"}
RESOURCE_META_BLOCKS = {"lifecycle", "provisioner", "connection"}
LIFECYCLE = {
    "create_before_destroy",
    "prevent_destroy",
    "ignore_changes",
    "replace_triggered_by",
    "precondition",
    "postcondition",
}
CONDITION = {"condition", "error_message"}
PATH_ATTRS = {"module", "root", "cwd"}


@dataclass
class Schemas:
    """The provider schemas the configuration is checked against, by provider local name."""

    providers: dict[str, ProviderSchema]

    def provider_of(self, rtype: str) -> str | None:
        if rtype in BUILTIN_RESOURCES:
            return "terraform"
        # google-beta resources are google_*: the longest local name that prefixes the type.
        candidates = [p for p in self.providers if rtype.startswith(f"{p}_")]
        return max(candidates, key=len) if candidates else None

    def resource(self, rtype: str, provider: str | None = None) -> Kind | None:
        if rtype in BUILTIN_RESOURCES:
            return BUILTIN_RESOURCES[rtype]
        provider = provider or self.provider_of(rtype)
        schema = self.providers.get(provider) if provider else None
        return schema.resources.get(rtype) if schema else None

    def data_source(self, rtype: str, provider: str | None = None) -> Kind | None:
        provider = provider or self.provider_of(rtype)
        schema = self.providers.get(provider) if provider else None
        return schema.data_sources.get(rtype) if schema else None


def provider_meta(body: Body) -> str | None:
    """The provider local name a `provider = google-beta` (or google-beta.alias) meta-argument
    names, else None (the type's default provider)."""
    value = body.get("provider")
    if not isinstance(value, str):
        return None
    return value.removeprefix("${").removesuffix("}").split(".")[0]


def check_body(
    body: Body, schema: Block, where: str, *, meta: Collection[str] = frozenset()
) -> list[str]:
    """Problems of one block body against its schema: unknown arguments and blocks, a block
    written where an argument is expected, missing required arguments and blocks."""
    problems: list[str] = []
    seen: set[str] = set()
    for key, value in _items(body):
        seen.add(key)
        if key in meta:
            if key == "lifecycle":
                problems += _check_lifecycle(value, f"{where}.lifecycle")
            continue
        if key == "dynamic" and isinstance(value, list):
            for name, dynamic in _single(value):
                seen.add(name)
                if name not in schema.blocks:
                    problems.append(f"{where}: dynamic {name!r} is not a block of this schema")
                    continue
                for content in dynamic.get("content") or []:
                    problems += check_body(content, schema.blocks[name][1], f"{where}.{name}")
            continue
        if key in schema.blocks:
            nested = schema.blocks[key][1]
            occurrences = value if isinstance(value, list) else [value]
            for item in occurrences:
                if isinstance(item, dict):
                    problems += check_body(item, nested, f"{where}.{key}")
            continue
        if key in schema.arguments:
            if _is_block(value):
                problems.append(f"{where}: {key!r} is an argument, not a block (write {key} = …)")
            continue
        what = "block" if _is_block(value) else "argument"
        problems.append(f"{where}: unknown {what} {key!r}")
    for name, required in schema.arguments.items():
        if required and name not in seen:
            problems.append(f"{where}: required argument {name!r} is missing")
    for name, (required, _) in schema.blocks.items():
        if required and name not in seen:
            problems.append(f"{where}: required block {name!r} is missing")
    return problems


def _check_lifecycle(value: Any, where: str) -> list[str]:
    problems: list[str] = []
    for block in value if isinstance(value, list) else []:
        for key, item in _items(block):
            if key not in LIFECYCLE:
                problems.append(f"{where}: unknown lifecycle argument {key!r}")
            elif key in ("precondition", "postcondition"):
                for condition in item:
                    present = {k for k, _ in _items(condition)}
                    if present != CONDITION:
                        problems.append(f"{where}.{key}: needs exactly condition and error_message")
    return problems


def check_module(
    module: Module, schemas: Schemas, modules: Mapping[str, Module] | None = None
) -> list[str]:
    """Every problem of one module: its resources, data sources and provider blocks against the
    schemas, and every reference it makes. `modules` maps module-call sources (as written, e.g.
    ./infra/functions) to their Module, to check `module.x.output` references."""
    problems: list[str] = []
    used_providers: set[str] = set()
    for (rtype, name), body in module.resources.items():
        where = f"{module.path}: resource {rtype}.{name}"
        provider = provider_meta(body)
        kind = schemas.resource(rtype, provider)
        if kind is None:
            problems.append(f"{where}: unknown resource type {rtype!r} (provider {provider})")
            continue
        used_providers.add(provider or schemas.provider_of(rtype) or "")
        problems += check_body(body, kind.block, where, meta=RESOURCE_META | RESOURCE_META_BLOCKS)
    for (rtype, name), body in module.data.items():
        where = f"{module.path}: data {rtype}.{name}"
        provider = provider_meta(body)
        kind = schemas.data_source(rtype, provider)
        if kind is None:
            problems.append(f"{where}: unknown data source {rtype!r} (provider {provider})")
            continue
        used_providers.add(provider or schemas.provider_of(rtype) or "")
        problems += check_body(body, kind.block, where, meta=RESOURCE_META)
    for tf in module.files.values():
        for name, body in _single(tf.get("provider")):
            where = f"{module.path}: provider {name}"
            if name not in schemas.providers:
                problems.append(f"{where}: no schema for provider {name!r}")
                continue
            problems += check_body(body, schemas.providers[name].config, where, meta={"alias"})
    for provider in sorted(used_providers - {"terraform", ""}):
        if provider not in module.required_providers:
            problems.append(f"{module.path}: uses {provider} but required_providers lacks it")
    for file, tf in module.files.items():
        for text in _strings(tf):
            bound = _for_bindings(text, module)
            for traversal in traversals(text):
                if traversal[0][1] in bound:
                    traversal = bound[traversal[0][1]] + traversal[1:]
                problems += [
                    f"{module.path}/{file}: {p}"
                    for p in _check_reference(traversal, module, schemas, modules or {})
                ]
    return sorted(set(problems))


_FOR = re.compile(r"\bfor\s+(?:\w+\s*,\s*)?(\w+)\s+in\s+(data\.)?(\w+)\.(\w+)\s*:")


def _for_bindings(text: str, module: Module) -> dict[str, list[Segment]]:
    """`for key, fn in google_x.this : ... fn.attr`: fn stands for an instance of google_x.this,
    so its attribute paths are checked too."""
    bound: dict[str, list[Segment]] = {}
    for name, data, rtype, rname in _FOR.findall(text):
        declared = module.data if data else module.resources
        body = declared.get((rtype, rname))
        if body is not None and ("count" in body or "for_each" in body):
            prefix: list[Segment] = [("attr", "data")] if data else []
            bound[name] = [*prefix, ("attr", rtype), ("attr", rname), ("splat", "")]
    return bound


def _check_reference(
    traversal: list[Segment], module: Module, schemas: Schemas, modules: Mapping[str, Module]
) -> list[str]:
    root = traversal[0][1]
    rest = traversal[1:]
    first = rest[0][1] if rest and rest[0][0] == "attr" else None
    text = _render(traversal)
    if root == "var":
        return [] if first in module.variables else [f"{text}: no variable {first!r}"]
    if root == "local":
        return [] if first in module.locals else [f"{text}: no local {first!r}"]
    if root == "path":
        return [] if first in PATH_ATTRS else [f"{text}: path has no attribute {first!r}"]
    if root == "module":
        if first not in module.calls:
            return [f"{text}: no module call {first!r}"]
        source = _unquote(str(module.calls[first].get("source", "")))
        target = modules.get(source)
        output = next((s[1] for s in rest[1:] if s[0] == "attr"), None)
        if target is not None and output is not None and output not in target.outputs:
            return [f"{text}: module {source} has no output {output!r}"]
        return []
    if root == "data":
        if first is None or len(rest) < 2 or rest[1][0] != "attr":
            return []
        rtype, name = first, rest[1][1]
        if (rtype, name) not in module.data:
            return [f"{text}: no data source {rtype}.{name} in this module"]
        body = module.data[(rtype, name)]
        kind = schemas.data_source(rtype, provider_meta(body))
        return _check_path(text, kind, body, rest[2:])
    if schemas.provider_of(root) is None:
        return []  # each, count, self, for-expression and iterator variables, functions' args
    if first is None:
        return []
    if (root, first) not in module.resources:
        return [f"{text}: no resource {root}.{first} in this module"]
    body = module.resources[(root, first)]
    return _check_path(text, schemas.resource(root, provider_meta(body)), body, rest[1:])


def _check_path(text: str, kind: Kind | None, body: Body, rest: list[Segment]) -> list[str]:
    if kind is None:
        return []
    repeated = "count" in body or "for_each" in body
    if rest and rest[0][0] == "attr" and repeated:
        return [f"{text}: the resource has count/for_each: index it before .{rest[0][1]}"]
    if rest and rest[0][0] == "index" and not repeated:
        return [f"{text}: the resource has no count/for_each: it takes no index"]
    if rest and rest[0][0] in ("index", "splat"):
        rest = rest[1:]
    attrs: dict[str, Attr] | None = kind.attrs
    current: Attr | None = None
    for segment_kind, name in rest:
        if segment_kind in ("index", "splat"):
            if current is not None and current.kind in ("list", "map"):
                current = Attr("object", current.attrs)  # an element of the list or map
            continue
        if current is not None and current.kind in ("value", "any"):
            if current.kind == "value":
                return [f"{text}: .{name} reads into a value that has no attributes"]
            return []
        if current is not None and current.kind in ("list", "map"):
            return [f"{text}: index the list/map before .{name}"]
        if attrs is None:
            return []
        current = attrs.get(_norm(name))
        if current is None:
            return [f"{text}: no attribute {name!r}"]
        attrs = current.attrs
    return []


def _render(traversal: list[Segment]) -> str:
    out = ""
    for kind, name in traversal:
        out += f".{name}" if kind == "attr" else "[*]" if kind == "splat" else f"[{name}]"
    return out[1:]


# --- Versions ------------------------------------------------------------------------------------


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", text)[:3])


def admits(constraint: str, version: str) -> bool:
    """Whether a Terraform version constraint (">= 6.0, < 7.0", "~> 3.5", "6.50.0") admits version.
    https://developer.hashicorp.com/terraform/language/expressions/version-constraints"""
    have = _version(version)
    for part in constraint.split(","):
        match = re.fullmatch(r"\s*(>=|<=|!=|~>|=|>|<)?\s*([0-9][0-9.]*)\s*", part)
        if not match:
            raise ValueError(f"unreadable version constraint {part!r}")
        op, text = match.group(1) or "=", match.group(2)
        want = _version(text)
        padded = want + (0,) * (3 - len(want))
        if op == "~>":
            # ~> 3.5 allows >= 3.5, < 4.0; ~> 3.5.1 allows >= 3.5.1, < 3.6.0.
            upper = (*want[:-2], want[-2] + 1) if len(want) > 1 else (want[0] + 1,)
            ok = have >= padded and have < upper + (0,) * (3 - len(upper))
        else:
            ok = {
                "=": have == padded,
                "!=": have != padded,
                ">": have > padded,
                ">=": have >= padded,
                "<": have < padded,
                "<=": have <= padded,
            }[op]
        if not ok:
            return False
    return True
