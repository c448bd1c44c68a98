"""Write one ingest request in one transaction: good events, quarantined types, dead letters.

All of a request lands or none of it does (a crash or a lost connection mid-way leaves nothing,
and the SDK's retry is exact by messageId). Every value is checked before it reaches SQL
(jsonsafe, ingest/segment.py); should PostgreSQL still refuse the batch for one message's value,
the request is written again one message per savepoint, so that message alone is rejected
(``unstorable``, with its SQLSTATE) and the rest are stored: a client's value never answers 5xx.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import psycopg

from platform_events.db import Conn
from platform_events.emit import write_json_events
from platform_events.events import EventResult
from platform_events.ingest import deadletter, segment
from platform_events.stores import ingest as store

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Source:
    """Who sent the request: the write key's id (never the key) and the route."""

    key_id: str
    route: str


def _dead(
    source: Source, message: Any, code: str, field: str | None, reason: str
) -> dict[str, Any]:
    return deadletter.row(
        source=source.key_id,
        route=source.route,
        message=message,
        code=code,
        field=field,
        reason=reason,
    )


# Held, not rejected: an unknown type (PE001) or a deactivated one (PE002) is promoted once the
# catalogue has it active (`platform-events quarantine --promote`).
QUARANTINED_CODES = frozenset({"PE001", "PE002"})


def _explained(result: EventResult, mapped: segment.Mapped) -> EventResult:
    """A rejection that says which type the name was mapped to (``Signed In`` -> user.login)."""
    event_type = mapped.event["event_type"]
    if result.status != "rejected" or mapped.source_name == event_type:
        return result
    message = f"{mapped.source_name[:100]!r} maps to {event_type}: {result.error_message}"
    return replace(result, error_message=message)


def _write_all(
    conn: Conn, source: Source, items: Sequence[tuple[Any, segment.Mapped]]
) -> tuple[list[EventResult], list[dict[str, Any]]]:
    """Emit and quarantine ``items``; their results, and the dead letters of the rejected."""
    results = write_json_events(conn, [m.event for _, m in items])
    unknown = [i for i, r in enumerate(results) if r.error_code in QUARANTINED_CODES]
    if unknown:
        held = [
            {
                **items[i][1].event,
                "reason": results[i].error_message,
                "source_name": items[i][1].source_name,
            }
            for i in unknown
        ]
        rows = store.quarantine(conn, json.dumps(held))
        for i, row in zip(unknown, rows, strict=True):
            results[i] = replace(
                results[i],
                status="quarantined" if row["status"] == "quarantined" else "duplicate",
                error_code=None,
                error_field=None,
                error_message=f"quarantined: {results[i].error_message}",
            )
    dead = []
    for i, result in enumerate(results):
        results[i] = result = _explained(result, items[i][1])
        if result.status == "rejected":
            dead.append(
                _dead(
                    source,
                    items[i][0],
                    result.error_code or "rejected",
                    result.error_field,
                    result.error_message or "",
                )
            )
    return results, dead


def _isolated(
    conn: Conn, source: Source, items: Sequence[tuple[Any, segment.Mapped]]
) -> tuple[list[EventResult], list[dict[str, Any]]]:
    """:func:`_write_all` one message per savepoint: a message the store refuses is rejected."""
    results: list[EventResult] = []
    dead: list[dict[str, Any]] = []
    for ordinal, item in enumerate(items, start=1):
        try:
            with conn.transaction():
                (result,), rows = _write_all(conn, source, [item])
        except psycopg.OperationalError:
            raise
        except psycopg.Error as exc:
            reason = f"the event store refused this message (SQLSTATE {exc.sqlstate})"
            result = EventResult(
                ordinal=ordinal,
                event_id=None,
                status="rejected",
                error_code="unstorable",
                error_field="message",
                error_message=reason,
            )
            rows = [_dead(source, item[0], "unstorable", "message", reason)]
        results.append(replace(result, ordinal=ordinal))
        dead.extend(rows)
    return results, dead


def write(
    conn: Conn,
    source: Source,
    items: Sequence[tuple[Any, segment.Mapped]],
    refused: Sequence[tuple[Any, dict[str, str]]],
) -> list[EventResult]:
    """Store ``items`` (message as sent, its mapping) and dead-letter them when rejected, with
    ``refused`` (message, error) that never mapped, all in one transaction; results of ``items``.

    psycopg.OperationalError (the store is unreachable) propagates, with nothing written.
    """
    early = [_dead(source, m, e["code"], e.get("field"), e["message"]) for m, e in refused]
    try:
        with conn.transaction():
            results, dead = _write_all(conn, source, items) if items else ([], [])
            deadletter.write(conn, early + dead)
        return results
    except psycopg.OperationalError:
        raise
    except psycopg.Error as exc:
        # SQLSTATE only: the error's text and context would carry the message's values.
        log.warning(
            "ingest batch refused by the store; isolating its messages",
            extra={"fields": {"sqlstate": exc.sqlstate, "messages": len(items)}},
        )
    with conn.transaction():
        results, dead = _isolated(conn, source, items)
        deadletter.write(conn, early + dead)
    return results
