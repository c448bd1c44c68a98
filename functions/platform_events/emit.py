"""Writing a batch of events into the event store: the one write path the client's direct mode
and ``ingest_events`` share (``emit_platform_events_columns`` and ``emit_platform_events``).

Both answer one :class:`EventResult` per event, in order, and run in the connection's current
transaction mode.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Sequence
from typing import Any

from psycopg.rows import tuple_row
from psycopg.types.json import Jsonb

from platform_events.db import Conn
from platform_events.events import Event, EventResult
from platform_events.queries import sql

# The payload columns travel as one JSON array each; str() for what JSON has no type for, as the
# JSON-array path always did.
_dumps = functools.partial(json.dumps, default=str)


def column_params(events: Sequence[Event]) -> tuple[object, ...]:
    """The arguments of ``emit_platform_events_columns`` (migrations/0033, 0060) for ``events``."""
    return (
        [e.event_id for e in events],
        [e.event_type for e in events],
        [e.user_id for e in events],
        [e.session_id for e in events],
        [e.occurred_at for e in events],
        Jsonb([e.event_data for e in events], dumps=_dumps),
        Jsonb([e.metadata for e in events], dumps=_dumps),
    )


def write_events(conn: Conn, events: Sequence[Event]) -> list[EventResult]:
    """Write ``events`` in one statement and return one result each, in order.

    Same validation and idempotency as ``emit_platform_event``: an invalid event is answered
    ``rejected`` with its error and never stops the others; an ``event_id`` already stored (or
    repeated in the batch) is answered ``duplicate``. The events travel as typed binary arrays to
    ``emit_platform_events_columns`` (migrations/0033, 0060), which answers exactly as the JSON-array
    ``emit_platform_events`` does at a fraction of the server time. Runs in the connection's
    current transaction mode.
    """
    return write_numbered(conn, events, 0)


def write_numbered(conn: Conn, events: Sequence[Event], offset: int) -> list[EventResult]:
    """:func:`write_events` numbering the results from ``offset + 1`` (one chunk of a batch)."""
    if not events:
        return []
    with conn.cursor(row_factory=tuple_row) as cur:
        rows = cur.execute(sql("client_emit_columns"), column_params(events)).fetchall()
    return [
        EventResult(
            ordinal=ordinal + offset,
            event_id=event_id,
            status=status,
            error_code=code,
            error_field=field,
            error_message=message,
        )
        for ordinal, event_id, status, code, field, message in rows
    ]


def write_json_events(conn: Conn, events: Sequence[dict[str, Any]]) -> list[EventResult]:
    """Write events given in the JSON shape (the ingest function's path) with ``emit_platform_events``.

    For input that may not be typed yet (event ids and timestamps as text): a malformed one is
    answered ``rejected`` (PE005) instead of failing the batch.
    """
    if not events:
        return []
    payload = json.dumps(list(events), default=str)
    rows = conn.execute(sql("client_emit_batch"), (payload,)).fetchall()
    return [_result(row) for row in rows]


def _result(row: dict[str, Any]) -> EventResult:
    return EventResult(
        ordinal=int(row["ordinal"]),
        event_id=row["event_id"],
        status=row["status"],
        error_code=row["error_code"],
        error_field=row["error_field"],
        error_message=row["error_message"],
    )
