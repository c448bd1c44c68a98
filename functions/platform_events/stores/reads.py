"""The SDK's reads on Postgres (``client/reads.py``) and the console's (``console/data.py``):
events by filter, the dashboard's counters, the aggregations, throughput and dead letters."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from psycopg.types.json import Jsonb

from platform_events.db import Conn
from platform_events.queries import sql
from platform_events.stores import Row


def events_page(
    conn: Conn,
    filters: Mapping[str, Any],
    after: tuple[datetime | None, uuid.UUID | None],
    limit: int,
) -> list[Row]:
    """Up to ``limit`` events matching ``filters`` (the fields of ``EventFilters``), newest
    first, after the keyset ``(occurred_at, event_id)`` (``(None, None)``: from the newest)."""
    params = {
        **filters,
        "data_contains": Jsonb(filters["data_contains"]) if filters["data_contains"] else None,
        "after_at": after[0],
        "after_id": after[1],
        "limit": limit,
    }
    return [dict(row) for row in conn.execute(sql("client_query_events"), params).fetchall()]


def realtime_metrics(conn: Conn) -> list[Row]:
    """The live counters streaming maintains (unexpired only)."""
    return [dict(row) for row in conn.execute(sql("client_dashboard_realtime")).fetchall()]


def last_day_by_type(conn: Conn) -> list[Row]:
    """The last 24 hours per event type, from the hourly aggregations."""
    return [dict(row) for row in conn.execute(sql("client_dashboard_by_type")).fetchall()]


def aggregations(
    conn: Conn, granularity: str, event_type: str | None, start: datetime, end: datetime
) -> list[Row]:
    """The aggregation buckets of ``granularity`` (of ``event_type``, or all) in [start, end)."""
    params = {"granularity": granularity, "event_type": event_type, "start": start, "end": end}
    return [dict(row) for row in conn.execute(sql("client_query_aggregations"), params).fetchall()]


def throughput_hourly(conn: Conn, hours: int) -> list[Row]:
    """Delivered events per hour of delivery over the last ``hours``, with the delivery lag."""
    return [dict(r) for r in conn.execute(sql("console_throughput_hourly"), {"hours": hours})]


def dead_letters_by_reason(conn: Conn, hours: int) -> list[Row]:
    """The ingest dead letter by reason over the last ``hours``."""
    return [dict(r) for r in conn.execute(sql("console_dead_letters"), {"hours": hours})]
