"""Reprocessing statements (``jobs/reprocess.py``): failed events and a range of events put back
to pending, in bounded batches and keyset pages."""

from __future__ import annotations

from datetime import datetime

from platform_events.db import Conn
from platform_events.queries import sql
from platform_events.stores import Row


def known_event_types(conn: Conn, types: list[str]) -> set[object]:
    """Which of ``types`` the catalogue (``event_schemas``) knows."""
    return {r["event_type"] for r in conn.execute(sql("jobs_known_event_types"), {"types": types})}


def requeue_failed(conn: Conn, types: list[str] | None, batch_size: int) -> int:
    """One batch of failed events (of ``types``, or all) back to pending; how many."""
    return conn.execute(
        sql("jobs_requeue_failed"), {"types": types, "batch_size": batch_size}
    ).rowcount


def hold_off_retirement(conn: Conn) -> None:
    """Take retention's shared lock for this transaction: no partition is detached meanwhile."""
    conn.execute(sql("jobs_retirement_shared_lock"))


def requeue_range_page(
    conn: Conn,
    lo: datetime,
    hi: datetime,
    types: list[str] | None,
    after: tuple[object, object],
    batch_size: int,
) -> Row | None:
    """One keyset page (after ``(occurred_at, event_id)``) of the events that occurred in
    [lo, hi) back to pending: how many, the delivered ones' ids and span, and the page's end."""
    return conn.execute(
        sql("jobs_requeue_range"),
        {
            "from": lo,
            "to": hi,
            "types": types,
            "after_at": after[0],
            "after_id": after[1],
            "batch_size": batch_size,
        },
    ).fetchone()
