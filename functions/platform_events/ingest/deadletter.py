"""The ingest dead letter (migrations/0041): rejected messages kept for an operator to find.

Rows are built here from the message as sent (pure), written in the same transaction as the
batch's good events (ingest/store.py), listed by ``platform-events rejected`` and counted by
``status`` (jobs/status.py). A message is stored as ASCII JSON text cut to ``MAX_MESSAGE_CHARS`` with
``TRUNCATED_MARKER`` at the end; its identities (userId, anonymousId) are kept beside it so GDPR
erasure and export find it.
"""

from __future__ import annotations

from typing import Any

from platform_events import jsonsafe
from platform_events.db import Conn
from platform_events.stores import ingest as store

MAX_MESSAGE_CHARS = 32_768
TRUNCATED_MARKER = "...[truncated]"
_IDENTITIES = (("message_id", "messageId"), ("user_id", "userId"), ("anonymous_id", "anonymousId"))


def _identity(value: Any) -> str | None:
    if isinstance(value, bool) or not isinstance(value, str | int):
        return None
    text = str(value)
    if not text or jsonsafe.problem(text) is not None:
        return None
    return text[:255]


def bounded(text: str) -> tuple[str, bool]:
    """``text`` cut to the stored bound with the marker, and whether it was cut."""
    if len(text) <= MAX_MESSAGE_CHARS:
        return text, False
    return text[: MAX_MESSAGE_CHARS - len(TRUNCATED_MARKER)] + TRUNCATED_MARKER, True


def row(
    *, source: str, route: str, message: Any, code: str, field: str | None, reason: str
) -> dict[str, Any]:
    """The dead-letter row of one rejected ``message`` (any parsed JSON value)."""
    text = jsonsafe.dumps_escaped(message)
    stored, truncated = bounded(text)
    found = message if isinstance(message, dict) else {}
    return {
        "source": source,
        "route": route,
        "code": code,
        "field": field,
        "reason": jsonsafe.dumps_escaped(reason)[1:-1][:1000],
        **{column: _identity(found.get(key)) for column, key in _IDENTITIES},
        "message": stored,
        "message_bytes": len(text),
        "truncated": truncated,
    }


def body_row(*, source: str, route: str, raw: bytes, code: str, reason: str) -> dict[str, Any]:
    """The dead-letter row of a whole body refused before it held messages (not JSON, ...)."""
    text = raw[: MAX_MESSAGE_CHARS * 2].decode("utf-8", "backslashreplace")
    stored = row(source=source, route=route, message=text, code=code, field="body", reason=reason)
    stored["message_bytes"] = len(raw)
    stored["truncated"] = stored["truncated"] or len(raw) > MAX_MESSAGE_CHARS * 2
    return stored


def write(conn: Conn, rows: list[dict[str, Any]]) -> None:
    """Keep ``rows`` (in the caller's transaction)."""
    if rows:
        store.write_dead_letters(conn, jsonsafe.dumps_escaped(rows))


def listing(conn: Conn, *, reason: str | None = None, limit: int = 50) -> list[dict[str, Any]]:
    """The newest dead letters (of reason code ``reason``, or all), at most ``limit``."""
    return store.dead_letters(conn, reason, limit)
