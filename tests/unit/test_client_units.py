"""The client's pure pieces: retry delays, debouncing, device detection, the Segment message."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime

import pytest

from platform_events.client.batching import Debouncer, RetryPolicy
from platform_events.client.transport import segment_message
from platform_events.device import detect_device
from platform_events.errors import InvalidEvent
from platform_events.events import Event, build_event


def test_retry_delays_grow_exponentially_with_jitter_under_the_cap() -> None:
    policy = RetryPolicy(max_attempts=4, base_seconds=1, cap_seconds=5)
    rng = random.Random(1)
    for attempt, ceiling in [(1, 1), (2, 2), (3, 4), (4, 5), (10, 5)]:
        delays = [policy.delay(attempt, rng) for _ in range(200)]
        assert min(delays) >= 0 and max(delays) <= ceiling
        assert max(delays) > ceiling * 0.8  # jitter spreads over the whole window
    assert not policy.gives_up_after(3) and policy.gives_up_after(4)


def _search(query: str, session: str = "s") -> Event:
    return Event("search.performed", {"query": query, "results_count": 1}, "u", session)


def test_the_debouncer_keeps_the_last_event_of_a_burst_per_key() -> None:
    debouncer = Debouncer({"search.performed": 1.0})
    debouncer.offer(_search("p"), now=0.0)
    debouncer.offer(_search("py"), now=0.5)
    debouncer.offer(_search("other", session="s2"), now=0.6)
    assert debouncer.due(1.2) == []  # the burst is still going (last at 0.5)
    assert [e.event_data["query"] for e in debouncer.due(1.55)] == ["py"]
    assert [e.event_data["query"] for e in debouncer.drain()] == ["other"]
    assert debouncer.replaced == 1 and len(debouncer) == 0


def test_only_configured_types_are_debounced() -> None:
    debouncer = Debouncer({"search.performed": 1.0, "filter.applied": 0})
    assert debouncer.applies_to(_search("x"))
    assert not debouncer.applies_to(Event("filter.applied", {}, None, None))
    assert not debouncer.applies_to(Event("user.login", {}, None, None))


@pytest.mark.parametrize(
    ("agent", "device_type", "browser", "os"),
    [
        (
            "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1",
            "mobile",
            "Mobile Safari",
            "iOS",
        ),
        (
            "Mozilla/5.0 (iPad; CPU OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1",
            "tablet",
            "Mobile Safari",
            "iOS",
        ),
        (
            "Mozilla/5.0 (Linux; Android 13; SM-X700) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36",
            "tablet",
            "Chrome",
            "Android",
        ),
        (
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36",
            "desktop",
            "Chrome",
            "Windows",
        ),
        (
            "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
            "bot",
            "Googlebot",
            None,
        ),
        ("", "unknown", None, None),
    ],
)
def test_devices_are_detected_from_the_user_agent(
    agent: str, device_type: str, browser: str | None, os: str | None
) -> None:
    info = detect_device(agent)
    assert (info.device_type, info.browser, info.os) == (device_type, browser, os)


def test_build_event_validates_and_fixes_the_idempotency_key() -> None:
    event = build_event("user.login", {"method": "sso"}, occurred_at=datetime(2024, 1, 1))
    assert isinstance(event.event_id, uuid.UUID)
    assert event.occurred_at.tzinfo is UTC
    with pytest.raises(InvalidEvent) as caught:
        build_event("payment.completed", {"payment_id": "p", "amount": -1, "currency": "USD"})
    assert caught.value.field == "event_data.amount"


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
