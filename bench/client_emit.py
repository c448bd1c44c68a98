"""Measures the client's batched write path against a raw COPY of the same rows, in one run.

Three numbers, each on freshly truncated tables with every index of the schema in place:
  * raw COPY of N generated events straight into platform_events (no validation, no ledger):
    the ceiling the DESIGN target is a ratio of;
  * the client's batched path (``PostgresTransport.send``: ``emit_platform_events`` over a JSON
    array, 2,000 events per statement, 1 and 2 connections): full validation and idempotency;
  * one ``emit_platform_event`` call at a time: p50 and p99 latency.

Run: .venv/bin/python bench/client_emit.py [N]   (uses $DATABASE_URL or the embedded server;
it TRUNCATES platform_events: point it at a scratch database)
"""

from __future__ import annotations

import itertools
import sys
import time
from datetime import UTC, datetime

import psycopg
from psycopg.types.json import Jsonb

from platform_events.client import Event, PostgresTransport
from platform_events.config import load_settings
from platform_events.local import database_url
from platform_events.traffic import generate


def _reset(conn: psycopg.Connection[tuple[object, ...]]) -> None:
    conn.execute("TRUNCATE platform_events, platform_event_delivery")
    conn.execute("VACUUM ANALYZE platform_events")
    conn.execute("VACUUM ANALYZE platform_event_delivery")


def raw_copy(conn: psycopg.Connection[tuple[object, ...]], events: list[Event]) -> float:
    _reset(conn)
    now = datetime.now(UTC)
    started = time.perf_counter()
    with (
        conn.transaction(),
        conn.cursor().copy(
            "COPY platform_events (event_id, event_type, event_category, schema_version, user_id, "
            "session_id, occurred_at, received_at, event_data, metadata) FROM STDIN"
        ) as copy,
    ):
        for e in events:
            copy.write_row(
                (
                    e.event_id,
                    e.event_type,
                    "interaction",
                    1,
                    e.user_id,
                    e.session_id,
                    e.occurred_at,
                    now,
                    Jsonb(e.event_data),
                    Jsonb(e.metadata),
                )
            )
    return len(events) / (time.perf_counter() - started)


def batched(
    conn: psycopg.Connection[tuple[object, ...]], url: str, events: list[Event], parallel: int
) -> float:
    _reset(conn)
    transport = PostgresTransport(url, parallel=parallel)
    started = time.perf_counter()
    for offset in range(0, len(events), 10_000):
        results = transport.send(events[offset : offset + 10_000])
        assert all(r.status == "accepted" for r in results)
    rate = len(events) / (time.perf_counter() - started)
    transport.close()
    return rate


def single_latency(
    conn: psycopg.Connection[tuple[object, ...]], events: list[Event]
) -> tuple[float, float]:
    _reset(conn)
    latencies = []
    for e in events[:3000]:
        started = time.perf_counter()
        conn.execute(
            "SELECT emit_platform_event(%s, %s, %s, %s, %s, %s, %s)",
            (
                e.event_type,
                Jsonb(e.event_data),
                e.user_id,
                e.session_id,
                Jsonb(e.metadata),
                e.occurred_at,
                e.event_id,
            ),
        ).fetchone()
        latencies.append((time.perf_counter() - started) * 1000)
    latencies.sort()
    return latencies[len(latencies) // 2], latencies[int(len(latencies) * 0.99)]


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 50_000
    url = database_url(load_settings())
    events = list(itertools.islice(generate(max(100, n // 25), 14, seed=11), n))
    print(f"{len(events)} generated marketplace events")
    with psycopg.connect(url, autocommit=True) as conn:
        copy_rate = raw_copy(conn, events)
        one = batched(conn, url, events, 1)
        two = batched(conn, url, events, 2)
        copy_again = raw_copy(conn, events)
        p50, p99 = single_latency(conn, events)
    reference = (copy_rate + copy_again) / 2
    print(
        f"raw COPY into platform_events     {reference:>9,.0f} events/s ({copy_rate:,.0f}, {copy_again:,.0f})"
    )
    print(f"client batched path, 1 connection {one:>9,.0f} events/s  {one / reference:.2f}x COPY")
    print(f"client batched path, 2 connections{two:>9,.0f} events/s  {two / reference:.2f}x COPY")
    print(f"emit_platform_event, one call     p50 {p50:.2f} ms  p99 {p99:.2f} ms")


if __name__ == "__main__":
    main()
