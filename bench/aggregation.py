"""Hourly aggregation of a busy hour: ``aggregate_events_hourly`` over the dataset's dense hour.

The figure is seconds per 100,000 events in the bucket (the DESIGN target's unit); the baseline
is a plain ``GROUP BY`` of the same hour computing the same counts without storing them.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta

from bench.sql import sql
from platform_events.db import Conn


def hour_events(conn: Conn, hour: datetime) -> int:
    row = conn.execute(
        sql("hour_events"), {"from": hour, "to": hour + timedelta(hours=1)}
    ).fetchone()
    return int(row["n"]) if row else 0  # type: ignore[call-overload]


def aggregate_hour(conn: Conn, hour: datetime, repeat: int) -> tuple[list[float], list[float]]:
    """(seconds per aggregate_events_hourly call, seconds per raw GROUP BY), ``repeat`` each."""
    bounds = {"from": hour, "to": hour + timedelta(hours=1)}
    ours, raw = [], []
    for _ in range(repeat):
        started = time.perf_counter()
        conn.execute(sql("aggregate_hour"), bounds).fetchone()
        ours.append(time.perf_counter() - started)
        started = time.perf_counter()
        conn.execute(sql("raw_hour_aggregate"), bounds).fetchall()
        raw.append(time.perf_counter() - started)
    return ours, raw
