"""The warehouse sink interface: what every destination implements, and its error kinds.

A sink is idempotent on ``event_id``: writing a batch whose events are already stored replaces them,
never duplicates them. Delivery from Postgres is at-least-once (a crash between the write and the
acknowledgement re-sends the batch), so this property alone makes the warehouse exactly-once.
"""

from __future__ import annotations

import uuid
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from datetime import timedelta
from types import TracebackType
from typing import ClassVar

import pyarrow as pa

from platform_events.errors import PlatformEventsError, SinkUnavailable

__all__ = ["RowsRejected", "Sink", "SinkUnavailable", "new_load_id"]


class RowsRejected(PlatformEventsError):
    """The warehouse refused the rows themselves (bad value, too large): retrying the same batch
    cannot succeed, so the pipeline splits it to isolate the event at fault."""


def new_load_id() -> str:
    return str(uuid.uuid4())


class Sink(ABC):
    """One warehouse table of events (columns: sinks/schema/events.json)."""

    kind: ClassVar[str]

    @abstractmethod
    def ensure_table(self) -> None:
        """Create the events table when it is missing (idempotent, cheap when it exists)."""

    @abstractmethod
    def write(self, batch: pa.Table, load_id: str | None = None) -> str:
        """Upsert ``batch`` (schema: ``schema.batch_arrow_schema()``) by ``event_id``; answer the
        load id stored in each row's ``load_id``. Raises SinkUnavailable (transient: retry) or
        RowsRejected (the data: split the batch)."""

    @abstractmethod
    def erase_user(self, user_id: str) -> int:
        """GDPR erasure of one user's rows: identity columns cleared, rows kept for aggregates
        (as ``anonymize_user_events`` does in Postgres). Answers the number of rows changed."""

    @abstractmethod
    def delete_events(self, event_ids: Sequence[str]) -> int:
        """Delete these events; answers how many rows went."""

    @abstractmethod
    def delete_expired(self, policies: Mapping[str, timedelta]) -> int:
        """Retention: delete events of each type that occurred longer ago than its retention."""

    def close(self) -> None:  # noqa: B027  (optional hook: stateless sinks hold nothing)
        """Release connections and locks (a sink can be used again afterwards)."""

    def __enter__(self) -> Sink:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
