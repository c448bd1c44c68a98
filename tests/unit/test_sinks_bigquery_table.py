"""sinks/bigquery/table.py: the check of the events table's shape, without a server."""

from __future__ import annotations

from platform_events.sinks import schema
from platform_events.sinks.bigquery import table


def _terraform_shape(**changes: object) -> table.TableShape:
    columns = {c.name: (c.type, "REQUIRED" if c.required else "NULLABLE") for c in schema.columns()}
    base = {
        "columns": columns,
        "partition_type": "DAY",
        "partition_field": "occurred_at",
        "expiration_ms": 2557 * 86_400_000,
        "clustering": ("event_type", "user_id"),
        "require_partition_filter": True,
    }
    base.update(changes)
    return table.TableShape(**base)  # type: ignore[arg-type]


def test_terraforms_table_has_no_problems_and_each_difference_is_named() -> None:
    assert table.problems(_terraform_shape()) == []
    columns = dict(_terraform_shape().columns)
    del columns["load_id"]
    columns["schema_version"] = ("STRING", "REQUIRED")
    found = table.problems(
        _terraform_shape(columns=columns, expiration_ms=86_400_000, require_partition_filter=False)
    )
    assert found == [
        "column schema_version is STRING REQUIRED, expected INTEGER REQUIRED",
        "column load_id is missing",
        "require_partition_filter must be true",
        "partition expiration must keep at least 2555 days (the catalogue's longest retention)",
    ]


def test_the_shape_is_read_from_a_bigquery_table() -> None:
    from google.cloud import bigquery

    t = bigquery.Table(
        "p.d.events",
        schema=[bigquery.SchemaField("schema_version", "INT64", mode="REQUIRED")],
    )
    t.time_partitioning = bigquery.TimePartitioning(field="occurred_at")
    shape = table.TableShape.of(t)
    assert shape.columns == {"schema_version": ("INTEGER", "REQUIRED")}
    assert (shape.partition_type, shape.partition_field) == ("DAY", "occurred_at")
    assert shape.require_partition_filter is False
    t.time_partitioning = bigquery.TimePartitioning.from_api_repr(
        {"type": "DAY", "field": "occurred_at", "requirePartitionFilter": True}
    )
    assert table.TableShape.of(t).require_partition_filter is True  # the deprecated location
