"""sinks/bigquery/rows.py: the rows the Storage Write API is sent, in table order, and their sizes."""

from __future__ import annotations

from datetime import UTC, datetime

import pyarrow as pa

from platform_events.sinks import schema
from platform_events.sinks.bigquery.rows import row_sizes, table_arrow_schema, table_rows

NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)


def _batch(ids: list[str], payloads: list[str]) -> pa.Table:
    n = len(ids)
    columns: dict[str, list[object]] = {name: [None] * n for name in schema.batch_column_names()}
    columns.update(
        event_id=ids,
        event_type=["user.login"] * n,
        event_category=["user_activity"] * n,
        schema_version=[1] * n,
        occurred_at=[NOW] * n,
        received_at=[NOW] * n,
        event_data=payloads,
    )
    return pa.table(columns, schema=schema.batch_arrow_schema())


def test_rows_carry_the_sink_columns_in_table_order_sorted_by_event_id() -> None:
    rows = table_rows(_batch(["c", "a", "b"], ["{}", '{"x": 1}', "{}"]), "load-1", NOW)
    assert rows.schema == table_arrow_schema()
    assert rows.column_names == list(schema.column_names())
    assert rows.column("event_id").to_pylist() == ["a", "b", "c"]
    assert rows.column("event_data").to_pylist() == ['{"x": 1}', "{}", "{}"]
    assert set(rows.column("load_id").to_pylist()) == {"load-1"}


def test_row_sizes_grow_with_the_values_sent() -> None:
    small, large = row_sizes(
        table_rows(_batch(["a", "b"], ["{}", "{" + "x" * 500 + "}"]), "l", NOW)
    )
    assert large - small == 500
