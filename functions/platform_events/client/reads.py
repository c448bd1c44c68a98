"""The client's read side: events by filter (keyset pages), dashboard metrics, aggregations."""

from __future__ import annotations

import base64
import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, cast

from psycopg.types.json import Jsonb
from pydantic import BaseModel, ConfigDict, Field

from platform_events.db import Conn
from platform_events.errors import InvalidRequest
from platform_events.queries import sql

Granularity = Literal["hour", "day", "week"]


class EventFilters(BaseModel):
    """What ``query_events`` selects; every filter is optional."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    event_types: list[str] | None = None
    category: str | None = None
    user_id: str | None = None
    session_id: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    data_contains: dict[str, Any] | None = Field(
        default=None, description="event_data must contain this JSON (served by the GIN index)"
    )


class Page(BaseModel):
    """A page of results: ``cursor`` is the ``next_cursor`` of the previous page."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    limit: int = Field(default=50, ge=1, le=1000)
    cursor: str | None = None


@dataclass(frozen=True)
class EventPage:
    events: list[dict[str, Any]]
    next_cursor: str | None


def _encode_cursor(occurred_at: datetime, event_id: uuid.UUID) -> str:
    raw = json.dumps([occurred_at.isoformat(), str(event_id)]).encode()
    return base64.urlsafe_b64encode(raw).decode()


def _decode_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    try:
        at, event_id = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        return datetime.fromisoformat(at), uuid.UUID(event_id)
    except (ValueError, TypeError) as exc:
        raise InvalidRequest("the page cursor is not valid", field="page.cursor") from exc


def query_events(conn: Conn, filters: EventFilters, page: Page) -> EventPage:
    """Events matching ``filters``, newest first, one page at a time."""
    after_at, after_id = _decode_cursor(page.cursor) if page.cursor else (None, None)
    params = {
        **filters.model_dump(),
        "data_contains": Jsonb(filters.data_contains) if filters.data_contains else None,
        "after_at": after_at,
        "after_id": after_id,
        "limit": page.limit + 1,
    }
    rows = [dict(row) for row in conn.execute(sql("client_query_events"), params).fetchall()]
    more = len(rows) > page.limit
    rows = rows[: page.limit]
    cursor = None
    if more:
        last = rows[-1]
        cursor = _encode_cursor(
            cast(datetime, last["occurred_at"]), cast(uuid.UUID, last["event_id"])
        )
    return EventPage(events=rows, next_cursor=cursor)


def dashboard_metrics(conn: Conn) -> dict[str, Any]:
    """Live counters plus the last 24 hours per event type (from the hourly aggregations)."""
    realtime = [dict(row) for row in conn.execute(sql("client_dashboard_realtime")).fetchall()]
    by_type = [dict(row) for row in conn.execute(sql("client_dashboard_by_type")).fetchall()]
    return {
        "realtime": realtime,
        "last_24h": {
            "events": sum(cast(int, row["events"]) for row in by_type),
            "by_type": by_type,
        },
    }


def aggregations(
    conn: Conn,
    event_type: str | None,
    granularity: Granularity,
    time_range: tuple[datetime, datetime],
) -> list[dict[str, Any]]:
    """Stored aggregation buckets of ``granularity`` starting within ``time_range`` [start, end)."""
    if granularity not in ("hour", "day", "week"):
        raise InvalidRequest("granularity must be hour, day or week", field="granularity")
    start, end = time_range
    if end <= start:
        raise InvalidRequest("the range must end after it starts", field="range")
    params = {"granularity": granularity, "event_type": event_type, "start": start, "end": end}
    return [dict(row) for row in conn.execute(sql("client_query_aggregations"), params).fetchall()]
