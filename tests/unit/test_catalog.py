"""catalog.py: the event catalogue's types and the validation that names the field at fault."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from platform_events import catalog, catalog_files
from platform_events.errors import InvalidEvent


def test_catalogue_has_the_seeds_types_in_four_categories() -> None:
    by_category: dict[str, set[str]] = {}
    for entry in catalog.builtin().current.values():
        by_category.setdefault(entry.category, set()).add(entry.name)
    assert by_category["transaction"] >= {
        "project.created",
        "proposal.submitted",
        "milestone.approved",
        "payment.initiated",
        "payment.completed",
    }
    assert by_category["interaction"] >= {
        "profile.viewed",
        "search.performed",
        "filter.applied",
        "message.sent",
        "notification.clicked",
    }
    assert by_category["user_activity"] >= {
        "user.login",
        "user.logout",
        "session.started",
        "password.changed",
        "mfa.enabled",
    }
    assert by_category["content"] >= {"review.posted", "portfolio.created", "profile.updated"}


def test_catalogue_validation_names_the_field() -> None:
    with pytest.raises(InvalidEvent) as caught:
        catalog.validate_event("payment.completed", {"payment_id": "p", "currency": "USD"})
    assert caught.value.field == "event_data.amount"
    assert caught.value.code == "missing_field"
    with pytest.raises(InvalidEvent) as caught:
        catalog.validate_event("nope", {})
    assert caught.value.field == "event_type"


def _team(tmp_path: Path, *versions: dict[str, Any]) -> catalog.Catalog:
    for number, doc in enumerate(versions, start=1):
        path = tmp_path / "invoice.sent" / f"{number}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(
            json.dumps(
                {
                    "$schema": catalog.JSON_SCHEMA_DIALECT,
                    "title": "invoice.sent",
                    "description": "An invoice was sent.",
                    "x-category": "transaction",
                    "x-retention": "7 years",
                    "x-owner": "billing",
                    "type": "object",
                    "additionalProperties": True,
                    **doc,
                }
            )
        )
    return catalog.Catalog.from_files(catalog_files.load(tmp_path))


def test_an_event_is_validated_by_the_newest_active_version_that_accepts_it(
    tmp_path: Path,
) -> None:
    team = _team(
        tmp_path,
        {"required": ["id"], "properties": {"id": {"type": "string"}, "memo": {"type": "string", "x-personal": True}}},
        {"required": ["id", "due"], "properties": {"id": {"type": "string"}, "due": {"type": "string"}}},
    )  # fmt: skip
    assert team.validate("invoice.sent", {"id": "a", "due": "2027"}).version == 2
    assert team.validate("invoice.sent", {"id": "a"}).version == 1
    with pytest.raises(InvalidEvent) as caught:  # neither: the newest version's error
        team.validate("invoice.sent", {"due": "2027"})
    assert caught.value.field == "event_data.id"
    # erasure removes what any version marked personal
    assert team.personal_keys("invoice.sent") == {"memo"}


def test_a_deactivated_version_or_type_takes_no_new_events(tmp_path: Path) -> None:
    v1 = {"required": ["id"], "properties": {"id": {"type": "string"}}}
    team = _team(tmp_path, v1, {**v1, "x-active": False})
    assert team.validate("invoice.sent", {"id": "a"}).version == 1
    off = _team(tmp_path, {**v1, "x-active": False}, {**v1, "x-active": False})
    with pytest.raises(InvalidEvent) as caught:
        off.validate("invoice.sent", {"id": "a"})
    assert caught.value.code == "inactive_event_type"
    assert "invoice.sent" not in off.current
