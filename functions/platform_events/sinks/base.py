"""The warehouse sink interface: what every destination implements, and its error kinds.

Every sink stores each event once however often its batch is re-sent: DuckDB and Redshift by
replacing rows by ``event_id`` (``replaces_by_event_id``), BigQuery by protocol (one write stream
per delivery batch, kept in the batch's ``WriteCheckpoint``, committed once). Delivery from
Postgres is at-least-once (a crash between the write and the acknowledgement re-sends the batch),
so this makes the warehouse exactly-once. An append-only sink cannot replace rows, so a re-send of
already-delivered events in new batches (``reprocess``) first deletes them there.
"""

from __future__ import annotations

import uuid
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from types import TracebackType
from typing import Any, ClassVar, Protocol

import pyarrow as pa

from platform_events.errors import RowsRejected, SinkUnavailable

__all__ = [
    "OccurredSpan",
    "RowsRejected",
    "Sink",
    "SinkUnavailable",
    "WriteCheckpoint",
    "new_load_id",
]

# The earliest and latest ``occurred_at`` of the rows a statement may touch: BigQuery's table
# requires a partition filter on it (Terraform: require_partition_filter = true).
OccurredSpan = tuple[datetime, datetime]


class WriteCheckpoint(Protocol):
    """Durable state of one delivery batch's write, kept with the batch in PostgreSQL and fenced
    by its lease: e.g. a BigQuery write stream's name, saved before the first append so that a
    worker taking over an expired batch resumes the same stream; a Redshift load's statement id,
    so a retry asks about the running load instead of sending it again. DuckDB, idempotent by
    merge in one local transaction, ignores it."""

    def load(self) -> Mapping[str, Any] | None:
        """What the batch's holders saved so far (None: nothing yet)."""

    def save(self, state: Mapping[str, Any]) -> None:
        """Replace the saved state; raises LeaseLost when this worker no longer holds the lease."""


def new_load_id() -> str:
    return str(uuid.uuid4())


class Sink(ABC):
    """One warehouse table of events (columns: sinks/schema/events.json)."""

    kind: ClassVar[str]
    # False for an append-only sink (BigQuery): re-sent events must be deleted there first.
    replaces_by_event_id: ClassVar[bool] = True

    @abstractmethod
    def ensure_table(self) -> None:
        """Create the events table when it is missing (idempotent, cheap when it exists)."""

    @abstractmethod
    def write(
        self,
        batch: pa.Table,
        load_id: str | None = None,
        checkpoint: WriteCheckpoint | None = None,
    ) -> str:
        """Upsert ``batch`` (schema: ``schema.batch_arrow_schema()``) by ``event_id``; answer the
        load id stored in each row's ``load_id``. ``checkpoint``, when given, is the batch's
        durable write state (see WriteCheckpoint). Raises SinkUnavailable (transient: retry),
        SinkThrottled (quota: back off), SinkMisconfigured (stop) or RowsRejected (the data:
        split the batch)."""

    @abstractmethod
    def erase_user(self, user_id: str, *, span: OccurredSpan | None = None) -> int:
        """GDPR erasure of one user's rows: identity columns cleared, rows kept for aggregates
        (as ``anonymize_user_events`` does in Postgres). Answers the number of rows changed.
        ``span``: the occurred_at span of the user's events in Postgres (a sink that needs a
        partition filter erases within it; None there: the user has no events)."""

    @abstractmethod
    def delete_events(self, event_ids: Sequence[str], *, span: OccurredSpan | None = None) -> int:
        """Delete these events (``span``: their occurred_at span); answers how many rows went."""

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
