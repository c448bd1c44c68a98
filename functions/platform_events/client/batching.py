"""Pure policy pieces of the background worker: retry delays and debouncing (no threads, no I/O)."""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass

from platform_events.events import Event


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with full jitter (AWS architecture blog), capped, for ``max_attempts``."""

    max_attempts: int = 5
    base_seconds: float = 0.5
    cap_seconds: float = 30.0

    def delay(self, attempt: int, rng: random.Random | None = None) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1-based)."""
        ceiling = min(self.cap_seconds, self.base_seconds * 2 ** max(attempt - 1, 0))
        return (rng or random).uniform(0, ceiling)

    def gives_up_after(self, attempt: int) -> bool:
        return attempt >= self.max_attempts


DebounceKey = tuple[str, str | None, str | None]


class Debouncer:
    """Trailing-edge debounce per (type, user, session): a burst keeps only its last event.

    Search-as-you-type emits ``search.performed`` on every keystroke; with a 1 s window only the
    search the user settled on is sent, once they paused for a second. Not thread-safe: the worker
    calls it under its lock.
    """

    def __init__(self, windows: Mapping[str, float]) -> None:
        self.windows = dict(windows)
        self._pending: dict[DebounceKey, tuple[float, Event]] = {}
        self.replaced = 0

    def applies_to(self, event: Event) -> bool:
        return self.windows.get(event.event_type, 0) > 0

    def offer(self, event: Event, now: float) -> None:
        """Hold ``event`` until its window passes with no newer event of the same key."""
        key = (event.event_type, event.user_id, event.session_id)
        if key in self._pending:
            self.replaced += 1
        self._pending[key] = (now + self.windows[event.event_type], event)

    def due(self, now: float) -> list[Event]:
        """Remove and return the events whose window has passed."""
        ready = [key for key, (deadline, _) in self._pending.items() if deadline <= now]
        return [self._pending.pop(key)[1] for key in ready]

    def drain(self) -> list[Event]:
        """Remove and return every held event (flush and close send them at once)."""
        events = [event for _, event in self._pending.values()]
        self._pending.clear()
        return events

    def next_deadline(self) -> float | None:
        return min((deadline for deadline, _ in self._pending.values()), default=None)

    def __len__(self) -> int:
        return len(self._pending)
