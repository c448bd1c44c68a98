"""Ingest's statements beyond the emit path (``emit.py``): the quarantine (held, listed,
promoted) and the dead letter (written, listed)."""

from __future__ import annotations

from typing import Any

from platform_events.db import Conn
from platform_events.queries import sql
from platform_events.stores import Row


def quarantine(conn: Conn, held_json: str) -> list[Row]:
    """Hold the events of ``held_json`` (a JSON array, each with its reason) in the quarantine;
    per event, in order, its ``status`` (quarantined, or duplicate)."""
    return conn.execute(sql("ingest_quarantine_batch"), (held_json,)).fetchall()


def quarantine_summary(conn: Conn, event_type: str | None) -> list[Row]:
    """Held events grouped by type and reason, most numerous first."""
    return conn.execute(sql("quarantine_summary"), {"event_type": event_type}).fetchall()


def promote_chunk(
    conn: Conn, event_type: str | None, limit: int, after: tuple[Any, Any]
) -> list[dict[str, Any]]:
    """``promote_quarantined_events`` over the next ``limit`` held events after ``(received_at,
    event_id)``: per type, how many were accepted, duplicate and rejected, and where it ended."""
    return conn.execute(
        sql("quarantine_promote"),
        {"event_type": event_type, "limit": limit, "after": after[0], "after_id": after[1]},
    ).fetchall()


def write_dead_letters(conn: Conn, rows_json: str) -> None:
    """Keep the dead-letter rows of ``rows_json`` (a JSON array), in the caller's transaction."""
    conn.execute(sql("ingest_dead_letter"), (rows_json,))


def dead_letters(conn: Conn, reason: str | None, limit: int) -> list[Row]:
    """The newest dead letters (of reason code ``reason``, or all), at most ``limit``."""
    return [
        dict(r) for r in conn.execute(sql("dead_letter_list"), {"reason": reason, "limit": limit})
    ]
