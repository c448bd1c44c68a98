"""An in-memory ``WriteCheckpoint``: a write's state for callers without a durable delivery batch.

The stream job passes the batch's durable checkpoint (kept in PostgreSQL, fenced by the lease).
Direct callers of ``Sink.write`` (tests, one-off loads) get this one: the protocol runs the same,
but its state lives only as long as the object, so a crash forgets it.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any


class InMemoryCheckpoint:
    """A ``WriteCheckpoint`` in a dict; ``saves`` counts the saves (tests assert the order)."""

    def __init__(self, state: Mapping[str, Any] | None = None) -> None:
        self._state: dict[str, Any] | None = copy.deepcopy(dict(state)) if state else None
        self.saves = 0

    def load(self) -> Mapping[str, Any] | None:
        return copy.deepcopy(self._state)

    def save(self, state: Mapping[str, Any]) -> None:
        self._state = copy.deepcopy(dict(state))
        self.saves += 1
