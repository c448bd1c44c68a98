"""BigQuery test support: the events table built from Terraform's own definition, thin wrappers
that enforce the service's documented rules the emulator (bqemulator 1.4.0) does not, and a
builder of warehouse batches.

The emulator accepts a query without a partition filter on a table created with
``require_partition_filter = true`` and does not even keep the option. The service refuses such a
query: "Cannot query over table 'p.d.t' without a filter over column(s) 'occurred_at' that can be
used for partition elimination" (https://cloud.google.com/bigquery/docs/partitioned-tables
#require_a_partition_filter, and https://cloud.google.com/bigquery/docs/querying-partitioned-tables:
the filter must be on the partitioning column and usable for pruning, so a condition that is only
one side of an OR does not count). ``PartitionFilterEnforcingClient`` refuses it the same way.
"""

from __future__ import annotations

import ast
import json
import operator
import re
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import hcl2
import pyarrow as pa
import sqlglot
from google.api_core import exceptions as gexc
from sqlglot import exp

from platform_events.sinks import schema

ROOT = Path(__file__).resolve().parents[2]
WAREHOUSE_TF = ROOT / "infra" / "warehouse"
SCHEMA_JSON = ROOT / "functions" / "platform_events" / "sinks" / "schema" / "events.json"


# -- the table as Terraform defines it --------------------------------------------------------


def _unquote(value: str) -> str:
    return value[1:-1] if value.startswith('"') and value.endswith('"') else value


def _variables() -> dict[str, Any]:
    parsed = hcl2.loads((WAREHOUSE_TF / "variables.tf").read_text())
    found: dict[str, Any] = {}
    for block in parsed["variable"]:
        for name, spec in block.items():
            if "default" in spec:
                found[_unquote(name)] = spec["default"]
    return found


_OPS = {ast.Mult: operator.mul, ast.Add: operator.add, ast.Sub: operator.sub}


def _arithmetic(text: str, variables: dict[str, Any]) -> int:
    """Terraform arithmetic over variables (``var.x * 24 * 1000``): the only kind main.tf uses."""
    expr = re.sub(r"var\.(\w+)", lambda m: str(int(variables[m.group(1)])), text)

    def value(node: ast.AST) -> int:
        if isinstance(node, ast.Constant) and isinstance(node.value, int):
            return node.value
        if isinstance(node, ast.BinOp) and type(node.op) in _OPS:
            return int(_OPS[type(node.op)](value(node.left), value(node.right)))
        raise ValueError(f"unsupported Terraform expression: {text}")

    return value(ast.parse(expr, mode="eval").body)


def _expression(value: Any) -> str:
    text = str(value)
    return text[2:-1] if text.startswith("${") and text.endswith("}") else text


def terraform_events_table(table_id: str) -> Any:
    """A ``bigquery.Table`` with exactly what infra/warehouse/main.tf sets on the events table."""
    from google.cloud import bigquery

    parsed = hcl2.loads((WAREHOUSE_TF / "main.tf").read_text())
    variables = _variables()
    local_exprs: dict[str, str] = {}
    for block in parsed["locals"]:
        local_exprs.update({k: _expression(v) for k, v in block.items() if k != "__is_block__"})
    resource = next(
        r['"google_bigquery_table"']['"events"']
        for r in parsed["resource"]
        if '"google_bigquery_table"' in r and '"events"' in r['"google_bigquery_table"']
    )
    assert _expression(resource["schema"]) == "jsonencode(local.events_schema)"
    fields = json.loads(SCHEMA_JSON.read_text())
    table = bigquery.Table(table_id, schema=[bigquery.SchemaField.from_api_repr(f) for f in fields])
    partitioning = resource["time_partitioning"][0]
    expiration = _expression(partitioning["expiration_ms"])
    if expiration.startswith("local."):
        expiration = local_exprs[expiration.removeprefix("local.")]
    table.time_partitioning = bigquery.TimePartitioning(
        type_=_unquote(partitioning["type"]),
        field=_unquote(partitioning["field"]),
        expiration_ms=_arithmetic(expiration, variables),
    )
    table.clustering_fields = [_unquote(c) for c in resource["clustering"]]
    table.require_partition_filter = bool(resource["require_partition_filter"])
    return table


