"""Reads over the big dataset: the dashboard's metrics and ``query_events``, p50 and p99.

Each is timed on an open connection (what a service holding a pool pays), after a warm-up, and
beside its baseline: the dashboard's per-type figures counted from the raw events (what the
seed's dashboard did), and each ``query_events`` shape as the plainest hand-written SQL for that
one filter (the package's query serves every filter combination with one statement).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from psycopg.types.json import Jsonb

from bench.sql import sql
from platform_events.client import EventFilters, Page
from platform_events.client.reads import dashboard_metrics, query_events
from platform_events.db import Conn

PAGE = 50


def timed(call: Callable[[], Any], repeat: int, warmup: int = 5) -> list[float]:
    """Seconds per call of ``call``, ``repeat`` times after ``warmup`` untimed calls."""
    for _ in range(warmup):
        call()
    latencies = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        latencies.append(time.perf_counter() - started)
    return latencies


def dashboard(conn: Conn, repeat: int) -> tuple[list[float], list[float]]:
    """(dashboard_metrics latencies, raw per-type count latencies)."""
    conn.execute(sql("refresh_realtime"))
    ours = timed(lambda: dashboard_metrics(conn), repeat)
    # The raw baseline scans 10 million rows (about 5 s a call): a few calls show its order of
    # magnitude; its "p99" is then close to its maximum.
    raw = timed(lambda: conn.execute(sql("raw_dashboard")).fetchall(), max(3, repeat // 50), 1)
    return ours, raw


@dataclass(frozen=True)
class Shape:
    """One kind of query_events call, with its raw SQL twin; both take a random draw."""

    name: str
    ours: Callable[[random.Random], Any]
    raw: Callable[[random.Random], Any]


def shapes(conn: Conn) -> list[Shape]:
    """The filters a dashboard or support tool uses most, over the dataset's own values."""
    users = [str(r["user_id"]) for r in conn.execute(sql("sample_users"), {"n": 500}).fetchall()]
    types = [
        str(r["event_type"])
        for r in conn.execute("SELECT DISTINCT event_type FROM event_schemas").fetchall()
    ]
    day_ago = datetime.now(UTC) - timedelta(days=1)

    def by_user(rng: random.Random) -> Any:
        return query_events(conn, EventFilters(user_id=rng.choice(users)), Page(limit=PAGE))

    def by_user_raw(rng: random.Random) -> Any:
        params = {"user_id": rng.choice(users), "limit": PAGE + 1}
        return conn.execute(sql("raw_events_by_user"), params).fetchall()

    def next_page(rng: random.Random) -> Any:
        filters = EventFilters(user_id=rng.choice(users))
        first = query_events(conn, filters, Page(limit=PAGE))
        if first.next_cursor:
            query_events(conn, filters, Page(limit=PAGE, cursor=first.next_cursor))
        return first

    def next_page_raw(rng: random.Random) -> Any:
        params = {"user_id": rng.choice(users), "limit": 2 * PAGE + 1}
        return conn.execute(sql("raw_events_by_user"), params).fetchall()

    def by_type(rng: random.Random) -> Any:
        filters = EventFilters(event_types=[rng.choice(types)], since=day_ago)
        return query_events(conn, filters, Page(limit=PAGE))

    def by_type_raw(rng: random.Random) -> Any:
        params = {"event_type": rng.choice(types), "since": day_ago, "limit": PAGE + 1}
        return conn.execute(sql("raw_events_by_type"), params).fetchall()

    def containing(rng: random.Random) -> Any:
        data = {"project_id": f"proj_{rng.randrange(200_000)}"}
        return query_events(conn, EventFilters(data_contains=data), Page(limit=PAGE))

    def containing_raw(rng: random.Random) -> Any:
        params = {
            "data": Jsonb({"project_id": f"proj_{rng.randrange(200_000)}"}),
            "limit": PAGE + 1,
        }
        return conn.execute(sql("raw_events_containing"), params).fetchall()

    def latest(rng: random.Random) -> Any:
        return query_events(conn, EventFilters(), Page(limit=PAGE))

    def latest_raw(rng: random.Random) -> Any:
        return conn.execute(sql("raw_events_latest"), {"limit": PAGE + 1}).fetchall()

    return [
        Shape("by user", by_user, by_user_raw),
        Shape("by user, two pages", next_page, next_page_raw),
        Shape("by type, last 24 h", by_type, by_type_raw),
        Shape("payload contains", containing, containing_raw),
        Shape("latest, no filter", latest, latest_raw),
    ]


def query_shapes(
    conn: Conn, repeat: int, seed: int = 5
) -> dict[str, tuple[list[float], list[float]]]:
    """Per shape: (query_events latencies, raw SQL latencies), same draws for both."""
    found = {}
    for shape in shapes(conn):
        rng = random.Random(seed)
        ours = timed(lambda s=shape, r=rng: s.ours(r), repeat)  # type: ignore[misc]
        rng = random.Random(seed)
        raw = timed(lambda s=shape, r=rng: s.raw(r), repeat)  # type: ignore[misc]
        found[shape.name] = (ours, raw)
    return found
