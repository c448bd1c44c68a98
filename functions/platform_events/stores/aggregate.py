"""Aggregation statements (``jobs/aggregate.py``): recompute buckets, and find those touched."""

from __future__ import annotations

from datetime import datetime

from platform_events.db import Conn
from platform_events.queries import sql
from platform_events.stores import Row


def aggregate(conn: Conn, granularity: str, lo: datetime, hi: datetime) -> Row | None:
    """``aggregate_events`` over [lo, hi): how many ``buckets`` it wrote."""
    return conn.execute(
        sql("jobs_aggregate"), {"granularity": granularity, "from": lo, "to": hi}
    ).fetchone()


def touched_buckets(conn: Conn, granularity: str, since: datetime) -> list[object]:
    """The starts of the buckets holding events received since ``since``."""
    rows = conn.execute(
        sql("jobs_touched_buckets"), {"granularity": granularity, "since": since}
    ).fetchall()
    return [row["bucket_start"] for row in rows]
