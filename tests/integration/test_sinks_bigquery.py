"""BigQuery sink with the real google-cloud-bigquery client against bqemulator.

The emulator does not dedupe insertIds or honour job ids, so these tests prove the sink's own
idempotency design (per-batch staging table + MERGE by event_id), not the emulator's.
"""

from __future__ import annotations

import json
import uuid
from datetime import timedelta
from typing import Any

import pytest

from platform_events.config import Settings
from platform_events.db import Conn
from platform_events.pipeline import stream
from platform_events.sinks import get_sink
from platform_events.sinks.bigquery import BigQuerySink, merge_sql
from tests.integration.streaming import emit_bulk, statuses


@pytest.fixture
def bq_settings(settings: Settings, bigquery_endpoint: str) -> Settings:
    return settings.model_copy(
        update={
            "warehouse": "bigquery",
            "bigquery_project_id": "test-project",
            "bigquery_dataset_id": f"pe_{uuid.uuid4().hex[:10]}",
            "bigquery_api_endpoint": bigquery_endpoint,
        }
    )


def _rows(sink: BigQuerySink, sql: str) -> list[dict[str, Any]]:
    return [dict(r.items()) for r in sink.client.query(sql.format(t=sink.table_id)).result()]


def test_the_table_is_created_partitioned_by_day_on_occurred_at_and_clustered(
    bq_settings: Settings,
) -> None:
    sink = get_sink(bq_settings)
    assert isinstance(sink, BigQuerySink)
    sink.ensure_table()
    sink.ensure_table()  # idempotent
    table = sink.client.get_table(sink.table_id)
    assert [f.name for f in table.schema][:2] == ["event_id", "event_type"]
    assert table.time_partitioning.field == "occurred_at"
    assert table.clustering_fields == ["event_type", "user_id"]


def test_streaming_to_bigquery_writes_each_event_once_even_when_batches_are_resent(
    bq_settings: Settings, conn: Conn
) -> None:
    ids = emit_bulk(conn, 600)
    first = stream.run(stream.StreamRequest(batch_size=250), bq_settings)
    assert first["delivered"] == 600 and first["batches"] == 3
    conn.execute("UPDATE platform_event_delivery SET status = 'pending', next_attempt_at = now()")
    again = stream.run(stream.StreamRequest(batch_size=400), bq_settings)  # other boundaries
    assert again["delivered"] == 600
    assert statuses(conn) == {"delivered": 600}
    sink = get_sink(bq_settings)
    assert isinstance(sink, BigQuerySink)
    counts = _rows(sink, "SELECT count(*) AS n, count(DISTINCT event_id) AS d FROM `{t}`")
    assert counts == [{"n": 600, "d": 600}]
    stored = {r["event_id"] for r in _rows(sink, "SELECT event_id FROM `{t}`")}
    assert stored == set(ids)
    datasets = [t.table_id for t in sink.client.list_tables(f"test-project.{sink.dataset}")]
    assert datasets == ["events"]  # staging tables dropped


def test_bigquery_rows_keep_json_payloads_and_enrichment(bq_settings: Settings, conn: Conn) -> None:
    emit_bulk(conn, 10, sessions=1)
    stream.run(stream.StreamRequest(), bq_settings)
    sink = get_sink(bq_settings)
    assert isinstance(sink, BigQuerySink)
    rows = _rows(
        sink,
        "SELECT TO_JSON_STRING(event_data) AS data, session_event_index, device_type, browser "
        "FROM `{t}` ORDER BY session_event_index",
    )
    assert [r["session_event_index"] for r in rows] == list(range(1, 11))
    assert json.loads(rows[0]["data"]) == {"method": "password", "success": True}
    assert {r["device_type"] for r in rows} == {"desktop", "mobile"}


def test_bigquery_erase_user_clears_identity_and_scrubs_mentions(
    bq_settings: Settings, conn: Conn
) -> None:
    emit_bulk(conn, 40, users=4)
    stream.run(stream.StreamRequest(), bq_settings)
    sink = get_sink(bq_settings)
    assert sink.erase_user("user_1") == 10
    assert isinstance(sink, BigQuerySink)
    left = _rows(sink, "SELECT count(*) AS n FROM `{t}` WHERE user_id = 'user_1'")
    assert left == [{"n": 0}]
    erased = _rows(sink, "SELECT count(*) AS n FROM `{t}` WHERE user_id IS NULL")
    assert erased == [{"n": 10}]


def test_bigquery_retention_and_event_deletion(bq_settings: Settings, conn: Conn) -> None:
    ids = emit_bulk(conn, 30)
    stream.run(stream.StreamRequest(), bq_settings)
    sink = get_sink(bq_settings)
    assert sink.delete_events(ids[:5]) == 5
    assert sink.delete_expired({"user.login": timedelta(days=1)}) == 0
    assert sink.delete_expired({"user.login": timedelta(seconds=-60)}) == 25


def test_the_merge_statement_is_keyed_by_event_id_and_pruned_by_occurred_at() -> None:
    sql = merge_sql("p.d.events", "p.d.events_staging_x")
    assert "ON T.event_id = S.event_id AND T.occurred_at BETWEEN @lo AND @hi" in sql
    assert "ROW_NUMBER() OVER (PARTITION BY event_id" in sql
