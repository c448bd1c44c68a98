"""The limits every emit path enforces, as the database defines them.

``platform_events_limits()`` (migrations/0060) is their one definition; ``limits.json`` beside
this module is its copy for Python, written by ``make schema`` (tests/schema_file.py) and checked
against the database by tests/integration/test_validation_once.py. The client checks them before
sending, so an oversized event is refused where it is built, with the same limit the store
applies.
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

_RAW: dict[str, int] = json.loads(
    resources.files("platform_events").joinpath("limits.json").read_text(encoding="utf-8")
)

EVENT_DATA_BYTES: int = _RAW["event_data_bytes"]
METADATA_BYTES: int = _RAW["metadata_bytes"]
ID_CHARS: int = _RAW["id_chars"]
BATCH_EVENTS: int = _RAW["batch_events"]
FUTURE_SECONDS: int = _RAW["future_seconds"]
# How long an event_id is refused as a duplicate (migration 0062's ledger ring).
DEDUPE_WINDOW_DAYS: int = _RAW["dedupe_window_days"]


def as_json() -> dict[str, Any]:
    """The limits as ``platform_events_limits()`` answers them."""
    return dict(_RAW)
