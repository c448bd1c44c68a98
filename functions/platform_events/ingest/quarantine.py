"""The ingest quarantine: what ``ingest_events`` held back, and its promotion once a schema exists.

Promotion runs ``promote_quarantined_events`` (migrations/0039) in bounded chunks, one transaction
each, until nothing promotable is left: the accepted and duplicate events leave the quarantine,
the still-invalid stay with the validation error as their reason.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

from platform_events.db import Conn
from platform_events.stores import ingest as store

CHUNK = 5_000
STATUSES = ("accepted", "duplicate", "rejected")


def summary(conn: Conn, event_type: str | None = None) -> list[dict[str, Any]]:
    """Held events grouped by type and reason, most numerous first."""
    return store.quarantine_summary(conn, event_type)


def promote(
    conn: Conn,
    event_type: str | None = None,
    *,
    chunk: int = CHUNK,
    on_chunk: Callable[[int], None] | None = None,
) -> dict[str, dict[str, int]]:
    """Promote every promotable event (of ``event_type``, or all); totals per type and status.

    Walks the quarantine oldest first in chunks of ``chunk``, one transaction each (no lock held
    for long; an interruption keeps what was done), past the events that stay rejected.
    """
    totals: dict[str, Counter[str]] = {}
    after: Any = None
    after_id: Any = None
    while True:
        with conn.transaction():
            rows = store.promote_chunk(conn, event_type, chunk, (after, after_id))
        if not rows:
            break
        for row in rows:
            counts = totals.setdefault(row["event_type"], Counter())
            for status in STATUSES:
                counts[status] += row[status]
        if on_chunk is not None:
            on_chunk(sum(row[status] for row in rows for status in STATUSES))
        after, after_id = rows[0]["last_received_at"], rows[0]["last_event_id"]
    return {t: {s: c[s] for s in STATUSES} for t, c in sorted(totals.items())}
