"""client/transport.py: the Segment message of HTTP mode carries what ingest maps back."""

from __future__ import annotations

from platform_events.client.transport import segment_message
from platform_events.events import build_event


def test_http_mode_messages_carry_what_ingest_maps_back() -> None:
    event = build_event(
        "user.login",
        {"method": "sso"},
        user_id="u1",
        session_id="s1",
        metadata={"user_agent": "UA", "tenant": "t"},
    )
    message = segment_message(event)
    assert message["event"] == "user.login" and message["messageId"] == str(event.event_id)
    assert message["context"]["userAgent"] == "UA"
    assert message["context"]["sessionId"] == "s1"
    assert message["context"]["metadata"] == {"tenant": "t"}
    anonymous = segment_message(build_event("user.logout", {}, session_id="s2"))
    assert anonymous["anonymousId"] == "s2" and "userId" not in anonymous
