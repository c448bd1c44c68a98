"""The Terraform checked against provider schemas (pure: parsed HCL and schemas in, problems out).

Resource and data source types, provider blocks, arguments, nested and dynamic blocks, required
arguments, meta-arguments, and every reference: resources, data sources and their attribute paths,
variables, locals, module calls and their outputs.

What a CDKTF assembly cannot tell apart, the check accepts both ways: a nested type may be written
as a block or as an attribute (SDKv2's attribute-mode blocks take both), and an index on a
single-nested block is optional. Values' types are not checked.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

from tests.terraform.hcl import (
    Body,
    Module,
    Segment,
    is_block,
    items,
    single,
    strings,
    traversals,
    unquote,
)
from tests.terraform.schema import BUILTIN_RESOURCES, Attr, Block, Kind, ProviderSchema, norm

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
# What the language itself allows in variable and output blocks
# (https://developer.hashicorp.com/terraform/language/values).
LANGUAGE_BLOCKS = {
    "variable": {
        "type",
        "description",
        "default",
        "validation",
        "sensitive",
        "nullable",
        "ephemeral",
    },
    "output": {"value", "description", "sensitive", "depends_on", "precondition", "ephemeral"},
}
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
    for key, value in items(body):
        seen.add(key)
        if key in meta:
            if key == "lifecycle":
                problems += _check_lifecycle(value, f"{where}.lifecycle")
            continue
        if key == "dynamic" and isinstance(value, list):
            for name, dynamic in single(value):
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
            if is_block(value):
                problems.append(f"{where}: {key!r} is an argument, not a block (write {key} = …)")
            elif (mismatch := _shape_mismatch(value, schema.shapes.get(key, "any"))) is not None:
                problems.append(f"{where}: {key!r} takes {mismatch}")
            continue
        what = "block" if is_block(value) else "argument"
        problems.append(f"{where}: unknown {what} {key!r}")
    for name, required in schema.arguments.items():
        if required and name not in seen:
            problems.append(f"{where}: required argument {name!r} is missing")
    for name, (required, _) in schema.blocks.items():
        if required and name not in seen:
            problems.append(f"{where}: required block {name!r} is missing")
    return problems


def _shape_mismatch(value: Any, shape: str) -> str | None:
    """What a literal value should have been, when its shape contradicts the argument's; None for
    expressions (their type is known only to Terraform) and for what fits or converts."""
    literal_scalar = isinstance(value, (int, float, bool)) or (
        isinstance(value, str) and "${" not in value
    )
    if shape == "value" and isinstance(value, (list, dict)):
        return "a single value, not a " + ("list" if isinstance(value, list) else "map")
    if shape == "list" and (isinstance(value, dict) or literal_scalar):
        return "a list"
    if shape == "map" and (isinstance(value, list) or literal_scalar):
        return "a map"
    return None


def _check_lifecycle(value: Any, where: str) -> list[str]:
    problems: list[str] = []
    for block in value if isinstance(value, list) else []:
        for key, item in items(block):
            if key not in LIFECYCLE:
                problems.append(f"{where}: unknown lifecycle argument {key!r}")
            elif key in ("precondition", "postcondition"):
                for condition in item:
                    present = {k for k, _ in items(condition)}
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
        for name, body in single(tf.get("provider")):
            where = f"{module.path}: provider {name}"
            if name not in schemas.providers:
                problems.append(f"{where}: no schema for provider {name!r}")
                continue
            problems += check_body(body, schemas.providers[name].config, where, meta={"alias"})
        for kind, allowed in LANGUAGE_BLOCKS.items():
            for name, body in single(tf.get(kind)):
                unknown = {key for key, _ in items(body)} - allowed
                problems += [f"{module.path}: {kind} {name}: unknown {key!r}" for key in unknown]
    for provider in sorted(used_providers - {"terraform", ""}):
        if provider not in module.required_providers:
            problems.append(f"{module.path}: uses {provider} but required_providers lacks it")
    for file, tf in module.files.items():
        for text in strings(tf):
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
        source = unquote(str(module.calls[first].get("source", "")))
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
        current = attrs.get(norm(name))
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
