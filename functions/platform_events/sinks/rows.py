"""Batch rows as newline-delimited JSON, the load format of BigQuery and Redshift (pure).

JSON columns are spliced in as raw JSON (objects, not strings holding JSON): BigQuery loads them
into JSON columns and Redshift's ``COPY ... FORMAT JSON 'auto'`` into SUPER columns as they are.
They come from Postgres ``jsonb::text``, so they are valid JSON by construction.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pyarrow as pa

from platform_events.sinks import schema


def _scalar(value: Any) -> str:
    if isinstance(value, datetime):
        return json.dumps(value.isoformat())
    return json.dumps(value)


def ndjson_lines(table: pa.Table, load_id: str, loaded_at: datetime) -> Iterator[str]:
    """One JSON object per row, with every column of the events table (``load_id`` included)."""
    json_columns = {c.name for c in schema.columns() if c.type == "JSON"}
    names = table.column_names
    keys = [json.dumps(name) + ":" for name in names]
    tail = f',"load_id":{json.dumps(load_id)},"loaded_at":{_scalar(loaded_at)}}}'
    columns = [table.column(name).to_pylist() for name in names]
    for row in zip(*columns, strict=True):
        parts = []
        for key, name, value in zip(keys, names, row, strict=True):
            if value is None:
                parts.append(key + "null")
            elif name in json_columns:
                parts.append(key + value)
            else:
                parts.append(key + _scalar(value))
        yield "{" + ",".join(parts) + tail


def ndjson(table: pa.Table, load_id: str, loaded_at: datetime) -> bytes:
    return ("\n".join(ndjson_lines(table, load_id, loaded_at)) + "\n").encode()


def ndjson_gzip(table: pa.Table, load_id: str, loaded_at: datetime) -> bytes:
    """Gzipped NDJSON (level 6: most of the size win at a fraction of level 9's cost)."""
    return gzip.compress(ndjson(table, load_id, loaded_at), compresslevel=6)