def create_events_table(client: Any, project: str, dataset: str, table: str = "events") -> str:
    """The dataset and Terraform's events table, made as Terraform would (the functions never
    create them); answers the table id. bqemulator drops the table-level
    ``require_partition_filter``, so the deprecated copy inside timePartitioning is set too (the
    service honours both; the sink's check reads either)."""
    from google.cloud import bigquery

    client.create_dataset(f"{project}.{dataset}")
    events = terraform_events_table(f"{project}.{dataset}.{table}")
    partitioning = events.time_partitioning.to_api_repr()
    partitioning["requirePartitionFilter"] = events.require_partition_filter
    events.time_partitioning = bigquery.TimePartitioning.from_api_repr(partitioning)
    client.create_table(events)
    return f"{project}.{dataset}.{table}"


# -- the service's rules the emulator does not enforce ----------------------------------------


def _prunes(where: exp.Expression | None, column: str) -> bool:
    """Whether a WHERE clause has a top-level (AND-ed) comparison on the partitioning column."""
    if where is None:
        return False
    conjuncts = list(where.flatten()) if isinstance(where, exp.And) else [where]
    comparisons = (exp.Between, exp.LT, exp.LTE, exp.GT, exp.GTE, exp.EQ)
    return any(
        isinstance(c, comparisons) and any(col.name == column for col in c.find_all(exp.Column))
        for c in conjuncts
    )


def partition_filter_violations(sql: str, tables: dict[str, str]) -> list[str]:
    """The tables of ``tables`` (table id -> partitioning column) that ``sql`` reads or changes
    without a filter usable for partition elimination."""
    violations = []
    for statement in sqlglot.parse(sql, read="bigquery"):
        if statement is None:
            continue
        for table in statement.find_all(exp.Table):
            name = ".".join(p for p in (table.catalog, table.db, table.name) if p)
            column = tables.get(name)
            if column is None:
                continue
            scope = table.find_ancestor(exp.Select, exp.Delete, exp.Update)
            where = scope.args.get("where") if scope is not None else None
            condition = where.this if isinstance(where, exp.Where) else None
            if not _prunes(condition, column):
                violations.append(name)
    return violations


