"""Our queue alone, timed: the batched emit of a backlog, and its claim + acknowledge drain.

No warehouse is written and no enrichment runs: these are the costs the event store itself adds
to a delivery, which is what a peer queue (bench/peer_pgmq.py) and a store holding months of
history (bench/claim_history.py) are compared on.

* ``emit``: the client's batched path (``write_events``: one ``emit_platform_events_columns``
  statement per call, full validation against the catalogue and the idempotency ledger), one
  connection, ``CALL_SIZE`` events a call.
* ``claim_and_settle``: ``claim_delivery_batch`` then ``settle_delivery_batch`` acknowledging every
  member, as the stream does for a batch its sink took whole (ids as text, passed back as one
  array literal, as pipeline/store.py does), until a claim comes back empty.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from bench import stats
from bench.sql import sql
from platform_events.client import Event, write_events
from platform_events.db import Conn
from platform_events.pipeline.store import array_literal

CALL_SIZE = 1_000  # events per emit call and per claimed batch (STREAM_BATCH_SIZE's default)
# The configuration's defaults (platform_events.config): the lease a worker holds a batch under
# and the retry policy a settlement carries.
LEASE = timedelta(seconds=300)
MAX_RETRIES = 3
BACKOFF = timedelta(seconds=30)
HOLD_MAX = timedelta(seconds=300)
HOLDER = "bench-drain"


def emit(conn: Conn, events: Sequence[Event]) -> float:
    """Seconds to emit ``events``, ``CALL_SIZE`` per call; raises if any is not accepted."""
    started = time.perf_counter()
    for offset in range(0, len(events), CALL_SIZE):
        results = write_events(conn, events[offset : offset + CALL_SIZE])
        refused = [r for r in results if r.status != "accepted"]
        if refused:
            raise RuntimeError(f"the batched emit refused {len(refused)} events: {refused[0]}")
    return time.perf_counter() - started


@dataclass(frozen=True)
class Drained:
    events: int
    seconds: float
    marks: list[tuple[float, int]]  # (seconds since start, events so far) after each batch

    @property
    def rate(self) -> float:
        return stats.rate(self.events, self.seconds)

    def details(self) -> dict[str, float]:
        """The rates over the first and the last tenth of the drain: flat, or slowing down."""
        start, end = stats.window_rates(self.marks)
        return {"start_rate": start, "end_rate": end}


def claim_and_settle(conn: Conn, batch_size: int = CALL_SIZE) -> Drained:
    """Drain every due event by claim + acknowledge, each batch timed."""
    drained = 0
    marks: list[tuple[float, int]] = []
    started = time.perf_counter()
    while True:
        rows = conn.execute(
            sql("queue_claim"),
            {
                "batch_size": batch_size,
                "lease": LEASE,
                "max_retries": MAX_RETRIES,
                "holder": HOLDER,
            },
        ).fetchall()
        if not rows:
            break
        conn.execute(
            sql("queue_settle"),
            {
                "batch_id": rows[0]["batch_id"],
                "lease_token": rows[0]["lease_token"],
                "delivered": array_literal([str(r["event_id"]) for r in rows]),
                "max_retries": MAX_RETRIES,
                "backoff": BACKOFF,
                "hold_base": BACKOFF,
                "hold_max": HOLD_MAX,
            },
        ).fetchone()
        drained += len(rows)
        marks.append((time.perf_counter() - started, drained))
    return Drained(drained, time.perf_counter() - started, marks)


def pending(conn: Conn) -> int:
    row = conn.execute(sql("pending_count")).fetchone()
    return int(row["n"]) if row else 0  # type: ignore[call-overload]
