"""A claimed batch as plain columns, its Arrow form for the sinks, and its real-time metrics."""

from __future__ import annotations

import json
import uuid
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa

from platform_events.sinks import schema

Columns = dict[str, list[Any]]


@dataclass(frozen=True)
class Lease:
    """Which durable batch a claim is and the token that proves this worker holds it.

    ``batch_id`` is also the warehouse ``load_id``: an expired batch re-claimed by another worker
    keeps it (and its members and checkpoint), with a new ``token`` and ``attempt`` + 1."""

    batch_id: uuid.UUID
    token: uuid.UUID
    attempt: int

    @property
    def load_id(self) -> str:
        return str(self.batch_id)


_LEASE_COLUMNS = ("batch_id", "lease_token", "attempt")


@dataclass(frozen=True)
class ClaimedBatch:
    """The rows one claim returned, column by column (names: sql ``stream_claim``)."""

    columns: Columns
    lease: Lease | None = None

    @classmethod
    def from_rows(cls, names: Sequence[str], rows: Sequence[Sequence[Any]]) -> ClaimedBatch:
        transposed = list(zip(*rows, strict=True)) if rows else [() for _ in names]
        columns = {name: list(values) for name, values in zip(names, transposed, strict=True)}
        lease = None
        if rows and all(name in columns for name in _LEASE_COLUMNS):
            lease = Lease(columns["batch_id"][0], columns["lease_token"][0], columns["attempt"][0])
        for name in _LEASE_COLUMNS:
            columns.pop(name, None)
        return cls(columns, lease)

    def __len__(self) -> int:
        return len(self.columns["event_id"])

    @property
    def event_ids(self) -> list[str]:
        return self.columns["event_id"]

    def defects(self) -> dict[str, str]:
        """The events that no sink can store (sql ``stream_claim``'s ``defect``), with why."""
        return {
            event_id: defect
            for event_id, defect in zip(
                self.event_ids, self.columns.get("defect", ()), strict=False
            )
            if defect is not None
        }

    def take(self, indices: Sequence[int]) -> ClaimedBatch:
        """The same batch restricted to the rows at ``indices`` (order kept)."""
        return ClaimedBatch(take(self.columns, indices), self.lease)

    def span(self) -> tuple[datetime, datetime]:
        """The earliest and latest ``received_at`` of the batch (None values skipped)."""
        received = [r for r in self.columns["received_at"] if r is not None]
        if not received:
            now = datetime.now(UTC)
            return now, now
        return min(received), max(received)


def take(columns: Mapping[str, Sequence[Any]], indices: Sequence[int]) -> Columns:
    """Columns restricted to the rows at ``indices``."""
    return {name: [values[i] for i in indices] for name, values in columns.items()}


def to_arrow(batch: ClaimedBatch, enrichment: Mapping[str, Sequence[Any]]) -> pa.Table:
    """The warehouse rows of a batch (schema ``batch_arrow_schema``), JSON columns as text."""
    arrow_schema = schema.batch_arrow_schema()
    arrays = []
    for field in arrow_schema:
        values = enrichment[field.name] if field.name in enrichment else batch.columns[field.name]
        arrays.append(pa.array(values, type=field.type))
    return pa.Table.from_arrays(arrays, schema=arrow_schema)


def metrics(
    event_types: Sequence[str], delivered: Sequence[bool]
) -> tuple[list[str], list[float], list[str]]:
    """Real-time counters of one batch as the parallel arrays ``update_realtime_metrics`` takes:
    ``events_delivered`` and ``events_failed``, in total and per event type."""
    ok: Counter[str] = Counter()
    bad: Counter[str] = Counter()
    for event_type, success in zip(event_types, delivered, strict=True):
        # An event whose row is missing has no type: counted in the totals only.
        (ok if success else bad)[event_type or ""] += 1
    names: list[str] = []
    values: list[float] = []
    dims: list[str] = []
    for name, counts in (("events_delivered", ok), ("events_failed", bad)):
        total = sum(counts.values())
        if not total:
            continue
        names.append(name)
        values.append(float(total))
        dims.append("{}")
        for event_type, n in sorted(counts.items()):
            if not event_type:
                continue
            names.append(name)
            values.append(float(n))
            dims.append(json.dumps({"event_type": event_type}))
    return names, values, dims
