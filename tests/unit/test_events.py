"""events.py: building an event validates it and fixes its idempotency key."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from platform_events.errors import InvalidEvent
from platform_events.events import build_event


def test_build_event_validates_and_fixes_the_idempotency_key() -> None:
    event = build_event("user.login", {"method": "sso"}, occurred_at=datetime(2024, 1, 1))
    assert isinstance(event.event_id, uuid.UUID)
    assert event.occurred_at.tzinfo is UTC
    with pytest.raises(InvalidEvent) as caught:
        build_event("payment.completed", {"payment_id": "p", "amount": -1, "currency": "USD"})
    assert caught.value.field == "event_data.amount"
