"""The tracking plan on disk: one JSON Schema per event type and version, ``<type>/<version>.json``.

A file is a JSON Schema (Draft 2020-12) of the event's ``event_data`` carrying our annotations at
the top: ``description``, ``x-category``, ``x-retention``, ``x-owner`` and optionally
``x-active: false``. Each property says its ``type`` and may say ``description``, ``enum``,
``minimum``, ``maximum``, ``maxLength``, ``x-personal`` (removed on GDPR erasure) and
``x-user-reference`` (holds another user's id: nulled when that user is erased).

The keywords are a closed list on purpose: the store enforces every one of them in SQL
(``platform_event_rules``, migrations/0060), so a keyword it would not enforce (``pattern``,
``oneOf``, nested ``properties``) is refused here instead of silently accepted and ignored.
``load`` checks the meta-schema with ``jsonschema`` and then these rules, and reports every
problem, each naming its file. The format and the workflow: docs/define-your-events.md.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal, cast

from platform_events.errors import CatalogInvalid

Category = Literal["transaction", "interaction", "user_activity", "content"]
CATEGORIES: tuple[Category, ...] = ("transaction", "interaction", "user_activity", "content")
JSON_TYPES = ("string", "number", "integer", "boolean", "object", "array")
JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"

# The same rule as event_schemas' CHECK (migrations/0005).
TYPE_NAME = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$")
_VERSION_FILE = re.compile(r"^([1-9][0-9]*)\.json$")
# A Postgres interval both people and the warehouse's retention deletes read the same way.
RETENTION = re.compile(r"^[1-9][0-9]{0,3} (day|month|year)s?$")

# Annotations that become event_schemas columns; the rest of the document is its json_schema.
ROW_ANNOTATIONS = ("description", "x-category", "x-retention", "x-owner", "x-active")
_TOP_KEYS = frozenset(
    {"$schema", "title", "type", "required", "properties", "additionalProperties", *ROW_ANNOTATIONS}
)
PROPERTY_KEYS = frozenset(
    {"type", "description", "enum", "minimum", "maximum", "maxLength", "x-personal",
     "x-user-reference"}
)  # fmt: skip


@lru_cache(maxsize=1)
def _meta_validator() -> Any:
    # Imported on first load, not with this module: jsonschema's import alone is ~0.1 s, which
    # every process importing the catalogue (ingest's cold start) would pay without reading a file.
    from jsonschema import Draft202012Validator

    return Draft202012Validator(Draft202012Validator.META_SCHEMA)


@dataclass(frozen=True)
class SchemaFile:
    """One version of one event type, as its file says."""

    event_type: str
    version: int
    category: Category
    retention: str
    owner: str
    description: str
    active: bool
    json_schema: dict[str, Any]  # exactly what event_schemas.json_schema stores
    path: Path

    @property
    def properties(self) -> dict[str, dict[str, Any]]:
        return cast(dict[str, dict[str, Any]], self.json_schema.get("properties", {}))

    @property
    def required(self) -> tuple[str, ...]:
        return tuple(self.json_schema.get("required", ()))


def builtin_dir() -> Path:
    """The built-in catalogue: the seed's types, and the worked example of the format."""
    return Path(__file__).resolve().parent / "event_types"


def directory(setting: Path | None) -> Path:
    """The catalogue in use: PLATFORM_EVENTS_CATALOG (``setting``), else the built-in one."""
    return setting if setting is not None else builtin_dir()


def load(directory: Path) -> tuple[SchemaFile, ...]:
    """Every schema file under ``directory``, by type then version; CatalogInvalid lists problems."""
    problems: list[str] = []
    files: list[SchemaFile] = []
    if not directory.is_dir():
        raise CatalogInvalid([f"{directory}: no such directory (PLATFORM_EVENTS_CATALOG)"])
    for type_dir in sorted(p for p in directory.iterdir() if not p.name.startswith(".")):
        if not type_dir.is_dir():
            problems.append(f"{type_dir.name}: expected a directory per event type")
            continue
        if not TYPE_NAME.match(type_dir.name):
            problems.append(
                f"{type_dir.name}: an event type is lower-case dotted words (like invoice.sent)"
            )
            continue
        versions: list[int] = []
        for path in sorted(type_dir.iterdir()):
            match = _VERSION_FILE.match(path.name)
            if not match:
                problems.append(f"{_rel(path, directory)}: files are named <version>.json (1.json)")
                continue
            versions.append(int(match.group(1)))
            parsed = _parse(path, directory, type_dir.name, int(match.group(1)), problems)
            if parsed is not None:
                files.append(parsed)
        versions.sort()
        if versions and versions != list(range(1, len(versions) + 1)):
            problems.append(
                f"{type_dir.name}: versions must run 1, 2, 3... without gaps, found {versions}"
            )
    problems.extend(_type_rules(files, directory))
    if problems:
        raise CatalogInvalid(problems)
    return tuple(sorted(files, key=lambda f: (f.event_type, f.version)))


def _rel(path: Path, root: Path) -> str:
    return str(path.relative_to(root))


def _parse(
    path: Path, root: Path, event_type: str, version: int, problems: list[str]
) -> SchemaFile | None:
    where = _rel(path, root)
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        problems.append(f"{where}: not JSON ({exc})")
        return None
    if not isinstance(doc, dict):
        problems.append(f"{where}: a schema file holds one JSON object")
        return None
    found = [
        f"{where}: {'/'.join(str(p) for p in e.absolute_path) or '(top)'}: {e.message}"
        for e in _meta_validator().iter_errors(doc)
    ]
    found.extend(f"{where}: {p}" for p in document_problems(doc, event_type))
    if found:
        problems.extend(found)
        return None
    return SchemaFile(
        event_type=event_type,
        version=version,
        category=doc["x-category"],
        retention=doc["x-retention"],
        owner=doc["x-owner"],
        description=doc["description"],
        active=doc.get("x-active", True),
        json_schema={k: v for k, v in doc.items() if k not in ROW_ANNOTATIONS},
        path=path,
    )


