"""sinks/schema.py: every sink column comes from the schema file."""

from __future__ import annotations

from platform_events.sinks import schema


def test_every_sink_column_comes_from_the_schema_file() -> None:
    names = schema.column_names()
    assert names[0] == "event_id" and names[-2:] == ("load_id", "loaded_at")
    assert "session_event_index" in names and "country" in names
