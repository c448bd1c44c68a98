"""The events table as Terraform defines it (infra/warehouse/main.tf), and the check of a live one.

Terraform owns the dataset and the table; the functions only check that the table is the one the
sink is written for (``tables.get``, no create: creating even with ``exists_ok`` needs
``bigquery.datasets.create``/``tables.create``, which BigQuery checks before it looks whether the
resource exists, so a least-privileged function would get 403 on every run).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from platform_events.sinks import schema

PARTITION_FIELD = "occurred_at"
PARTITION_TYPE = "DAY"
CLUSTERING = ("event_type", "user_id")
# infra/warehouse: partitions expire after var.longest_retention_days, validated >= 2555 days
# (the catalogue's longest retention, 7 years).
MIN_PARTITION_EXPIRATION = timedelta(days=2555)


@dataclass(frozen=True)
class TableShape:
    """The properties of a live table the sink depends on (from ``bigquery.Table``)."""

    columns: dict[str, tuple[str, str]]  # name -> (type, mode)
    partition_type: str | None
    partition_field: str | None
    expiration_ms: int | None
    clustering: tuple[str, ...]
    require_partition_filter: bool

    @classmethod
    def of(cls, table: Any) -> TableShape:
        tp = table.time_partitioning
        return cls(
            columns={f.name: (_type(f.field_type), f.mode or "NULLABLE") for f in table.schema},
            partition_type=tp.type_ if tp is not None else None,
            partition_field=tp.field if tp is not None else None,
            expiration_ms=tp.expiration_ms if tp is not None else None,
            clustering=tuple(table.clustering_fields or ()),
            # The table-level option (what Terraform sets), or the deprecated one inside
            # timePartitioning that older tables carry (and bqemulator keeps: it drops the other).
            require_partition_filter=bool(
                table.require_partition_filter
                or (tp is not None and tp.to_api_repr().get("requirePartitionFilter"))
            ),
        )


def _type(field_type: str) -> str:
    return {"INT64": "INTEGER", "BOOL": "BOOLEAN", "FLOAT64": "FLOAT"}.get(field_type, field_type)


def problems(shape: TableShape) -> list[str]:
    """What differs from the table Terraform creates; empty when the table fits the sink."""
    found: list[str] = []
    for column in schema.columns():
        mode = "REQUIRED" if column.required else "NULLABLE"
        have = shape.columns.get(column.name)
        if have is None:
            found.append(f"column {column.name} is missing")
        elif have != (column.type, mode):
            found.append(
                f"column {column.name} is {have[0]} {have[1]}, expected {column.type} {mode}"
            )
    if (shape.partition_type, shape.partition_field) != (PARTITION_TYPE, PARTITION_FIELD):
        found.append(f"partitioning must be {PARTITION_TYPE} on {PARTITION_FIELD}")
    if shape.clustering != CLUSTERING:
        found.append(f"clustering must be {', '.join(CLUSTERING)}")
    if not shape.require_partition_filter:
        found.append("require_partition_filter must be true")
    if shape.expiration_ms is not None and shape.expiration_ms < _ms(MIN_PARTITION_EXPIRATION):
        found.append(
            f"partition expiration must keep at least {MIN_PARTITION_EXPIRATION.days} days "
            "(the catalogue's longest retention)"
        )
    return found


def _ms(delta: timedelta) -> int:
    return int(delta.total_seconds() * 1000)
