"""ingest/segment.py: the Segment mapping of ingest_events, without I/O."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from platform_events.errors import InvalidEvent
from platform_events.ingest import segment

SCOPE = segment.scope_of("wk_1")


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Project Created", "project.created"),
        ("project.created", "project.created"),
        ("MFA Enabled", "mfa.enabled"),
        ("Saved Search Deleted", "saved_search.deleted"),
        ("  payment   completed ", "payment.completed"),
        ("Signed In", "user.login"),
        ("Signed Out", "user.logout"),
        ("Products Searched", "search.performed"),
        ("User-Login", "user.login"),
    ],
)
def test_event_names_normalise_to_object_dot_action(name: str, expected: str) -> None:
    assert segment.event_type_for(name) == expected


@pytest.mark.parametrize("name", ["Login", "", "42 Created", "Created 42"])
def test_names_without_an_object_and_action_are_refused(name: str) -> None:
    with pytest.raises(InvalidEvent) as caught:
        segment.event_type_for(name)
    assert caught.value.field == "event"


def test_every_message_id_maps_deterministically_per_scope() -> None:
    same = str(uuid.uuid4())
    first = segment.event_id_for({"messageId": same}, SCOPE)
    assert first == segment.event_id_for({"messageId": same.upper()}, SCOPE)  # canonical form
    assert first != segment.event_id_for({"messageId": same}, segment.scope_of("wk_2"))
    a = segment.event_id_for({"messageId": "ajs-1"}, SCOPE)
    assert a == segment.event_id_for({"messageId": "ajs-1"}, SCOPE)
    assert a != segment.event_id_for({"messageId": "ajs-1"}, segment.scope_of("wk_2"))
    content = {"event": "x", "properties": {"b": 1, "a": 2}}
    reordered = {"properties": {"a": 2, "b": 1}, "event": "x"}
    assert segment.event_id_for(content, SCOPE) == segment.event_id_for(reordered, SCOPE)


def test_a_track_message_maps_to_an_event_with_context_in_metadata() -> None:
    mapped = segment.map_message(
        {
            "type": "track",
            "event": "Payment Completed",
            "userId": 42,
            "anonymousId": "anon",
            "properties": {"payment_id": "p", "amount": 3, "currency": "EUR"},
            "timestamp": "2024-05-01T10:00:00Z",
            "messageId": "m-1",
            "context": {
                "userAgent": "UA",
                "locale": "de-DE",
                "library": {"name": "analytics.js", "version": "5", "extra": "x"},
                "sessionId": "s-9",
                "metadata": {"tenant": "t1"},
            },
        },
        scope=SCOPE,
        network={"geo": {"country": "DE"}},
    )
    event = mapped.event
    assert event["event_type"] == "payment.completed" and event["user_id"] == "42"
    assert event["session_id"] == "s-9"
    assert event["occurred_at"] == "2024-05-01T10:00:00+00:00"
    assert event["metadata"] == {
        "tenant": "t1",
        "source": "segment",
        "write_key_scope": SCOPE,
        "message_id": "m-1",
        "library": {"name": "analytics.js", "version": "5"},
        "user_agent": "UA",
        "locale": "de-DE",
        "anonymous_id": "anon",
        "geo": {"country": "DE"},
    }
    assert mapped.source_name == "Payment Completed"


def test_properties_event_type_overrides_the_name_and_leaves_the_payload() -> None:
    mapped = segment.map_message(
        {"event": "Anything", "userId": "u", "properties": {"event_type": "user.logout", "x": 1}},
        scope=SCOPE,
        default_type="track",
    )
    assert mapped.event["event_type"] == "user.logout" and mapped.event["event_data"] == {"x": 1}


def test_page_reads_properties_then_context_page() -> None:
    mapped = segment.map_message(
        {
            "type": "page",
            "name": "Docs",
            "anonymousId": "a",
            "properties": {"title": "Docs"},
            "context": {"page": {"path": "/docs", "url": "https://x/docs?e=me@x.com"}},
        },
        scope=SCOPE,
    )
    assert mapped.event["event_type"] == "page.viewed"
    assert mapped.event["event_data"] == {
        "path": "/docs",
        "url": "https://x/docs?e=me@x.com",
        "title": "Docs",
        "name": "Docs",
    }


@pytest.mark.parametrize(
    ("message", "field", "code"),
    [
        ({"type": "alias", "userId": "u"}, "type", "unsupported_type"),
        ({"type": "track", "event": "A B"}, "userId", "missing_field"),
        ({"type": "track", "userId": "u"}, "event", "missing_field"),
        (
            {"type": "track", "event": "A B", "userId": "u", "properties": []},
            "properties",
            "invalid_type",
        ),
        (
            {"type": "track", "event": "A B", "userId": "u", "timestamp": "yesterday"},
            "timestamp",
            "invalid_timestamp",
        ),
        (
            {"type": "track", "event": "A B", "userId": "u", "properties": {"p": "x" * 40_000}},
            "message",
            "too_large",
        ),
    ],
)
def test_unmappable_messages_name_the_field(
    message: dict[str, object], field: str, code: str
) -> None:
    with pytest.raises(InvalidEvent) as caught:
        segment.map_message(message, scope=SCOPE)
    assert (caught.value.field, caught.value.code) == (field, code)


def test_a_message_without_timestamp_takes_the_receive_time() -> None:
    received = datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)
    mapped = segment.map_message(
        {"type": "identify", "userId": "u"}, scope=SCOPE, received_at=received
    )
    assert mapped.event["occurred_at"] == received.isoformat()
    assert mapped.event["event_data"] == {"traits": {}}
