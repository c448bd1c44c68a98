"""The raw-Postgres baselines: what the same server does with no pipeline in the way.

* ``raw_copy``: binary ``COPY`` of the events into ``platform_events`` and their ledger rows into
  ``platform_event_delivery`` (every index in place, no validation): the ceiling of a write path.
* ``raw_insert_latencies``: one event and its ledger row by plain INSERTs, one call at a time.
* ``naive_claim_loop``: the seed's queue (state on the event row, its indexes, no partial index)
  drained by a ``FOR UPDATE SKIP LOCKED`` claim and an acknowledging UPDATE per batch.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import UTC, datetime

from psycopg.types.json import Jsonb

from bench import stats
from bench.sql import sql
from platform_events.catalog import builtin
from platform_events.client import Event
from platform_events.db import Conn

CATALOG = builtin().current  # looked up per event in the raw loops: once, here

EVENT_TYPES = [
    "uuid",
    "text",
    "text",
    "int4",
    "text",
    "text",
    "timestamptz",
    "timestamptz",
    "jsonb",
    "jsonb",
    "text",
]
LEDGER_TYPES = ["uuid", "timestamptz", "text"]


def reset(conn: Conn) -> None:
    """Empty event tables, vacuumed: every write benchmark starts from the same state."""
    conn.execute(sql("reset_event_tables"))
    conn.execute("VACUUM ANALYZE platform_events")
    conn.execute("VACUUM ANALYZE platform_event_delivery")


def raw_copy(conn: Conn, events: Sequence[Event], *, with_ledger: bool = True) -> float:
    """Events/s of a binary COPY of ``events`` (and their ledger rows), in one transaction."""
    reset(conn)
    received = datetime.now(UTC)
    started = time.perf_counter()
    with conn.transaction():
        cursor = conn.cursor()
        with cursor.copy(sql("copy_events")) as copy:
            copy.set_types(EVENT_TYPES)
            for e in events:
                copy.write_row(
                    (
                        e.event_id,
                        e.event_type,
                        CATALOG[e.event_type].category,
                        1,
                        e.user_id,
                        e.session_id,
                        e.occurred_at,
                        received,
                        Jsonb(e.event_data),
                        Jsonb(e.metadata),
                        # the class: the catalogue's retention as PostgreSQL prints it
                        CATALOG[e.event_type].retention,
                    )
                )
        if with_ledger:
            with cursor.copy(sql("copy_ledger")) as copy:
                copy.set_types(LEDGER_TYPES)
                for e in events:
                    copy.write_row((e.event_id, received, e.event_type))
    return stats.rate(len(events), time.perf_counter() - started)


def raw_insert_latencies(conn: Conn, events: Sequence[Event]) -> list[float]:
    """Seconds per single-event INSERT (event + ledger row), autocommit, one call at a time."""
    latencies = []
    for e in events:
        params = {
            "event_id": e.event_id,
            "event_type": e.event_type,
            "category": CATALOG[e.event_type].category,
            "user_id": e.user_id,
            "session_id": e.session_id,
            "occurred_at": e.occurred_at,
            "event_data": Jsonb(e.event_data),
            "metadata": Jsonb(e.metadata),
            "retention_class": CATALOG[e.event_type].retention,
        }
        started = time.perf_counter()
        conn.execute(sql("raw_insert_event"), params)
        latencies.append(time.perf_counter() - started)
    return latencies


def naive_claim_loop(conn: Conn, batch_size: int) -> tuple[int, list[tuple[float, int]]]:
    """Drain the seed-shaped queue filled from the stored events; (events, per-batch marks).

    The queue is filled from ``platform_events`` (whatever the write benchmarks left there), so
    it holds the same rows the pipeline holds.
    """
    conn.execute(sql("naive_queue_setup"))
    conn.execute(sql("naive_queue_fill"))
    conn.execute("VACUUM ANALYZE bench_naive_queue")
    marks: list[tuple[float, int]] = []
    drained = 0
    started = time.perf_counter()
    while True:
        with conn.transaction():
            rows = conn.execute(sql("naive_claim"), {"batch": batch_size}).fetchall()
        if not rows:
            break
        with conn.transaction():
            conn.execute(sql("naive_ack"), {"ids": [r["event_id"] for r in rows]})
        drained += len(rows)
        marks.append((time.perf_counter() - started, drained))
    conn.execute(sql("naive_queue_drop"))
    return drained, marks
