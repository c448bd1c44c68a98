"""GDPR erasure and export statements (``jobs/gdpr.py``): the user's span and events in flight,
anonymizing, the quarantine and dead-letter deletes, the audit and the erasure queue."""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Mapping
from typing import Literal

from platform_events.db import Conn
from platform_events.queries import sql
from platform_events.stores import Row

Export = Literal["events", "quarantined_events", "rejected_messages"]
EXPORTS: tuple[Export, ...] = ("events", "quarantined_events", "rejected_messages")  # in order

_EXPORTS: dict[Export, str] = {
    "events": "jobs_export_user_events",
    "quarantined_events": "jobs_export_user_quarantine",
    "rejected_messages": "jobs_export_user_dead_letter",
}


def in_flight(conn: Conn, user_id: str) -> list[object]:
    """Ids of the user's events a stream worker holds right now."""
    return [r["event_id"] for r in conn.execute(sql("jobs_user_in_flight"), {"user_id": user_id})]


def still_in_flight(conn: Conn, ids: list[uuid.UUID]) -> Row | None:
    """How many of ``ids`` are still not acknowledged (``n``)."""
    return conn.execute(sql("jobs_still_in_flight"), {"ids": ids}).fetchone()


def event_span(conn: Conn, user_id: str) -> Row | None:
    """The occurred_at span (``lo``, ``hi``) of the rows erasure changes."""
    return conn.execute(sql("jobs_user_event_span"), {"user_id": user_id}).fetchone()


def anonymize(conn: Conn, user_id: str) -> Row | None:
    """``anonymize_user_events``: how many events it ``changed``."""
    return conn.execute(sql("jobs_anonymize_user"), {"user_id": user_id}).fetchone()


def delete_quarantined(conn: Conn, user_id: str) -> int:
    """Delete the user's quarantined events; how many."""
    return conn.execute(sql("jobs_erase_quarantine"), {"user_id": user_id}).rowcount


def delete_dead_letters(conn: Conn, user_id: str) -> int:
    """Delete the rejected messages carrying the user; how many."""
    return conn.execute(sql("jobs_erase_dead_letter"), {"user_id": user_id}).rowcount


def record_audit(conn: Conn, audit: Mapping[str, object]) -> Row | None:
    """Insert the audit row (its columns by name); answers its ``erasure_id``."""
    return conn.execute(sql("jobs_erasure_audit_insert"), dict(audit)).fetchone()


def audit_rows(conn: Conn, user_key: str) -> list[Row]:
    """The audit rows of one pseudonymised user."""
    return conn.execute(sql("jobs_erasure_audit_lookup"), {"user_key": user_key}).fetchall()


def claim_queued(conn: Conn) -> Row | None:
    """The next due queued erasure, locked for the caller's transaction (None: queue empty)."""
    return conn.execute(sql("jobs_erasure_queue_claim")).fetchone()


def dequeue(conn: Conn, user_id: str) -> None:
    """Remove the user's queued erasure (done)."""
    conn.execute(sql("jobs_erasure_queue_done"), {"user_id": user_id})


def queued_failed(conn: Conn, user_id: str, error: str) -> None:
    """Record a failed attempt on the queued erasure (it backs off)."""
    conn.execute(sql("jobs_erasure_queue_failed"), {"user_id": user_id, "error": error})


def export_rows(conn: Conn, what: Export, user_id: str) -> Iterator[Row]:
    """Every stored row of ``what`` for the user, through a server-side cursor (no memory)."""
    with conn.cursor(name=f"export_{what}") as cursor:
        cursor.execute(sql(_EXPORTS[what]), {"user_id": user_id})
        yield from cursor
