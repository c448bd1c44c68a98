"""What applying the tracking plan's files would change, and which changes the rules refuse.

Pure: the files (catalog_files) against the rows ``event_schemas`` holds, no I/O. The rules are
SchemaVer's (Snowplow's ``MODEL-REVISION-ADDITION``, https://docs.snowplow.io/docs/api-reference/
iglu/common-architecture/schemaver/) reduced to the one question that matters to stored data:
*does every payload the old schema accepted stay valid?*

* Yes (an added optional field, a field made optional, a wider enum or bound, a description, a
  field newly marked personal): an **edit** of the same version, whose revision goes up by one.
* No (a new required field, a removed field, a changed type, a narrower enum or bound, a field
  no longer marked personal or a user reference, which erasure relies on for stored events): a
  **new version**, ``<N+1>.json``; ``apply`` refuses it as an edit of version N.
* Category is the type's identity (it decides the table's retention class): never changed.
* Retention, description, owner and ``x-active`` are the type's settings: changed in place.

A type or version the database has and the files do not is reported and kept: events refer to it,
so nothing here ever deletes one (deactivate it with ``"x-active": false`` instead).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from platform_events.catalog_files import SchemaFile

ChangeKind = Literal[
    "add_type", "add_version", "edit", "retention", "activate", "deactivate", "describe"
]
_UNITS = {"day": (0, 1), "month": (1, 0), "year": (12, 0)}
_RETENTION = re.compile(r"^(\d+) (day|month|year)s?$")


@dataclass(frozen=True)
class StoredSchema:
    """One ``event_schemas`` row, as ``stores.catalog.stored`` reads it."""

    event_type: str
    version: int
    category: str
    retention_months: int
    retention_days: int
    owner: str | None
    description: str | None
    is_active: bool
    revision: int
    json_schema: dict[str, Any]


@dataclass(frozen=True)
class Change:
    """One thing ``apply`` does; ``detail`` is what a person reads in ``catalog diff``."""

    kind: ChangeKind
    event_type: str
    version: int
    detail: str


@dataclass(frozen=True)
class Plan:
    changes: tuple[Change, ...] = ()
    refused: tuple[str, ...] = ()
    kept: tuple[str, ...] = ()  # in the database, not in the files: reported, never deleted
    files: dict[tuple[str, int], SchemaFile] = field(default_factory=dict)

    @property
    def empty(self) -> bool:
        return not self.changes

    def lines(self) -> list[str]:
        """The plan as ``catalog diff`` prints it."""
        out = [f"  {c.event_type} v{c.version}: {c.kind}: {c.detail}" for c in self.changes]
        out += [f"  refused: {r}" for r in self.refused]
        out += [f"  kept: {k}" for k in self.kept]
        return out or ["  nothing to change"]


def retention_parts(text: str) -> tuple[int, int]:
    """``"2 years"`` -> (24, 0) months and days, the form the store reads an interval back in."""
    match = _RETENTION.match(text)
    if not match:
        raise ValueError(f"not a retention: {text!r}")
    months, days = _UNITS[match.group(2)]
    count = int(match.group(1))
    return months * count, days * count


def plan(files: Sequence[SchemaFile], stored: Iterable[StoredSchema]) -> Plan:
    """Compare the files with the stored rows: every change, every refusal, every kept row."""
    rows = {(r.event_type, r.version): r for r in stored}
    wanted = {(f.event_type, f.version): f for f in files}
    changes: list[Change] = []
    refused: list[str] = []
    types_stored = {t for t, _ in rows}
    for key, schema_file in sorted(wanted.items()):
        name, version = key
        row = rows.get(key)
        where = f"{name}/{version}.json"
        if row is None:
            if name not in types_stored and version == 1:
                changes.append(Change("add_type", name, version, schema_file.description))
            else:
                changes.append(Change("add_version", name, version, "a new version"))
            if name in types_stored:
                refused.extend(_type_identity(schema_file, rows, where))
            continue
        if row.category != schema_file.category:
            refused.append(
                f"{where}: category {row.category} -> {schema_file.category}: the category is "
                "the type's identity; define a new type instead"
            )
            continue
        breaking, compatible = compare(row.json_schema, schema_file.json_schema)
        if breaking:
            refused.append(
                f"{where}: {'; '.join(breaking)}: events stored under version {version} would "
                f"no longer be valid; make it version {_next_version(name, rows, wanted)} "
                f"(a new file) and keep {version}.json as it is"
            )
        elif compatible:
            changes.append(
                Change(
                    "edit",
                    name,
                    version,
                    f"revision {row.revision} -> {row.revision + 1}: {'; '.join(compatible)}",
                )
            )
        if row.is_active != schema_file.active:
            kind: ChangeKind = "activate" if schema_file.active else "deactivate"
            detail = "new events accepted" if schema_file.active else "new events quarantined"
            changes.append(Change(kind, name, version, detail))
        if (row.description, row.owner) != (schema_file.description, schema_file.owner):
            changes.append(Change("describe", name, version, _described(row, schema_file)))
    changes.extend(_retention_changes(files, rows))
    kept = [
        f"{name} v{version}: in the database, not in the files (kept; events refer to it)"
        for name, version in sorted(rows)
        if (name, version) not in wanted
    ]
    return Plan(tuple(changes), tuple(refused), tuple(kept), wanted)


def _next_version(
    name: str, rows: dict[tuple[str, int], StoredSchema], wanted: dict[tuple[str, int], SchemaFile]
) -> int:
    return max(v for t, v in (*rows, *wanted) if t == name) + 1


def _type_identity(
    schema_file: SchemaFile, rows: dict[tuple[str, int], StoredSchema], where: str
) -> list[str]:
    """A new version of a stored type keeps its category (the store's retention class)."""
    stored = {r.category for (t, _), r in rows.items() if t == schema_file.event_type}
    if stored and schema_file.category not in stored:
        return [
            f"{where}: category {schema_file.category}, the type is {', '.join(sorted(stored))}: "
            "the category is the type's identity; define a new type instead"
        ]
    return []


def _described(row: StoredSchema, schema_file: SchemaFile) -> str:
    parts = []
    if row.description != schema_file.description:
        parts.append("description")
    if row.owner != schema_file.owner:
        parts.append(f"owner {row.owner or '(none)'} -> {schema_file.owner}")
    return ", ".join(parts)


def _retention_changes(
    files: Sequence[SchemaFile], rows: dict[tuple[str, int], StoredSchema]
) -> list[Change]:
    out = []
    seen: set[str] = set()
    for schema_file in files:
        name = schema_file.event_type
        if name in seen:
            continue
        seen.add(name)
        stored = [r for (t, _), r in rows.items() if t == name]
        want = retention_parts(schema_file.retention)
        if any((r.retention_months, r.retention_days) != want for r in stored):
            out.append(
                Change(
                    "retention",
                    name,
                    max(r.version for r in stored),
                    f"every version kept {schema_file.retention}, from the next retention run "
                    "(`platform-events retention --dry-run` shows what it would delete)",
                )
            )
    return out


def compare(old: dict[str, Any], new: dict[str, Any]) -> tuple[list[str], list[str]]:
    """(why ``new`` would refuse something ``old`` accepts, what ``new`` adds compatibly)."""
    breaking: list[str] = []
    compatible: list[str] = []
    old_props: dict[str, dict[str, Any]] = old.get("properties", {})
    new_props: dict[str, dict[str, Any]] = new.get("properties", {})
    old_required, new_required = set(old.get("required", ())), set(new.get("required", ()))
    for name in sorted(set(old_props) - set(new_props)):
        breaking.append(f"removes field {name!r}")
    for name in sorted(set(new_props) - set(old_props)):
        if name in new_required:
            breaking.append(f"adds required field {name!r}")
        else:
            compatible.append(f"adds optional field {name!r}")
    for name in sorted(set(old_props) & set(new_props)):
        b, c = _compare_field(name, old_props[name], new_props[name])
        breaking += b
        compatible += c
    for name in sorted((new_required - old_required) & set(old_props)):
        breaking.append(f"makes {name!r} required")
    for name in sorted((old_required - new_required) & set(new_props)):
        compatible.append(f"makes {name!r} optional")
    return breaking, compatible


def _compare_field(
    name: str, old: dict[str, Any], new: dict[str, Any]
) -> tuple[list[str], list[str]]:
    breaking: list[str] = []
    compatible: list[str] = []
    if old["type"] != new["type"]:
        return [f"changes {name!r} from {old['type']} to {new['type']}"], []
    old_enum, new_enum = old.get("enum"), new.get("enum")
    if old_enum != new_enum:
        if new_enum is not None and (old_enum is None or not set(old_enum) <= set(new_enum)):
            breaking.append(f"narrows the values of {name!r}")
        else:
            compatible.append(f"widens the values of {name!r}")
    for key, looser in (("minimum", min), ("maximum", max), ("maxLength", max)):
        before, after = old.get(key), new.get(key)
        if before == after:
            continue
        if after is not None and (before is None or looser(before, after) != after):
            breaking.append(f"tightens {key} of {name!r} ({before} -> {after})")
        else:
            compatible.append(f"loosens {key} of {name!r} ({before} -> {after})")
    for flag, what in (("x-personal", "personal"), ("x-user-reference", "a user reference")):
        before, after = bool(old.get(flag)), bool(new.get(flag))
        if before and not after:
            breaking.append(
                f"no longer marks {name!r} {what} (erasure relies on it for stored events)"
            )
        elif after and not before:
            compatible.append(f"marks {name!r} {what}")
    if old.get("description") != new.get("description"):
        compatible.append(f"describes {name!r}")
    return breaking, compatible
