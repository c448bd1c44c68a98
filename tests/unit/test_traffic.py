"""The traffic generator: valid, deterministic, funnel-ordered, with a daily rhythm."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

from platform_events.catalog import validate_event
from platform_events.traffic import generate

END = datetime(2024, 6, 10, 12, tzinfo=UTC)


def test_every_generated_event_is_valid_for_the_catalogue() -> None:
    events = list(generate(300, 5, seed=3, end=END))
    assert len(events) > 2000
    for event in events:
        validate_event(event.event_type, event.event_data)
        assert event.occurred_at < END.replace(hour=13)


def test_the_same_seed_gives_the_same_events_and_another_seed_does_not() -> None:
    first = [(e.event_id, e.event_type, e.occurred_at) for e in generate(100, 3, seed=1, end=END)]
    again = [(e.event_id, e.event_type, e.occurred_at) for e in generate(100, 3, seed=1, end=END)]
    other = [(e.event_id, e.event_type, e.occurred_at) for e in generate(100, 3, seed=2, end=END)]
    assert first == again and first != other


def test_the_funnel_narrows_and_keeps_its_order() -> None:
    events = list(generate(800, 14, seed=5, end=END))
    counts = Counter(e.event_type for e in events)
    funnel = ["search.performed", "profile.viewed", "proposal.submitted", "milestone.approved",
              "payment.completed", "review.posted"]  # fmt: skip
    sizes = [counts[name] for name in funnel]
    assert all(size > 0 for size in sizes)
    assert sizes == sorted(sizes, reverse=True)
    created = {
        e.event_data["project_id"]: e.occurred_at
        for e in events
        if e.event_type == "project.created"
    }
    for event in events:
        if event.event_type in ("proposal.submitted", "milestone.approved", "review.posted"):
            assert event.occurred_at > created[event.event_data["project_id"]]


def test_nights_are_quieter_than_days() -> None:
    hours = Counter(e.occurred_at.hour for e in generate(500, 7, seed=9, end=END))
    night = sum(hours[h] for h in (1, 2, 3, 4))
    day = sum(hours[h] for h in (10, 11, 19, 20))
    assert day > 4 * night


def test_sessions_have_unique_ids_and_start_with_session_started() -> None:
    first_by_session: dict[str, str] = {}
    for event in generate(200, 3, seed=4, end=END):
        assert event.session_id is not None
        first_by_session.setdefault(event.session_id, event.event_type)
    assert set(first_by_session.values()) == {"session.started"}
