"""Dead-letter rows (pure): bounded copies, identities only when storable, no raw NUL."""

from __future__ import annotations

import json

from platform_events.ingest import deadletter


def _row(message: object) -> dict[str, object]:
    return deadletter.row(
        source="0123456789abcdef",
        route="batch",
        message=message,
        code="invalid_string",
        field="properties.note",
        reason="properties.note holds U+0000",
    )


def test_a_message_is_kept_as_ascii_json_with_its_identities() -> None:
    message = {
        "messageId": "m-1",
        "userId": 42,
        "anonymousId": "a\x00",
        "properties": {"n": "\x00"},
    }
    row = _row(message)
    assert row["message_id"] == "m-1" and row["user_id"] == "42"
    assert row["anonymous_id"] is None  # not storable as text: found through the message only
    assert "\x00" not in str(row["message"]) and json.loads(str(row["message"])) == message
    assert row["truncated"] is False and row["message_bytes"] == len(str(row["message"]))


def test_a_large_message_is_cut_to_the_bound_with_a_marker() -> None:
    row = _row({"padding": "x" * 100_000})
    text = str(row["message"])
    assert len(text) == deadletter.MAX_MESSAGE_CHARS and text.endswith(deadletter.TRUNCATED_MARKER)
    assert row["truncated"] is True and int(str(row["message_bytes"])) > 100_000


def test_a_refused_body_is_kept_as_text_whatever_its_bytes() -> None:
    row = deadletter.body_row(
        source="s", route="track", raw=b'{"a": "\x00\xff' + b"y" * 200_000, code="invalid_json",
        reason="not JSON",
    )  # fmt: skip
    assert row["field"] == "body" and row["truncated"] is True
    assert row["message_bytes"] == 200_009
    assert "\x00" not in str(row["message"])


def test_non_object_messages_have_no_identities() -> None:
    row = _row(["not", "an", "object"])
    assert (row["message_id"], row["user_id"], row["anonymous_id"]) == (None, None, None)