class PartitionFilterEnforcingClient:
    """A thin wrapper of ``bigquery.Client`` that refuses, as the service does, a query or DML on a
    table created with ``require_partition_filter`` that lacks a partition filter, and keeps the
    option the emulator drops (``get_table`` answers it as created). Everything else passes."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self.required: dict[str, str] = {}  # table id -> partitioning column
        self.refused: list[str] = []
        self.queries: list[str] = []  # every statement sent, in order

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def create_table(self, table: Any, *args: Any, **kwargs: Any) -> Any:
        created = self._client.create_table(table, *args, **kwargs)
        if table.require_partition_filter and table.time_partitioning is not None:
            self.required[_full(table)] = str(table.time_partitioning.field)
        return created

    def get_table(self, table: Any, *args: Any, **kwargs: Any) -> Any:
        found = self._client.get_table(table, *args, **kwargs)
        if _full(found) in self.required:
            found.require_partition_filter = True
        return found

    def query(self, query: str, *args: Any, **kwargs: Any) -> Any:
        self.queries.append(query)
        violations = partition_filter_violations(query, self.required)
        if violations:
            self.refused.append(query)
            raise gexc.BadRequest(
                f"Cannot query over table '{violations[0]}' without a filter over column(s) "
                f"'{self.required[violations[0]]}' that can be used for partition elimination",
                errors=[{"reason": "invalidQuery"}],
            )
        return self._client.query(query, *args, **kwargs)


class NoCreateClient(PartitionFilterEnforcingClient):
    """The deployed functions' view: their service account may not create datasets or tables
    (BigQuery checks ``bigquery.datasets.create`` before it looks whether the dataset exists)."""

    def create_dataset(self, *args: Any, **kwargs: Any) -> Any:
        raise gexc.Forbidden("Access Denied: bigquery.datasets.create")

    def create_table(self, *args: Any, **kwargs: Any) -> Any:
        raise gexc.Forbidden("Access Denied: Dataset: bigquery.tables.create")


def _full(table: Any) -> str:
    return f"{table.project}.{table.dataset_id}.{table.table_id}"


# -- data -------------------------------------------------------------------------------------


def warehouse_batch(
    count: int,
    *,
    occurred_at: datetime | None = None,
    user_id: str = "user_a",
    event_ids: Sequence[str] | None = None,
) -> pa.Table:
    """A pipeline batch (schema ``batch_arrow_schema``) of ``count`` user.login events."""
    now = occurred_at or datetime.now(UTC) - timedelta(minutes=5)
    ids = list(event_ids) if event_ids is not None else [str(uuid.uuid4()) for _ in range(count)]
    columns: dict[str, list[Any]] = {name: [None] * count for name in schema.batch_column_names()}
    columns.update(
        event_id=ids,
        event_type=["user.login"] * count,
        event_category=["user_activity"] * count,
        schema_version=[1] * count,
        user_id=[user_id] * count,
        session_id=["s1"] * count,
        occurred_at=[now] * count,
        received_at=[now] * count,
        event_data=['{"method": "password", "success": true}'] * count,
        metadata=['{"source": "test"}'] * count,
        device_type=["desktop"] * count,
    )
    return pa.table(columns, schema=schema.batch_arrow_schema())


# "Time-unit column partitioning: you can stream data into a table partitioned on a DATE,
# DATETIME, or TIMESTAMP column that is between 10 years in the past and 1 year in the future.
# Data outside this range is rejected." (https://cloud.google.com/bigquery/docs/write-api). The
# emulator accepts any value; the service answers the request with per-row errors and appends
# none of its rows.
SERVICE_WINDOW_PAST = timedelta(days=3652)
SERVICE_WINDOW_FUTURE = timedelta(days=365)


class StreamWindowEnforcingWriteClient:
    """A thin wrapper of ``BigQueryWriteClient`` that refuses, as the service does, an AppendRows
    request holding rows whose partition column is outside the streaming window: the request's
    rows are not appended (an empty batch goes to the emulator at the same offset) and its answer
    carries one ``row_errors`` entry per refused row."""

    def __init__(self, client: Any, column: str = "occurred_at") -> None:
        self._client = client
        self.column = column
        self.refused_rows = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def append_rows(self, requests: Any, **kwargs: Any) -> Any:
        import queue

        verdicts: queue.Queue[dict[int, str]] = queue.Queue()
        schema_bytes: list[bytes] = []

        def checked() -> Any:
            for request in requests:
                written = bytes(request.arrow_rows.writer_schema.serialized_schema)
                if written:
                    schema_bytes[:] = [written]
                bad: dict[int, str] = {}
                payload = bytes(request.arrow_rows.rows.serialized_record_batch)
                if schema_bytes and payload:
                    arrow_schema = pa.ipc.read_schema(pa.py_buffer(schema_bytes[0]))
                    batch = pa.ipc.read_record_batch(pa.py_buffer(payload), arrow_schema)
                    now = datetime.now(UTC)
                    lo, hi = now - SERVICE_WINDOW_PAST, now + SERVICE_WINDOW_FUTURE
                    for i, at in enumerate(batch.column(self.column).to_pylist()):
                        if at is not None and not lo <= at <= hi:
                            bad[i] = f"{self.column} {at.isoformat()} is outside the partitions "
                            bad[i] += "the Storage Write API accepts (10 years past, 1 year future)"
                    if bad:
                        empty = pa.RecordBatch.from_pylist([], schema=arrow_schema)
                        request.arrow_rows.rows.serialized_record_batch = (
                            empty.serialize().to_pybytes()
                        )
                        self.refused_rows += len(bad)
                verdicts.put(bad)
                yield request

        return _Answers(self._client.append_rows(checked(), **kwargs), verdicts)


class _Answers:
    """The AppendRows response stream with refused requests' answers replaced."""

    def __init__(self, call: Any, verdicts: Any) -> None:
        self._call = call
        self._verdicts = verdicts

    def __getattr__(self, name: str) -> Any:
        return getattr(self._call, name)

    def __iter__(self) -> _Answers:
        return self

    def __next__(self) -> Any:
        from google.cloud.bigquery_storage_v1 import types
        from google.rpc import code_pb2, status_pb2

        response = next(self._call)
        bad = self._verdicts.get_nowait()
        if not bad:
            return response
        return types.AppendRowsResponse(
            write_stream=response.write_stream,
            error=status_pb2.Status(
                code=code_pb2.INVALID_ARGUMENT, message="Rows are outside the allowed partitions"
            ),
            row_errors=[
                types.RowError(index=i, code=types.RowError.RowErrorCode.FIELDS_ERROR, message=m)
                for i, m in bad.items()
            ],
        )
