"""Data builders for tests: valid events of any catalogue type, overridable field by field."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from psycopg.types.json import Jsonb

from platform_events.db import Conn

if TYPE_CHECKING:
    from platform_events.pipeline.batch import ClaimedBatch

VALID_DATA: dict[str, dict[str, Any]] = {
    "project.created": {
        "project_id": "p1",
        "title": "Landing page",
        "budget": 1200.0,
        "currency": "USD",
    },
    "proposal.submitted": {"proposal_id": "pr1", "project_id": "p1", "bid_amount": 900},
    "milestone.approved": {"milestone_id": "m1", "project_id": "p1", "amount": 300},
    "payment.initiated": {"payment_id": "pay1", "amount": 300, "currency": "USD", "method": "card"},
    "payment.completed": {"payment_id": "pay1", "amount": 300, "currency": "USD"},
    "profile.viewed": {"profile_id": "user_b", "source": "search"},
    "search.performed": {"query": "python developer", "results_count": 42},
    "filter.applied": {"filter_name": "budget", "filter_value": "<500"},
    "message.sent": {"message_id": "msg1", "conversation_id": "c1", "recipient_id": "user_b"},
    "notification.clicked": {"notification_id": "n1", "notification_type": "proposal"},
    "user.login": {"method": "password", "success": True},
    "user.logout": {"reason": "user"},
    "session.started": {"referrer": "https://example.com/?email=a@b.c", "landing_page": "/"},
    "password.changed": {"method": "settings"},
    "mfa.enabled": {"method": "totp"},
    "review.posted": {
        "review_id": "r1",
        "project_id": "p1",
        "rating": 5,
        "comment": "Great work, Jane",
    },
    "portfolio.created": {"portfolio_id": "pf1", "title": "Logo set"},
    "profile.updated": {"fields_changed": ["bio"]},
}


def event(event_type: str = "payment.completed", **overrides: Any) -> dict[str, Any]:
    """A valid event as keyword arguments of emit_platform_event, overridable."""
    base: dict[str, Any] = {
        "event_type": event_type,
        "event_data": dict(VALID_DATA.get(event_type, {})),
        "user_id": "user_a",
        "session_id": "s1",
        "metadata": {"source": "test"},
        "occurred_at": None,
        "event_id": None,
    }
    base.update(overrides)
    return base


def emit(conn: Conn, event_type: str = "payment.completed", **overrides: Any) -> uuid.UUID:
    """Emit one event through emit_platform_event and return its id."""
    e = event(event_type, **overrides)
    row = conn.execute(
        "SELECT emit_platform_event(%s, %s, %s, %s, %s, %s, %s) AS id",
        (
            e["event_type"],
            Jsonb(e["event_data"]),
            e["user_id"],
            e["session_id"],
            Jsonb(e["metadata"]),
            e["occurred_at"],
            e["event_id"],
        ),
    ).fetchone()
    assert row is not None
    return row["id"]  # type: ignore[return-value]


def emit_many(
    conn: Conn, count: int, event_type: str = "user.login", **overrides: Any
) -> list[uuid.UUID]:
    return [emit(conn, event_type, **overrides) for _ in range(count)]


def counts(conn: Conn) -> tuple[int, int]:
    """(rows in platform_events, rows in platform_event_delivery)."""
    row = conn.execute(
        "SELECT (SELECT count(*) FROM platform_events) AS e, (SELECT count(*) FROM platform_event_delivery) AS d"
    ).fetchone()
    assert row is not None
    return int(row["e"]), int(row["d"])  # type: ignore[call-overload]


def set_delivery(conn: Conn, ids: list[uuid.UUID], **columns: Any) -> None:
    """Force delivery state (test setup only), e.g. status='delivered'."""
    assignments = ", ".join(f"{name} = %({name})s" for name in columns)
    conn.execute(
        f"UPDATE platform_event_delivery SET {assignments} WHERE event_id = ANY(%(ids)s)",
        {**columns, "ids": ids},
    )


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def segment_track(event: str = "Signed In", **fields: Any) -> dict[str, Any]:
    """A Segment ``track`` message ingest_events stores as is (``Signed In`` -> user.login)."""
    return {
        "type": "track",
        "event": event,
        "properties": {"method": "sso"},
        "userId": "user_1",
        "messageId": str(uuid.uuid4()),
        **fields,
    }


def warehouse_event(
    event_type: str,
    user_id: str | None,
    session_id: str | None,
    occurred_at: datetime,
    **overrides: Any,
) -> dict[str, Any]:
    """One delivered, enriched row of the warehouse's events table (a pipeline batch's columns)."""
    import json

    from platform_events import catalog

    row: dict[str, Any] = {
        "event_id": str(uuid.uuid4()),
        "event_type": event_type,
        "event_category": catalog.builtin().current[event_type].category,
        "schema_version": 1,
        "user_id": user_id,
        "session_id": session_id,
        "occurred_at": occurred_at,
        "received_at": occurred_at,
        "event_data": json.dumps(VALID_DATA.get(event_type, {})),
        "metadata": json.dumps({"source": "test"}),
        "user_role": None,
        "user_tenure_days": None,
        "session_event_index": None,
        "session_first_seen_at": None,
        "device_type": "desktop",
        "browser": "Chrome",
        "os": "Windows",
        "country": "US",
        "region": None,
        "city": None,
    }
    if "event_data" in overrides:
        overrides["event_data"] = json.dumps(overrides["event_data"])
    row.update(overrides)
    return row


def warehouse_batch(rows: list[dict[str, Any]]) -> Any:
    """The rows as the Arrow batch a sink's ``write`` takes."""
    import pyarrow as pa

    from platform_events.sinks import schema

    arrow = schema.batch_arrow_schema()
    return pa.Table.from_pylist(rows, schema=arrow)


