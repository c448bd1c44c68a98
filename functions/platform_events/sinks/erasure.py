"""GDPR erasure of warehouse rows, as plain functions over JSON text (every sink shares them).

The warehouse mirrors ``anonymize_user_events`` (migrations/0022): the user's own rows lose their
identity (user and session ids, enrichment about the person, metadata) and the payload fields the
catalogue marks personal; any other row where the id appears as a value loses that value. Rows stay
(aggregates and funnels still count them). Each sink selects the candidate rows, runs
:func:`scrub_row` on them, and writes them back through its own upsert.
"""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

from platform_events import catalog

ANONYMIZED_METADATA = '{"anonymized": true}'

# Columns cleared on the user's own rows (besides event_data and metadata).
IDENTITY_COLUMNS = (
    "user_id",
    "session_id",
    "user_role",
    "user_tenure_days",
    "session_event_index",
    "session_first_seen_at",
    "region",
    "city",
)


@lru_cache(maxsize=256)
def personal_keys(event_type: str) -> frozenset[str]:
    """Payload fields any version of ``event_type`` marks personal (removed on erasure)."""
    return catalog.configured().personal_keys(event_type)


def scrub_value(value: Any, user_id: str) -> Any:
    """``value`` with every string equal to ``user_id`` (at any depth) replaced by None."""
    if isinstance(value, str):
        return None if value == user_id else value
    if isinstance(value, dict):
        return {k: scrub_value(v, user_id) for k, v in value.items()}
    if isinstance(value, list):
        return [scrub_value(v, user_id) for v in value]
    return value


def scrub_row(
    event_type: str, event_data: str | None, metadata: str | None, user_id: str, *, own: bool
) -> tuple[str | None, str | None]:
    """The erased (event_data, metadata) JSON texts of one row; ``own``: the user's own event."""
    data = json.loads(event_data) if event_data else {}
    if own and isinstance(data, dict):
        data = {k: v for k, v in data.items() if k not in personal_keys(event_type)}
    data = scrub_value(data, user_id)
    if own:
        meta_text: str | None = ANONYMIZED_METADATA
    else:
        meta = json.loads(metadata) if metadata else None
        meta_text = None if meta is None else json.dumps(scrub_value(meta, user_id))
    return json.dumps(data), meta_text


def mentions(user_id: str) -> str:
    """A LIKE pattern matching JSON text that holds ``user_id`` as a string value (a superset:
    each candidate is checked by :func:`scrub_row`). LIKE wildcards in the id are escaped."""
    as_json = json.dumps(user_id)[1:-1]
    escaped = as_json.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return '%"' + escaped + '"%'
