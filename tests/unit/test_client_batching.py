"""client/batching.py: retry delays and debouncing of the client's background sender."""

from __future__ import annotations

import random

from platform_events.client.batching import Debouncer, RetryPolicy
from platform_events.events import Event


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
