"""The plain data events travel as: one event to write, and what the store answered (shared by the
client, ingest and the traffic generator, so it imports none of them)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from platform_events import catalog

Status = Literal["accepted", "duplicate", "rejected", "quarantined"]


@dataclass(frozen=True)
class Event:
    """One event, validated against the catalogue, with its idempotency key fixed at creation.

    The ``event_id`` is chosen when the event is built, so every retry of the same event carries
    the same id and the store keeps it once.
    """

    event_type: str
    event_data: dict[str, Any]
    user_id: str | None = None
    session_id: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    occurred_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    event_id: uuid.UUID = field(default_factory=uuid.uuid4)

    def as_json(self) -> dict[str, Any]:
        """The event as one element of ``emit_platform_events``' JSON array."""
        return {
            "event_id": str(self.event_id),
            "event_type": self.event_type,
            "event_data": self.event_data,
            "user_id": self.user_id,
            "session_id": self.session_id,
            "metadata": self.metadata,
            "occurred_at": self.occurred_at.isoformat(),
        }


@dataclass(frozen=True)
class EventResult:
    """The store's answer for one event of a batch (``ordinal`` counts from 1, as in SQL)."""

    ordinal: int
    event_id: uuid.UUID | None
    status: Status
    error_code: str | None = None
    error_field: str | None = None
    error_message: str | None = None

    def as_dict(self) -> dict[str, Any]:
        answer: dict[str, Any] = {
            "event_id": str(self.event_id) if self.event_id else None,
            "status": self.status,
        }
        if self.error_code is not None:
            answer["error"] = {
                "code": self.error_code,
                "field": self.error_field,
                "message": self.error_message,
            }
        return answer


def build_event(
    event_type: str,
    event_data: dict[str, Any] | None = None,
    *,
    user_id: str | None = None,
    session_id: str | None = None,
    metadata: dict[str, Any] | None = None,
    occurred_at: datetime | None = None,
    event_id: uuid.UUID | None = None,
) -> Event:
    """Validate with the pydantic catalogue and build the event; InvalidEvent names the field."""
    data = dict(event_data or {})
    catalog.validate_event(event_type, data)
    catalog.check_limits(data, metadata or {}, user_id, session_id)
    if occurred_at is not None and occurred_at.tzinfo is None:
        occurred_at = occurred_at.replace(tzinfo=UTC)
    return Event(
        event_type=event_type,
        event_data=data,
        user_id=user_id,
        session_id=session_id,
        metadata=dict(metadata or {}),
        occurred_at=occurred_at or datetime.now(UTC),
        event_id=event_id or uuid.uuid4(),
    )


def count_statuses(results: list[EventResult]) -> dict[str, int]:
    """How many results have each status (every status present, zero when none)."""
    counts = {"accepted": 0, "duplicate": 0, "rejected": 0, "quarantined": 0}
    for result in results:
        counts[result.status] += 1
    return counts
