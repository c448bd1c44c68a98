"""A pipeline batch as the Arrow rows of the events table (pure): sink columns added, sorted.

Rows are sorted by ``event_id`` so that the same set of events always lands at the same stream
offsets, whoever sends it: a worker taking over a batch re-sends offsets the previous one wrote,
and ``ALREADY_EXISTS`` then means exactly "this event is there". JSON columns travel as Arrow
strings holding JSON text (the Storage Write API's Arrow mapping of JSON).
"""

from __future__ import annotations

from datetime import datetime

import pyarrow as pa
import pyarrow.compute as pc

from platform_events.sinks import schema

_ARROW = {
    "STRING": pa.string(),
    "INTEGER": pa.int64(),
    "TIMESTAMP": pa.timestamp("us", tz="UTC"),
    "JSON": pa.string(),
}


def table_arrow_schema() -> pa.Schema:
    """The Arrow schema of the events table, every column in table order."""
    return pa.schema(
        [pa.field(c.name, _ARROW[c.type], nullable=not c.required) for c in schema.columns()]
    )


def table_rows(batch: pa.Table, load_id: str, loaded_at: datetime) -> pa.Table:
    """``batch`` (schema ``batch_arrow_schema``) with ``load_id``/``loaded_at``, by event_id."""
    n = batch.num_rows
    full = batch.append_column("load_id", pa.array([load_id] * n, pa.string())).append_column(
        "loaded_at", pa.array([loaded_at] * n, pa.timestamp("us", tz="UTC"))
    )
    target = table_arrow_schema()
    full = full.select(target.names).cast(target)
    return full.take(pc.sort_indices(full, sort_keys=[("event_id", "ascending")]))


def row_sizes(rows: pa.Table) -> list[int]:
    """An estimate of each row's bytes on the wire (its variable-width values plus fixed ones)."""
    fixed = 8 * sum(1 for f in rows.schema if not pa.types.is_string(f.type))
    sizes = pa.array([fixed] * rows.num_rows, pa.int64())
    for f in rows.schema:
        if pa.types.is_string(f.type):
            lengths = pc.fill_null(pc.binary_length(rows.column(f.name)), 0)
            sizes = pc.add(sizes, pc.cast(lengths, pa.int64()))
    return [int(v) for v in sizes.to_pylist()]
