"""The exactly-once protocol of a batch over the Storage Write API, as pure decisions over plain data.

A batch is written through one PENDING stream (modelled on Apache Beam's exactly-once Storage
Write sink, ``StorageApiWritesShardedRecords.java``: stream names and offsets in durable state,
``ALREADY_EXISTS`` read as success, one commit):

1. ``CreateWriteStream`` (PENDING), then the stream's name saved in the batch's checkpoint (phase
   ``appending``) BEFORE the first append, so whoever holds the batch next finds it.
2. ``AppendRows`` at explicit offsets, in chunk boundaries saved with the name (a worker taking
   over re-sends the same chunks at the same offsets: ``ALREADY_EXISTS`` = already written).
3. ``FinalizeWriteStream``: its row count must equal the rows sent.
4. The checkpoint saved again (phase ``committing``): the lease fences it, so a worker that lost
   the batch stops here and never commits.
5. One ``BatchCommitWriteStreams``; the rows become visible at once, atomically.

What a worker finds in the checkpoint decides where it starts (:func:`plan`). A stream that may
have been committed (phase ``committing``) is committed again: committing twice is harmless (the
service answers that it is already committed), and afterwards its fate is settled, so asking the
table (rows with this ``load_id``) tells exactly which events are there.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

# AppendRows requests are capped at 10 MB (Storage Write API quotas: "AppendRows request size");
# chunks stay well under it so per-row overhead and Arrow framing never push one past.
MAX_CHUNK_BYTES = 4 * 1024 * 1024
ROW_OVERHEAD_BYTES = 64

# "Time-unit column partitioning: you can stream data into a table partitioned on a DATE,
# DATETIME, or TIMESTAMP column that is between 10 years in the past and 1 year in the future.
# Data outside this range is rejected." (https://cloud.google.com/bigquery/docs/write-api,
# section "Time-unit column partitioning"). The legacy insertAll path allowed only 5 years past:
# Snowplow's loader met it at 1825 days (snowplow/snowplow-bigquery-loader#392).
STREAM_WINDOW_PAST = timedelta(days=3652)
STREAM_WINDOW_FUTURE = timedelta(days=365)

STATE_KEY = "bigquery"


class Phase(StrEnum):
    APPENDING = "appending"
    COMMITTING = "committing"


@dataclass(frozen=True)
class StreamState:
    """What the checkpoint holds about the batch's current stream."""

    stream: str
    digest: str
    rows: int
    chunks: tuple[int, ...]  # end offset of each AppendRows request
    phase: Phase = Phase.APPENDING
    # Rows of this load_id may already be in the table (an earlier stream of the batch committed):
    # a new stream must then first ask the table which events are there.
    maybe_in_table: bool = False

    def to_mapping(self) -> dict[str, Any]:
        return {
            STATE_KEY: {
                "stream": self.stream,
                "digest": self.digest,
                "rows": self.rows,
                "chunks": list(self.chunks),
                "phase": self.phase.value,
                "maybe_in_table": self.maybe_in_table,
            }
        }

    @classmethod
    def from_mapping(cls, saved: Mapping[str, Any] | None) -> StreamState | None:
        if not saved or STATE_KEY not in saved:
            return None
        s = saved[STATE_KEY]
        return cls(
            stream=str(s["stream"]),
            digest=str(s["digest"]),
            rows=int(s["rows"]),
            chunks=tuple(int(c) for c in s["chunks"]),
            phase=Phase(s["phase"]),
            maybe_in_table=bool(s.get("maybe_in_table", False)),
        )

    def committing(self) -> StreamState:
        return replace(self, phase=Phase.COMMITTING)


def digest(event_ids: Sequence[str]) -> str:
    """A fingerprint of the set of events a stream carries (order-independent)."""
    h = hashlib.sha256()
    for event_id in sorted(event_ids):
        h.update(event_id.encode())
        h.update(b"\n")
    return h.hexdigest()


class Step(StrEnum):
    NEW_STREAM = "new_stream"  # create a stream for the rows (after asking the table if needed)
    RESUME = "resume"  # re-send the same chunks to the saved stream, then finalize and commit
    COMMIT_AGAIN = "commit_again"  # the saved stream may be committed: commit it (idempotent)


@dataclass(frozen=True)
class Plan:
    step: Step
    ask_table: bool = False  # before a new stream: which events of this load_id are there


def plan(state: StreamState | None, batch_digest: str) -> Plan:
    """Where a write of a batch whose events hash to ``batch_digest`` starts, given the state."""
    if state is None:
        return Plan(Step.NEW_STREAM)
    if state.phase is Phase.COMMITTING:
        return Plan(Step.COMMIT_AGAIN)
    if state.digest == batch_digest:
        return Plan(Step.RESUME)
    # Another set of rows (the batch minus rows the warehouse refused): the saved stream was never
    # committed (no commit without the committing phase saved first), so it is abandoned.
    return Plan(Step.NEW_STREAM, ask_table=state.maybe_in_table)


class CommitOutcome(StrEnum):
    COMMITTED = "committed"  # now or before: the stream's rows are in the table
    UNKNOWN = "unknown"  # gone or refused: ask the table


# google.cloud.bigquery.storage.v1.StorageError.StorageErrorCode values that matter here.
STREAM_ALREADY_COMMITTED = 2


def commit_outcome(commit_time: datetime | None, error_codes: Sequence[int]) -> CommitOutcome:
    """What a BatchCommitWriteStreams answer for one stream means."""
    if not error_codes and commit_time is not None:
        return CommitOutcome.COMMITTED
    if error_codes and all(code == STREAM_ALREADY_COMMITTED for code in error_codes):
        return CommitOutcome.COMMITTED
    return CommitOutcome.UNKNOWN


def chunk_ends(row_bytes: Sequence[int], limit: int = MAX_CHUNK_BYTES) -> tuple[int, ...]:
    """End offsets of AppendRows requests holding at most ``limit`` bytes each (one row at least)."""
    ends: list[int] = []
    size = 0
    for i, n in enumerate(row_bytes):
        cost = n + ROW_OVERHEAD_BYTES
        if size and size + cost > limit:
            ends.append(i)
            size = 0
        size += cost
    if row_bytes:
        ends.append(len(row_bytes))
    return tuple(ends)


def chunk_ranges(ends: Sequence[int]) -> list[tuple[int, int]]:
    """(start, end) offsets of each chunk."""
    starts = [0, *ends[:-1]]
    return list(zip(starts, ends, strict=True))


def outside_stream_window(occurred_at: Mapping[str, datetime], now: datetime) -> dict[str, str]:
    """Events the Storage Write API would refuse for their partition: event_id -> reason."""
    lo, hi = now - STREAM_WINDOW_PAST, now + STREAM_WINDOW_FUTURE
    return {
        event_id: (
            f"occurred_at {at.isoformat()} is outside the Storage Write API's partition window "
            f"({lo.date()} to {hi.date()}: 10 years past, 1 year future); "
            "load such history with a load job (docs/streaming-and-warehouses.md)"
        )
        for event_id, at in occurred_at.items()
        if not lo <= at <= hi
    }