def plant(
    conn: Conn,
    *,
    occurred_at: str = "now",
    received_at: str = "now",
    event_data: str = '{"method": "password", "success": true}',
    metadata: str = '{"source": "planted"}',
    event_type: str = "user.login",
    session_id: str | None = "planted",
    event_row: bool = True,
    status: str = "pending",
    claimed_at: str | None = None,
) -> str:
    """An event written straight into the tables, past emit's validation (as the pipeline role
    can, or as a row from before a rule existed): values are SQL literals (``'-infinity'``)."""
    event_id = str(uuid.uuid4())
    if event_row:
        conn.execute(
            "INSERT INTO platform_events (event_id, event_type, event_category, schema_version, "
            "user_id, session_id, occurred_at, received_at, event_data, metadata, retention_class) "
            "VALUES (%s, %s, 'user_activity', 1, 'planted_user', %s, %s::timestamptz, "
            "%s::timestamptz, %s::jsonb, %s::jsonb, "
            "(SELECT coalesce(max(s.retention), interval '7 years')::text FROM event_schemas s "
            "WHERE s.event_type = %s))",
            (
                event_id,
                event_type,
                session_id,
                occurred_at,
                received_at,
                event_data,
                metadata,
                event_type,
            ),
        )
    conn.execute(
        "INSERT INTO platform_event_delivery (event_id, received_at, event_type, status, "
        "claimed_at, next_attempt_at) VALUES (%s, %s::timestamptz, %s, %s, %s::timestamptz, "
        "now() - interval '1 day')",
        (event_id, received_at, event_type, status, claimed_at),
    )
    return event_id


# When the rows of claimed_batch happened (and were received).
BATCH_AT = datetime(2026, 3, 1, tzinfo=UTC)


def claimed_batch(n: int = 2) -> ClaimedBatch:
    """A claimed batch of ``n`` user.login rows, event ids ``e0``..., as the stream fetches it."""
    from platform_events.pipeline.batch import ClaimedBatch
    from platform_events.sinks import schema

    names = [*schema.batch_column_names()]
    values: dict[str, Any] = dict.fromkeys(names)
    values.update(
        event_type="user.login",
        event_category="user_activity",
        schema_version=1,
        occurred_at=BATCH_AT,
        received_at=BATCH_AT,
        event_data='{"method": "password"}',
        metadata="{}",
    )
    return ClaimedBatch.from_rows(
        names, [[f"e{i}" if n_ == "event_id" else values[n_] for n_ in names] for i in range(n)]
    )
