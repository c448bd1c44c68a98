"""platform_events.limits: the database's limits, read from limits.json, applied before sending."""

from __future__ import annotations

import pytest

from platform_events import catalog, limits
from platform_events.errors import InvalidEvent
from platform_events.events import build_event


def test_the_limits_are_the_ones_the_file_holds() -> None:
    assert limits.as_json() == {
        "batch_events": limits.BATCH_EVENTS,
        "dedupe_window_days": limits.DEDUPE_WINDOW_DAYS,
        "event_data_bytes": limits.EVENT_DATA_BYTES,
        "future_seconds": limits.FUTURE_SECONDS,
        "id_chars": limits.ID_CHARS,
        "metadata_bytes": limits.METADATA_BYTES,
    }
    assert limits.METADATA_BYTES < limits.EVENT_DATA_BYTES
    assert limits.DEDUPE_WINDOW_DAYS >= 7  # RudderStack's window; Segment promises 24 h


def test_json_bytes_counts_as_jsonb_text_does() -> None:
    # jsonb's text of {"a": "é", "b": [1, 2]} is 24 bytes: ", " and ": " separators, UTF-8.
    assert catalog.json_bytes({"a": "é", "b": [1, 2]}) == len('{"a": "é", "b": [1, 2]}'.encode())


def test_an_event_over_the_payload_limit_is_refused_where_it_is_built() -> None:
    extra = "x" * limits.EVENT_DATA_BYTES  # an undeclared key: only the size limit applies
    with pytest.raises(InvalidEvent) as caught:
        build_event("page.viewed", {"path": "/", "extra": extra})
    assert caught.value.field == "event_data"
    assert str(limits.EVENT_DATA_BYTES) in str(caught.value)


@pytest.mark.parametrize("name", ["user_id", "session_id"])
def test_an_id_over_the_limit_is_refused_where_it_is_built(name: str) -> None:
    ids = {name: "u" * (limits.ID_CHARS + 1)}
    with pytest.raises(InvalidEvent) as caught:
        build_event("page.viewed", {"path": "/"}, **ids)  # type: ignore[arg-type]
    assert caught.value.field == name
    build_event("page.viewed", {"path": "/"}, **{name: "u" * limits.ID_CHARS})  # type: ignore[arg-type]


def test_metadata_over_the_limit_is_refused_where_it_is_built() -> None:
    with pytest.raises(InvalidEvent) as caught:
        build_event("page.viewed", {"path": "/"}, metadata={"k": "v" * limits.METADATA_BYTES})
    assert caught.value.field == "metadata"
