"""The write paths of the pipeline: the client's batched path and one ``emit_platform_event``.

Both validate every event against the catalogue and keep the idempotency ledger, which the raw
baselines do not; the batched path is ``PostgresTransport`` (what ``Analytics`` uses in direct
mode), fed 10,000 events per ``send``.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from psycopg.types.json import Jsonb

from bench import stats
from bench.baseline import reset
from bench.sql import sql
from platform_events.client import Event, PostgresTransport
from platform_events.db import Conn

SEND = 10_000  # events per send(): what a busy client's queue hands the transport


def batched(conn: Conn, url: str, events: Sequence[Event], parallel: int) -> float:
    """Events/s through ``PostgresTransport.send`` over ``parallel`` connections."""
    reset(conn)
    transport = PostgresTransport(url, parallel=parallel)
    try:
        started = time.perf_counter()
        for offset in range(0, len(events), SEND):
            results = transport.send(events[offset : offset + SEND])
            refused = [r for r in results if r.status != "accepted"]
            if refused:
                raise RuntimeError(f"the batched path refused {len(refused)} events: {refused[0]}")
        return stats.rate(len(events), time.perf_counter() - started)
    finally:
        transport.close()


def single_latencies(conn: Conn, events: Sequence[Event]) -> list[float]:
    """Seconds per ``emit_platform_event`` call, one at a time, autocommit."""
    latencies = []
    for e in events:
        params = {
            "event_type": e.event_type,
            "event_data": Jsonb(e.event_data),
            "user_id": e.user_id,
            "session_id": e.session_id,
            "metadata": Jsonb(e.metadata),
            "occurred_at": e.occurred_at,
            "event_id": e.event_id,
        }
        started = time.perf_counter()
        conn.execute(sql("emit_one"), params).fetchone()
        latencies.append(time.perf_counter() - started)
    return latencies
