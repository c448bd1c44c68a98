"""Measures the client's batched write path against a raw COPY of the same rows, in one run.

Each number on freshly truncated tables with every index of the schema in place, the same
generated marketplace events (about 500 bytes of JSON each):
  * raw COPY into platform_events only (no validation, no ledger): the DESIGN target's baseline,
    "a raw COPY of the same rows into the same table";
  * raw COPY into both tables an accepted event lands in (platform_events and its
    platform_event_delivery ledger row): the same writes the pipeline makes, without validation;
  * the client's batched path, ``PostgresTransport(url, parallel=P).send(events)``
    (``emit_platform_events_columns``, migrations/0033), on 1 and 2 connections: full validation
    and idempotency;
  * for comparison, the JSON-array path it replaced (``emit_platform_events(jsonb)``, 0030);
  * one ``emit_platform_event`` call at a time: p50 and p99 latency.
The COPY baselines run first and last and are averaged, so drift during the run shows.

Run: .venv/bin/python bench/client_emit.py [N]   (uses $DATABASE_URL or the embedded server;
it TRUNCATES platform_events: point it at a scratch database)
"""

from __future__ import annotations

import itertools
import os
import sys
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import psycopg
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from platform_events.client import Event, PostgresTransport
from platform_events.client.transport import CHUNK_SIZE
from platform_events.config import load_settings
from platform_events.emit import write_json_events
from platform_events.local import database_url
from platform_events.traffic import generate

Conn = psycopg.Connection[tuple[object, ...]]
EVENT_COLUMNS = (
    "event_id, event_type, event_category, schema_version, user_id, session_id, occurred_at, "
    "received_at, event_data, metadata, retention_class"
)
# Events handed to PostgresTransport.send per call, as `platform-events generate` does.
SEND_BATCH = 10_000


def _reset(conn: Conn) -> None:
    conn.execute("TRUNCATE platform_events, platform_event_delivery")
    conn.execute("VACUUM ANALYZE platform_events")
    conn.execute("VACUUM ANALYZE platform_event_delivery")


def raw_copy(conn: Conn, events: list[Event], *, with_ledger: bool) -> float:
    """Events/s of a plain COPY of ``events`` (and of their ledger rows), one transaction."""
    _reset(conn)
    now = datetime.now(UTC)
    started = time.perf_counter()
    with conn.transaction():
        with conn.cursor().copy(f"COPY platform_events ({EVENT_COLUMNS}) FROM STDIN") as copy:
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
                        "1 year",  # the class of "interaction", as PostgreSQL prints it
                    )
                )
        if with_ledger:
            with conn.cursor().copy(
                "COPY platform_event_delivery (event_id, received_at, event_type) FROM STDIN"
            ) as copy:
                for e in events:
                    copy.write_row((e.event_id, now, e.event_type))
    return len(events) / (time.perf_counter() - started)


def batched(conn: Conn, url: str, events: list[Event], parallel: int) -> float:
    """Events/s of the client's batched path: PostgresTransport.send, SEND_BATCH per call."""
    _reset(conn)
    transport = PostgresTransport(url, parallel=parallel)
    try:
        started = time.perf_counter()
        for offset in range(0, len(events), SEND_BATCH):
            results = transport.send(events[offset : offset + SEND_BATCH])
            assert all(r.status == "accepted" for r in results)
        return len(events) / (time.perf_counter() - started)
    finally:
        transport.close()


def json_path(conn: Conn, url: str, events: list[Event], parallel: int) -> float:
    """Events/s of the JSON-array emit_platform_events (0030) the batched path used before 0033."""
    _reset(conn)
    chunks = [events[i : i + CHUNK_SIZE] for i in range(0, len(events), CHUNK_SIZE)]
    connections = [
        psycopg.connect(url, autocommit=True, row_factory=dict_row) for _ in range(parallel)
    ]

    def write(index: int) -> Callable[[Sequence[Event]], None]:
        def run(chunk: Sequence[Event]) -> None:
            results = write_json_events(connections[index], [e.as_json() for e in chunk])
            assert all(r.status == "accepted" for r in results)

        return run

    try:
        started = time.perf_counter()
        with ThreadPoolExecutor(parallel) as pool:
            lanes = [chunks[i::parallel] for i in range(parallel)]
            list(pool.map(lambda i: [write(i)(c) for c in lanes[i]], range(parallel)))
        return len(events) / (time.perf_counter() - started)
    finally:
        for c in connections:
            c.close()


def single_latency(conn: Conn, events: list[Event]) -> tuple[float, float]:
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
    print(f"{len(events)} generated marketplace events, load average {os.getloadavg()[0]:.2f}")
    with psycopg.connect(url, autocommit=True) as conn:
        copy_first = raw_copy(conn, events, with_ledger=False)
        both_first = raw_copy(conn, events, with_ledger=True)
        one = batched(conn, url, events, 1)
        two = batched(conn, url, events, 2)
        json_one = json_path(conn, url, events, 1)
        json_two = json_path(conn, url, events, 2)
        both_last = raw_copy(conn, events, with_ledger=True)
        copy_last = raw_copy(conn, events, with_ledger=False)
        p50, p99 = single_latency(conn, events)
    copy_rate = (copy_first + copy_last) / 2
    both_rate = (both_first + both_last) / 2
    print(
        f"raw COPY into platform_events        {copy_rate:>9,.0f} events/s "
        f"({copy_first:,.0f} first, {copy_last:,.0f} last)"
    )
    print(
        f"raw COPY into events + ledger        {both_rate:>9,.0f} events/s "
        f"({both_first:,.0f} first, {both_last:,.0f} last)"
    )
    for label, rate in (
        ("client batched path, 1 connection ", one),
        ("client batched path, 2 connections", two),
        ("JSON-array path (0030), 1 connection", json_one),
        ("JSON-array path (0030), 2 connections", json_two),
    ):
        print(
            f"{label:<37}{rate:>9,.0f} events/s  {rate / copy_rate:.2f}x COPY events, "
            f"{rate / both_rate:.2f}x COPY events + ledger"
        )
    print(f"emit_platform_event, one call        p50 {p50:.2f} ms  p99 {p99:.2f} ms")
    print(f"load average after                   {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
