"""The warehouse table's columns, read from ``schema/events.json``: one source for every sink.

Terraform reads the same JSON for the BigQuery table, so a column added there reaches BigQuery,
Redshift and DuckDB alike. Each sink maps the portable types (STRING, INTEGER, TIMESTAMP, JSON)
to its own here, in one place.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Literal

import pyarrow as pa

ColumnType = Literal["STRING", "INTEGER", "TIMESTAMP", "JSON"]

# Columns the sink fills itself: the pipeline's batches carry every other column.
SINK_COLUMNS = ("load_id", "loaded_at")


@dataclass(frozen=True)
class Column:
    name: str
    type: ColumnType
    required: bool
    description: str


@lru_cache(maxsize=1)
def columns() -> tuple[Column, ...]:
    """Every column of the events table, in table order."""
    text = resources.files("platform_events.sinks").joinpath("schema/events.json").read_text()
    return tuple(
        Column(
            name=field["name"],
            type=field["type"],
            required=field.get("mode") == "REQUIRED",
            description=field.get("description", ""),
        )
        for field in json.loads(text)
    )


def column_names() -> tuple[str, ...]:
    return tuple(column.name for column in columns())


def batch_column_names() -> tuple[str, ...]:
    """The columns a pipeline batch carries (all but the sink's own)."""
    return tuple(name for name in column_names() if name not in SINK_COLUMNS)


_ARROW: dict[str, pa.DataType] = {
    "STRING": pa.string(),
    "INTEGER": pa.int64(),
    "TIMESTAMP": pa.timestamp("us", tz="UTC"),
    "JSON": pa.string(),  # serialized JSON text; each sink parses it into its JSON type
}


@lru_cache(maxsize=1)
def batch_arrow_schema() -> pa.Schema:
    """The Arrow schema of a pipeline batch (JSON columns as text)."""
    return pa.schema(
        [
            pa.field(c.name, _ARROW[c.type], nullable=not c.required)
            for c in columns()
            if c.name not in SINK_COLUMNS
        ]
    )
