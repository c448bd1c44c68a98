"""catalog_changes: SchemaVer's rules, judged by jsonschema itself over generated schemas."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from platform_events import catalog_changes
from platform_events.catalog_changes import StoredSchema, compare, plan, retention_parts
from platform_events.catalog_files import JSON_SCHEMA_DIALECT, SchemaFile

NAMES = ("a", "b", "c")
LETTERS = ("x", "y", "z", "w")


@st.composite
def field_schemas(draw: st.DrawFn) -> dict[str, Any]:
    kind = draw(st.sampled_from(["string", "number", "integer", "boolean"]))
    prop: dict[str, Any] = {"type": kind}
    if kind == "string":
        if draw(st.booleans()):
            prop["enum"] = sorted(draw(st.sets(st.sampled_from(LETTERS), min_size=1)))
        if draw(st.booleans()):
            prop["maxLength"] = draw(st.integers(0, 3))
    if kind in ("number", "integer"):
        if draw(st.booleans()):
            prop["minimum"] = draw(st.integers(-3, 3))
        if draw(st.booleans()):
            prop["maximum"] = draw(st.integers(prop.get("minimum", -3), 4))
    return prop


@st.composite
def schemas(draw: st.DrawFn) -> dict[str, Any]:
    names = draw(st.sets(st.sampled_from(NAMES), min_size=1))
    properties = {name: draw(field_schemas()) for name in sorted(names)}
    required = sorted(draw(st.sets(st.sampled_from(sorted(names)))))
    return {
        "$schema": JSON_SCHEMA_DIALECT,
        "title": "t.e",
        "type": "object",
        "required": required,
        "properties": properties,
        "additionalProperties": True,
    }


# No null: the store reads a null optional field as absent, where JSON Schema calls it a type error.
values = st.one_of(
    st.text(alphabet="xyzw", max_size=4),
    st.integers(-5, 5),
    st.floats(-5, 5, allow_nan=False),
    st.booleans(),
)
payloads = st.dictionaries(st.sampled_from(NAMES), values, max_size=3)


@st.composite
def widened(draw: st.DrawFn, schema: dict[str, Any]) -> dict[str, Any]:
    """``schema`` after edits the rules call compatible (each one a step of SchemaVer's REVISION)."""
    new = copy.deepcopy(schema)
    for name, prop in new["properties"].items():
        if "enum" in prop and draw(st.booleans()):
            prop["enum"] = sorted({*prop["enum"], draw(st.sampled_from(LETTERS))})
        for key, step in (("maxLength", 1), ("maximum", 1), ("minimum", -1)):
            if key in prop and draw(st.booleans()):
                prop[key] += step * draw(st.integers(0, 2))
            elif key in prop and draw(st.booleans()):
                del prop[key]
        if draw(st.booleans()):
            prop["description"] = f"about {name}"
    if draw(st.booleans()):
        new["required"] = [n for n in new["required"] if draw(st.booleans())]
    for name in NAMES:
        if name not in new["properties"] and draw(st.booleans()):
            new["properties"][name] = draw(field_schemas())
    return new


def _valid(schema: dict[str, Any], payload: dict[str, Any]) -> bool:
    return Draft202012Validator(schema).is_valid(payload)


def _declared(schema: dict[str, Any], payload: dict[str, Any]) -> dict[str, Any]:
    """The payload's keys that ``schema`` declares. An undeclared key may be stored with any value
    (additionalProperties is true), so whether a new field's rule fits the events already stored
    is a question about the data: ``catalog apply`` asks the store (test_catalog_apply.py)."""
    return {k: v for k, v in payload.items() if k in schema["properties"]}


@settings(max_examples=300, deadline=None)
@given(old=schemas(), new=schemas(), samples=st.lists(payloads, min_size=10, max_size=30))
def test_an_edit_the_rules_accept_keeps_every_old_payload_valid(
    old: dict[str, Any], new: dict[str, Any], samples: list[dict[str, Any]]
) -> None:
    breaking, _ = compare(old, new)
    if not breaking:
        for payload in (_declared(old, p) for p in samples):
            if _valid(old, payload):
                assert _valid(new, payload), (old, new, payload)


@settings(max_examples=300, deadline=None)
@given(data=st.data(), old=schemas(), samples=st.lists(payloads, min_size=10, max_size=30))
def test_widening_edits_are_accepted_and_jsonschema_agrees(
    data: st.DataObject, old: dict[str, Any], samples: list[dict[str, Any]]
) -> None:
    new = data.draw(widened(old))
    breaking, compatible = compare(old, new)
    assert breaking == []
    assert bool(compatible) == (new != old)
    for payload in (_declared(old, p) for p in samples):
        if _valid(old, payload):
            assert _valid(new, payload)


@settings(max_examples=200, deadline=None)
@given(old=schemas(), name=st.sampled_from(NAMES))
def test_a_new_required_field_or_a_removed_one_is_a_new_version(
    old: dict[str, Any], name: str
) -> None:
    new = copy.deepcopy(old)
    if name in new["properties"]:
        del new["properties"][name]
        new["required"] = [n for n in new["required"] if n != name]
        expected = f"removes field {name!r}"
    else:
        new["properties"][name] = {"type": "string"}
        new["required"] = [*new["required"], name]
        expected = f"adds required field {name!r}"
        if not old["required"]:
            # jsonschema agrees: a payload without it was valid and no longer is.
            assert _valid(old, {}) and not _valid(new, {})
    breaking, _ = compare(old, new)
    assert expected in breaking


def test_narrowing_a_field_type_or_its_privacy_is_breaking() -> None:
    base = {"properties": {"s": {"type": "string", "enum": ["x", "y"], "x-personal": True}}}
    cases = {
        "narrows the values of 's'": {"type": "string", "enum": ["x"], "x-personal": True},
        "changes 's' from string to integer": {"type": "integer"},
        "no longer marks 's' personal (erasure relies on it for stored events)": {
            "type": "string",
            "enum": ["x", "y"],
        },
        "tightens maxLength of 's' (None -> 1)": {
            "type": "string",
            "enum": ["x", "y"],
            "maxLength": 1,
            "x-personal": True,
        },
    }
    for reason, prop in cases.items():
        breaking, _ = compare(base, {"properties": {"s": prop}})
        assert reason in breaking


def _file(name: str, version: int, schema: dict[str, Any], **kw: Any) -> SchemaFile:
    values: dict[str, Any] = {
        "category": "transaction",
        "retention": "7 years",
        "owner": "billing",
        "description": "An invoice was sent.",
        "active": True,
    }
    values.update(kw)
    return SchemaFile(
        event_type=name, version=version, json_schema=schema, path=Path(f"{name}/{version}.json"),
        **values,
    )  # fmt: skip


def _row(schema_file: SchemaFile, **kw: Any) -> StoredSchema:
    months, days = retention_parts(schema_file.retention)
    values: dict[str, Any] = {
        "event_type": schema_file.event_type,
        "version": schema_file.version,
        "category": schema_file.category,
        "retention_months": months,
        "retention_days": days,
        "owner": schema_file.owner,
        "description": schema_file.description,
        "is_active": schema_file.active,
        "revision": 0,
        "json_schema": schema_file.json_schema,
    }
    values.update(kw)
    return StoredSchema(**values)


V1 = {"type": "object", "required": ["id"], "properties": {"id": {"type": "string"}}}


def test_the_plan_of_each_kind_of_change() -> None:
    v1 = _file("invoice.sent", 1, V1)
    stored = [_row(v1)]
    assert plan([v1], stored).empty
    added = plan([v1, _file("invoice.paid", 1, V1)], stored)
    assert [(c.kind, c.event_type) for c in added.changes] == [("add_type", "invoice.paid")]

    optional = {**V1, "properties": {**V1["properties"], "due": {"type": "string"}}}
    edit = plan([_file("invoice.sent", 1, optional)], stored)
    assert [c.kind for c in edit.changes] == ["edit"] and not edit.refused
    assert "revision 0 -> 1: adds optional field 'due'" in edit.changes[0].detail

    required = {**optional, "required": ["id", "due"]}
    refused = plan([_file("invoice.sent", 1, required)], stored)
    assert refused.refused and "make it version 2" in refused.refused[0]
    assert "adds required field 'due'" in refused.refused[0]
    # ...and as version 2 it is accepted, beside version 1.
    v2 = plan([v1, _file("invoice.sent", 2, required)], stored)
    assert [(c.kind, c.version) for c in v2.changes] == [("add_version", 2)] and not v2.refused

    retention = plan([_file("invoice.sent", 1, V1, retention="10 years")], stored)
    assert [c.kind for c in retention.changes] == ["retention"]
    assert retention_parts("10 years") == (120, 0)

    off = plan([_file("invoice.sent", 1, V1, active=False)], stored)
    assert [(c.kind, c.detail) for c in off.changes] == [("deactivate", "new events quarantined")]

    moved = plan([_file("invoice.sent", 1, V1, category="interaction")], stored)
    assert moved.refused and "the category is the type's identity" in moved.refused[0]
    other = plan([v1, _file("invoice.sent", 2, V1, category="interaction")], stored)
    assert other.refused

    owner = plan([_file("invoice.sent", 1, V1, owner="finance")], stored)
    assert [(c.kind, c.detail) for c in owner.changes] == [("describe", "owner billing -> finance")]


def test_a_type_missing_from_the_files_is_kept_not_deleted() -> None:
    v1 = _file("invoice.sent", 1, V1)
    gone = plan([], [_row(v1)])
    assert gone.empty and gone.kept == (
        "invoice.sent v1: in the database, not in the files (kept; events refer to it)",
    )
    assert "kept: invoice.sent v1" in "\n".join(gone.lines())


def test_retention_text_is_read_as_months_and_days() -> None:
    assert catalog_changes.retention_parts("1 year") == (12, 0)
    assert catalog_changes.retention_parts("90 days") == (0, 90)
    assert catalog_changes.retention_parts("18 months") == (18, 0)
