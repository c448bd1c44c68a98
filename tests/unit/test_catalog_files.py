"""catalog_files: the tracking plan's files, the meta-schema and our rules, every problem named."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from platform_events import catalog, catalog_files
from platform_events.errors import CatalogInvalid


def _doc(name: str = "invoice.sent", **overrides: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "$schema": catalog_files.JSON_SCHEMA_DIALECT,
        "title": name,
        "description": "An invoice was sent to a client.",
        "x-category": "transaction",
        "x-retention": "7 years",
        "x-owner": "billing",
        "type": "object",
        "required": ["invoice_id"],
        "properties": {
            "invoice_id": {"type": "string", "description": "Invoice id"},
            "amount": {"type": "number", "minimum": 0},
        },
        "additionalProperties": True,
    }
    doc.update(overrides)
    return doc


def _write(root: Path, name: str, version: int, doc: dict[str, Any]) -> Path:
    path = root / name / f"{version}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc))
    return path


def _problems(root: Path) -> list[str]:
    with pytest.raises(CatalogInvalid) as caught:
        catalog_files.load(root)
    return caught.value.problems


def test_a_valid_file_loads_with_its_annotations_as_columns(tmp_path: Path) -> None:
    _write(tmp_path, "invoice.sent", 1, _doc())
    (loaded,) = catalog_files.load(tmp_path)
    assert (loaded.event_type, loaded.version, loaded.category) == (
        "invoice.sent",
        1,
        "transaction",
    )
    assert (loaded.retention, loaded.owner, loaded.active) == ("7 years", "billing", True)
    assert "x-owner" not in loaded.json_schema and "description" not in loaded.json_schema
    assert loaded.required == ("invoice_id",)


def test_the_builtin_catalogue_is_valid_and_renders_back_to_its_files() -> None:
    files = catalog_files.load(catalog_files.builtin_dir())
    assert len({f.event_type for f in files}) == len(catalog.builtin().current) >= 20
    for schema_file in files:
        assert catalog_files.render(schema_file) == schema_file.path.read_text()
        assert (
            catalog.builtin().current[schema_file.event_type].json_schema()
            == schema_file.json_schema
        )


def test_the_meta_schema_is_checked_by_jsonschema(tmp_path: Path) -> None:
    _write(tmp_path, "invoice.sent", 1, _doc(required="invoice_id"))
    problems = _problems(tmp_path)
    assert any(
        "invoice.sent/1.json: required" in p and "not of type 'array'" in p for p in problems
    )


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"x-category": "billing"}, "x-category: one of"),
        ({"x-retention": "forever"}, "x-retention:"),
        ({"x-owner": ""}, "x-owner:"),
        ({"title": "invoice.paid"}, "title: must be the directory's name"),
        ({"additionalProperties": False}, "additionalProperties: must be true"),
        ({"required": ["invoice_id", "due"]}, "required: 'due' is not among the properties"),
        ({"oneOf": [{"type": "object"}]}, "oneOf: not a keyword of a schema file"),
        (
            {"properties": {"invoice_id": {"type": "string", "pattern": "^INV"}}},
            "properties/invoice_id: pattern: not a field keyword the store enforces",
        ),
        (
            {"properties": {"n": {"type": "integer", "maxLength": 3}}},
            "properties/n: maxLength: a non-negative integer, on a string field",
        ),
        (
            {"properties": {"n": {"type": "number", "minimum": 5, "maximum": 1}}},
            "properties/n: minimum: above maximum",
        ),
        ({"properties": {"s": {"type": "string", "enum": [1, 2]}}}, "properties/s: enum"),
        ({"properties": {"s": {"type": "uuid"}}}, "properties/s: type: one of"),
    ],
)
def test_our_rules_refuse_what_the_store_would_not_enforce(
    tmp_path: Path, change: dict[str, Any], expected: str
) -> None:
    doc = _doc(**change)
    if "required" not in change and "properties" in change:
        doc["required"] = []
    _write(tmp_path, "invoice.sent", 1, doc)
    problems = _problems(tmp_path)
    assert any(p.startswith("invoice.sent/1.json: ") and expected in p for p in problems), problems


def test_layout_rules_name_every_problem_at_once(tmp_path: Path) -> None:
    _write(tmp_path, "Invoice", 1, _doc("Invoice"))
    _write(tmp_path, "invoice.sent", 1, _doc())
    _write(tmp_path, "invoice.sent", 3, _doc())
    (tmp_path / "invoice.sent" / "notes.txt").write_text("x")
    _write(tmp_path, "invoice.paid", 1, _doc("invoice.paid"))
    _write(tmp_path, "invoice.paid", 2, _doc("invoice.paid", **{"x-retention": "1 year"}))
    problems = _problems(tmp_path)
    assert any(p.startswith("Invoice: an event type is lower-case") for p in problems)
    assert any("versions must run 1, 2, 3" in p and "[1, 3]" in p for p in problems)
    assert any("notes.txt: files are named <version>.json" in p for p in problems)
    assert any(p.startswith("invoice.paid: x-retention belongs to the type") for p in problems)


def test_not_json_and_a_missing_directory_are_named(tmp_path: Path) -> None:
    (tmp_path / "invoice.sent").mkdir()
    (tmp_path / "invoice.sent" / "1.json").write_text("{nope")
    assert any(p.startswith("invoice.sent/1.json: not JSON") for p in _problems(tmp_path))
    with pytest.raises(CatalogInvalid, match="no such directory"):
        catalog_files.load(tmp_path / "absent")
