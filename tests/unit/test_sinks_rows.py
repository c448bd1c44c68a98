"""sinks/rows.py: warehouse rows as NDJSON, JSON columns embedded as JSON."""

from __future__ import annotations

import json

from platform_events.pipeline.batch import to_arrow
from platform_events.sinks import rows
from tests.builders import BATCH_AT, claimed_batch


def test_ndjson_embeds_json_columns_as_json_and_adds_the_load_id() -> None:
    line = next(rows.ndjson_lines(to_arrow(claimed_batch(1), {}), "load-1", BATCH_AT))
    row = json.loads(line)
    assert row["event_data"] == {"method": "password"} and row["load_id"] == "load-1"
    assert row["occurred_at"] == BATCH_AT.isoformat()
