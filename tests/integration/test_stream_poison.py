"""Poison events planted past validation (direct SQL as the pipeline role, rows from before a
rule existed): each fails on its own with its own error, in whatever stage it breaks, and every
good event of the same batches of 1,000 is delivered exactly once in one run."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import psycopg
import pyarrow as pa
import pytest
from psycopg.rows import dict_row

from platform_events.config import Settings
from platform_events.db import Conn
from platform_events.pipeline import stream
from platform_events.sinks import RowsRejected
from platform_events.sinks.base import WriteCheckpoint
from platform_events.sinks.duckdb import DuckDBSink
from tests.builders import plant
from tests.integration.streaming import FlakySink, emit_bulk, warehouse

# BigQuery's JSON type "has a nesting limit of 500"
# (https://cloud.google.com/bigquery/docs/json-data#limitations); DuckDB has none.
BIGQUERY_JSON_NESTING_LIMIT = 500


def _depth(value: Any) -> int:
    """Nesting depth of a JSON value (iterative: payloads nest deeper than Python recurses)."""
    deepest, stack = 0, [(value, 0)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict | list):
            deepest = max(deepest, level + 1)
            stack.extend(
                (v, level + 1) for v in (item.values() if isinstance(item, dict) else item)
            )
    return deepest


class BigQueryJsonNestingRule(FlakySink):
    """DuckDB held to BigQuery's documented JSON nesting limit: rows past it are refused by
    name, as the Storage Write API's per-row errors name them."""

    def write(
        self,
        batch: pa.Table,
        load_id: str | None = None,
        checkpoint: WriteCheckpoint | None = None,
    ) -> str:
        self.calls += 1
        refused: dict[str, str] = {}
        for event_id, data, meta in zip(
            batch.column("event_id").to_pylist(),
            batch.column("event_data").to_pylist(),
            batch.column("metadata").to_pylist(),
            strict=True,
        ):
            depth = max(_depth(json.loads(data)), _depth(json.loads(meta)))
            if depth > BIGQUERY_JSON_NESTING_LIMIT:
                refused[event_id] = f"JSON nesting {depth} exceeds {BIGQUERY_JSON_NESTING_LIMIT}"
        if refused:
            raise RowsRejected(f"{len(refused)} rows refused", rows=refused)
        return self.inner.write(batch, load_id, checkpoint)


@pytest.fixture
def pipeline(database_url: str) -> Iterator[Conn]:
    """A connection acting as platform_events_pipeline (what a stray script could run)."""
    with psycopg.connect(database_url, autocommit=True, row_factory=dict_row) as connection:
        connection.execute("SET ROLE platform_events_pipeline")
        yield connection


def _deep(levels: int) -> str:
    return '{"a": ' + "[" * levels + "]" * levels + "}"


def _rows(conn: Conn, ids: Sequence[str]) -> Mapping[str, dict[str, Any]]:
    rows = conn.execute(
        "SELECT event_id::text AS id, status, last_error FROM platform_event_delivery "
        "WHERE event_id = ANY(%s::uuid[])",
        (list(ids),),
    ).fetchall()
    return {str(r["id"]): r for r in rows}


def test_planted_poison_fails_alone_and_every_good_event_is_delivered_once_in_one_run(
    settings: Settings, conn: Conn, pipeline: Conn
) -> None:
    good = emit_bulk(conn, 2500, sessions=5)
    # Due among the good ones (the ledger's next_attempt_at orders the claim), so each batch of
    # 1,000 holds good and poison events together.
    poison = {
        "year 10000": plant(pipeline, occurred_at="10000-01-01 00:00:00+00"),
        "-infinity, in a good session": plant(
            pipeline, occurred_at="-infinity", session_id="session_1"
        ),
        "received in infinity": plant(pipeline, received_at="infinity"),
        "event_data an array": plant(pipeline, event_data="[1, 2]"),
        "metadata a string": plant(pipeline, metadata='"not an object"'),
        "too deep for BigQuery": plant(pipeline, event_data=_deep(600)),
        "no event row": plant(pipeline, event_row=False),
    }
    expected_error = {
        "year 10000": "occurred_at 10000-01-01",
        "-infinity, in a good session": "occurred_at -infinity",
        "received in infinity": "received_at infinity",
        "event_data an array": "event_data is a JSON array",
        "metadata a string": "metadata is a JSON string",
        "too deep for BigQuery": "JSON nesting 601 exceeds 500",
        "no event row": "event row is missing",
    }
    deliverable = [
        # Claimed by the stream before durable batches, never acknowledged: recovered.
        plant(
            pipeline,
            status="processing",
            claimed_at="2000-01-01 00:00:00+00",
            occurred_at="2000-01-01 00:00:00+00",
        ),
        # Odd inner shapes are still an object a warehouse stores.
        plant(pipeline, metadata='{"user_agent": 12345, "geo": "FR", "ip": ["x"]}'),
        plant(pipeline, occurred_at="0001-01-01 00:00:00+00"),
        plant(pipeline, occurred_at="9999-12-31 23:59:59.999999+00"),
    ]
    conn.execute(
        "UPDATE platform_event_delivery SET next_attempt_at = now() - random() * interval '1 hour' "
        "WHERE status = 'pending'"
    )
    fast = settings.model_copy(
        update={"stream_release_backoff_seconds": 0.0, "stream_retry_initial_seconds": 0.0}
    )
    sink = BigQueryJsonNestingRule(DuckDBSink.from_settings(fast), 0)
    answer = stream.stream(fast, sink=sink, batch_size=1000)
    sink.close()

    rows = _rows(conn, list(poison.values()))
    for kind, event_id in poison.items():
        assert rows[event_id]["status"] == "failed", (kind, rows[event_id])
        assert expected_error[kind] in str(rows[event_id]["last_error"]), kind
    delivered = [*good, *deliverable]
    states = _rows(conn, delivered)
    assert {r["status"] for r in states.values()} == {"delivered"}
    stored = warehouse(fast, "SELECT event_id, count(*) AS n FROM events GROUP BY event_id")
    assert {r["event_id"] for r in stored} == set(delivered)
    assert {r["n"] for r in stored} == {1}
    assert answer["delivered"] == len(delivered)
    # The good events of the poisoned session kept their session facts.
    first_seen = warehouse(
        fast,
        "SELECT count(*) AS n FROM events WHERE session_id = 'session_1' "
        "AND session_first_seen_at IS NOT NULL",
    )
    assert first_seen == [{"n": 500}]
