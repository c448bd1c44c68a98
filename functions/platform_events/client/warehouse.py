"""Read-only queries on the warehouse's model tables (``MODELS_SCHEMA``), DuckDB or BigQuery.

A query is written once, in DuckDB's dialect with ``$name`` parameters and ``{models}`` for the
models' schema; the BigQuery reader sends the same text with ``@name`` parameters (BigQuery's
named-parameter syntax) as a parameterized query job, values bound, never formatted in.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any, Protocol

from platform_events.config import Settings
from platform_events.errors import SinkMisconfigured

_PARAM = re.compile(r"\$([a-z_][a-z0-9_]*)")


class WarehouseReader(Protocol):
    """Runs one read query on the models; rows as dicts."""

    def query(self, sql: str, params: Mapping[str, Any]) -> list[dict[str, Any]]: ...

    def close(self) -> None: ...


class DuckDBReader:
    """The local warehouse, through the sink (which shares the file with stream workers)."""

    def __init__(self, settings: Settings) -> None:
        from platform_events.sinks.duckdb import DuckDBSink

        self._sink = DuckDBSink.from_settings(settings)
        self._schema = settings.models_schema

    def query(self, sql: str, params: Mapping[str, Any]) -> list[dict[str, Any]]:
        return self._sink.query(sql.replace("{models}", self._schema), params)

    def close(self) -> None:
        self._sink.close()


def _bigquery_type(value: Any) -> str:
    if isinstance(value, bool):
        return "BOOL"
    if isinstance(value, int):
        return "INT64"
    if isinstance(value, float):
        return "FLOAT64"
    if isinstance(value, datetime):
        return "TIMESTAMP"
    if isinstance(value, date):
        return "DATE"
    return "STRING"


class BigQueryReader:
    """The deployed warehouse: parameterized query jobs on ``project.MODELS_SCHEMA``."""

    def __init__(self, client: Any, project: str, schema: str) -> None:
        self.client = client
        self._models = f"`{project}`.{schema}"  # schema: MODELS_SCHEMA's pattern, no quoting

    @classmethod
    def from_settings(cls, settings: Settings) -> BigQueryReader:
        from platform_events.sinks.bigquery import BigQuerySink

        sink = BigQuerySink.from_settings(settings)  # one place builds the BigQuery client
        return cls(sink.client, sink.project, settings.models_schema)

    def query(self, sql: str, params: Mapping[str, Any]) -> list[dict[str, Any]]:
        from google.cloud import bigquery

        text = _PARAM.sub(r"@\1", sql.replace("{models}", self._models))
        config = bigquery.QueryJobConfig(
            query_parameters=[
                bigquery.ScalarQueryParameter(name, _bigquery_type(value), value)
                for name, value in params.items()
            ]
        )
        job = self.client.query(text, job_config=config)
        return [dict(row.items()) for row in job.result()]

    def close(self) -> None:
        self.client.close()


def reader(settings: Settings) -> WarehouseReader:
    """The reader of the configured warehouse."""
    if settings.warehouse == "duckdb":
        return DuckDBReader(settings)
    if settings.warehouse == "bigquery":
        return BigQueryReader.from_settings(settings)
    raise SinkMisconfigured(
        "the typed model reads support WAREHOUSE=duckdb and bigquery; query Redshift's "
        f"{settings.models_schema} schema with its own client"
    )
