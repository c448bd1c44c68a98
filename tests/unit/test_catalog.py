"""catalog.py: the event catalogue's types and the validation that names the field at fault."""

from __future__ import annotations

import pytest

from platform_events import catalog
from platform_events.errors import InvalidEvent


def test_catalogue_has_the_seeds_types_in_four_categories() -> None:
    by_category: dict[str, set[str]] = {}
    for entry in catalog.CATALOG.values():
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
