"""A claimed batch as plain columns, its Arrow form for the sinks, and its real-time metrics."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pyarrow as pa

from platform_events.sinks import schema

Columns = dict[str, list[Any]]


@dataclass(frozen=True)
class ClaimedBatch:
    """The rows one claim returned, column by column (names: sql ``stream_claim``)."""

    columns: Columns

    @classmethod
    def from_rows(cls, names: Sequence[str], rows: Sequence[Sequence[Any]]) -> ClaimedBatch:
        transposed = list(zip(*rows, strict=True)) if rows else [() for _ in names]
        return cls({name: list(values) for name, values in zip(names, transposed, strict=True)})

    def __len__(self) -> int:
        return len(self.columns["event_id"])

    @property
    def event_ids(self) -> list[str]:
        return self.columns["event_id"]

    def span(self) -> tuple[datetime, datetime]:
        """The earliest and latest ``received_at`` of the batch."""
        received = self.columns["received_at"]
        return min(received), max(received)


def to_arrow(batch: ClaimedBatch, enrichment: Mapping[str, Sequence[Any]]) -> pa.Table:
    """The warehouse rows of a batch (schema ``batch_arrow_schema``), JSON columns as text."""
    arrow_schema = schema.batch_arrow_schema()
    arrays = []
    for field in arrow_schema:
        values = enrichment[field.name] if field.name in enrichment else batch.columns[field.name]
        arrays.append(pa.array(values, type=field.type))
    return pa.Table.from_arrays(arrays, schema=arrow_schema)


def rows_at(table: pa.Table, event_ids: set[str]) -> pa.Table:
    """The rows of ``table`` whose event_id is in ``event_ids`` (order kept)."""
    mask = [event_id in event_ids for event_id in table.column("event_id").to_pylist()]
    return table.filter(pa.array(mask, pa.bool_()))


def metrics(
    event_types: Sequence[str], delivered: Sequence[bool]
) -> tuple[list[str], list[float], list[str]]:
    """Real-time counters of one batch as the parallel arrays ``update_realtime_metrics`` takes:
    ``events_delivered`` and ``events_failed``, in total and per event type."""
    ok: Counter[str] = Counter()
    bad: Counter[str] = Counter()
    for event_type, success in zip(event_types, delivered, strict=True):
        (ok if success else bad)[event_type] += 1
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
            names.append(name)
            values.append(float(n))
            dims.append(json.dumps({"event_type": event_type}))
    return names, values, dims