def document_problems(doc: Mapping[str, Any], event_type: str) -> list[str]:
    """Our rules beyond the meta-schema, for one document (pure: tests feed it generated ones)."""
    out: list[str] = []
    for key in sorted(set(doc) - _TOP_KEYS):
        out.append(
            f"{key}: not a keyword of a schema file (allowed: {', '.join(sorted(_TOP_KEYS))})"
        )
    if doc.get("$schema") != JSON_SCHEMA_DIALECT:
        out.append(f"$schema: must be {JSON_SCHEMA_DIALECT}")
    if doc.get("title") != event_type:
        out.append(f"title: must be the directory's name, {event_type!r}")
    if doc.get("type") != "object":
        out.append('type: event_data is an object ("type": "object")')
    if doc.get("additionalProperties", True) is not True:
        out.append("additionalProperties: must be true (the store keeps keys it does not declare)")
    if not isinstance(doc.get("description"), str) or not doc["description"].strip():
        out.append("description: say what happened, in a sentence")
    if doc.get("x-category") not in CATEGORIES:
        out.append(f"x-category: one of {', '.join(CATEGORIES)}")
    if not isinstance(doc.get("x-retention"), str) or not RETENTION.match(doc["x-retention"]):
        out.append('x-retention: a duration like "90 days", "1 year" or "7 years"')
    if not isinstance(doc.get("x-owner"), str) or not doc["x-owner"].strip():
        out.append("x-owner: the team that owns this event")
    if not isinstance(doc.get("x-active", True), bool):
        out.append("x-active: true or false")
    properties = doc.get("properties", {})
    if not isinstance(properties, dict):
        return [*out, "properties: an object of field schemas"]
    required = doc.get("required", [])
    if isinstance(required, list):
        for name in required:
            if name not in properties:
                out.append(f"required: {name!r} is not among the properties")
    for name, prop in properties.items():
        out.extend(f"properties/{name}: {p}" for p in property_problems(prop))
    return out


def property_problems(prop: Any) -> list[str]:
    """Why one property's schema is not one the store enforces exactly (empty when it is)."""
    if not isinstance(prop, dict):
        return ["a field is described by an object"]
    out = [
        f"{key}: not a field keyword the store enforces (allowed: {', '.join(sorted(PROPERTY_KEYS))})"
        for key in sorted(set(prop) - PROPERTY_KEYS)
    ]
    kind = prop.get("type")
    if kind not in JSON_TYPES:
        return [*out, f"type: one of {', '.join(JSON_TYPES)}"]
    if "enum" in prop:
        values = prop["enum"]
        if kind != "string" or not isinstance(values, list) or not values:
            out.append("enum: a non-empty list of strings, on a string field")
        elif not all(isinstance(v, str) for v in values) or len(set(values)) != len(values):
            out.append("enum: distinct strings")
    for bound in ("minimum", "maximum"):
        if bound in prop and (kind not in ("number", "integer") or not _is_number(prop[bound])):
            out.append(f"{bound}: a number, on a number or integer field")
    low, high = prop.get("minimum"), prop.get("maximum")
    if isinstance(low, int | float) and isinstance(high, int | float) and low > high:
        out.append("minimum: above maximum, so no value is valid")
    if "maxLength" in prop and (
        kind != "string" or not isinstance(prop["maxLength"], int) or prop["maxLength"] < 0
    ):
        out.append("maxLength: a non-negative integer, on a string field")
    for flag in ("x-personal", "x-user-reference"):
        if flag in prop and not isinstance(prop[flag], bool):
            out.append(f"{flag}: true or false")
    if prop.get("x-user-reference") and kind != "string":
        out.append("x-user-reference: on a string field (it holds a user id)")
    return out


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _type_rules(files: Iterable[SchemaFile], root: Path) -> list[str]:
    """Category and retention are the type's, not a version's: every version must agree."""
    out: list[str] = []
    by_type: dict[str, list[SchemaFile]] = {}
    for f in files:
        by_type.setdefault(f.event_type, []).append(f)
    for name, versions in sorted(by_type.items()):
        for attribute in ("category", "retention"):
            seen = {getattr(f, attribute) for f in versions}
            if len(seen) > 1:
                listing = ", ".join(
                    f"{_rel(f.path, root)}: {getattr(f, attribute)}"
                    for f in sorted(versions, key=lambda v: v.version)
                )
                out.append(
                    f"{name}: x-{attribute} belongs to the type, give every version the same "
                    f"({listing})"
                )
    return out


def render(schema_file: SchemaFile) -> str:
    """The file's text for a SchemaFile (``catalog`` commands write new versions with it)."""
    doc = dict(schema_file.json_schema)
    head = {
        "$schema": doc.pop("$schema", JSON_SCHEMA_DIALECT),
        "title": doc.pop("title", schema_file.event_type),
        "description": schema_file.description,
        "x-category": schema_file.category,
        "x-retention": schema_file.retention,
        "x-owner": schema_file.owner,
    }
    if not schema_file.active:
        head["x-active"] = False
    return json.dumps({**head, **doc}, indent=2, ensure_ascii=False) + "\n"
