"""Warehouse sinks behind one small interface (``Sink``): DuckDB (default), BigQuery, Redshift.

Adding a warehouse is adding one module with a ``Sink`` subclass and one line in ``get_sink``.
"""

from __future__ import annotations

from platform_events.config import Settings, WarehouseKind
from platform_events.errors import SinkUnavailable
from platform_events.sinks.base import RowsRejected, Sink, new_load_id

__all__ = ["RowsRejected", "Sink", "SinkUnavailable", "get_sink", "new_load_id"]


def get_sink(settings: Settings, name: WarehouseKind | None = None) -> Sink:
    """The sink ``name`` (default ``settings.warehouse``), configured from ``settings``."""
    kind = name or settings.warehouse
    if kind == "duckdb":
        from platform_events.sinks.duckdb import DuckDBSink

        return DuckDBSink.from_settings(settings)
    if kind == "bigquery":
        from platform_events.sinks.bigquery import BigQuerySink

        return BigQuerySink.from_settings(settings)
    if kind == "redshift":
        from platform_events.sinks.redshift import RedshiftSink

        return RedshiftSink.from_settings(settings)
    raise ValueError(f"unknown warehouse {kind!r}: expected duckdb, bigquery or redshift")
