"""BigQuery sink with the official clients (BigQuery REST, Storage Write gRPC) against bqemulator.

The events table is created from Terraform's own definition (infra/warehouse/main.tf, parsed), and
the BigQuery client is wrapped so it refuses, as the service does, any statement without a
partition filter (the emulator does not): see tests/integration/bigquery_support.py.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pyarrow as pa
import pytest

from platform_events.config import Settings
from platform_events.db import Conn
from platform_events.errors import RowsRejected, SinkMisconfigured, SinkUnavailable
from platform_events.jobs import gdpr, reprocess
from platform_events.pipeline import stream
from platform_events.sinks import get_sink
from platform_events.sinks.bigquery import BigQuerySink
from platform_events.sinks.checkpoints import InMemoryCheckpoint
from tests.builders import emit
from tests.integration.bigquery_support import (
    PartitionFilterEnforcingClient,
    StreamWindowEnforcingWriteClient,
    partition_filter_violations,
    terraform_events_table,
    warehouse_batch,
)
from tests.integration.conftest import BigQueryEmulator
from tests.integration.streaming import emit_bulk, make_due, statuses

PROJECT = "test-project"


def _sink(settings: Settings) -> BigQuerySink:
    sink = get_sink(settings)
    assert isinstance(sink, BigQuerySink)
    return sink


def _rows(
    sink: BigQuerySink, where: str = "TRUE", select: str = "event_id"
) -> list[dict[str, Any]]:
    lo, hi = "TIMESTAMP '2000-01-01'", "TIMESTAMP '2100-01-01'"
    statement = (
        f"SELECT {select} FROM `{sink.table_id}` "
        f"WHERE occurred_at BETWEEN {lo} AND {hi} AND ({where})"
    )
    return [dict(r.items()) for r in sink.client.query(statement).result()]


def _counts(sink: BigQuerySink) -> dict[str, int]:
    return _rows(sink, select="count(*) AS n, count(DISTINCT event_id) AS d")[0]


def test_the_enforcing_wrapper_refuses_what_bigquery_refuses_on_a_partition_filtered_table() -> (
    None
):
    tables = {"p.d.events": "occurred_at"}
    assert partition_filter_violations("SELECT * FROM `p.d.events`", tables) == ["p.d.events"]
    assert partition_filter_violations(
        "DELETE FROM `p.d.events` WHERE event_id IN UNNEST(@ids)", tables
    ) == ["p.d.events"]
    assert partition_filter_violations(
        "SELECT 1 FROM `p.d.events` WHERE user_id = 'u' OR occurred_at > @t", tables
    ) == ["p.d.events"]
    assert (
        partition_filter_violations(
            "UPDATE `p.d.events` T SET user_id = NULL FROM UNNEST(@rows) AS S "
            "WHERE T.event_id = S.event_id AND T.occurred_at BETWEEN @lo AND @hi",
            tables,
        )
        == []
    )


def test_the_table_terraform_defines_passes_the_sinks_check_and_nothing_is_created(
    bq_settings: Settings, enforcing: PartitionFilterEnforcingClient
) -> None:
    sink = _sink(bq_settings)
    sink.ensure_table()  # would 403 on create_dataset/create_table (NoCreateClient)
    table = sink.client.get_table(sink.table_id)
    assert table.time_partitioning.field == "occurred_at"
    assert table.time_partitioning.expiration_ms == 2557 * 24 * 3600 * 1000
    assert table.clustering_fields == ["event_type", "user_id"]
    assert table.require_partition_filter is True


def test_a_table_that_differs_from_terraforms_stops_the_sink_saying_what_to_fix(
    bq_settings: Settings, bigquery_emulator: BigQueryEmulator
) -> None:
    from google.cloud import bigquery

    sink = _sink(bq_settings)
    with pytest.raises(SinkMisconfigured, match="terraform apply"):
        sink.ensure_table()  # no dataset, no table
    sink.client.create_dataset(f"{PROJECT}.{bq_settings.bigquery_dataset_id}")
    table = terraform_events_table(sink.table_id)
    table.clustering_fields = None
    table.time_partitioning = bigquery.TimePartitioning(field="received_at")
    sink.client.create_table(table)
    with pytest.raises(SinkMisconfigured) as caught:
        sink.ensure_table()
    assert "partitioning must be DAY on occurred_at" in str(caught.value)
    assert "clustering must be event_type, user_id" in str(caught.value)
    assert "require_partition_filter must be true" in str(caught.value)


def test_streaming_to_bigquery_writes_each_event_once_without_any_dml(
    bq_settings: Settings, conn: Conn, enforcing: PartitionFilterEnforcingClient
) -> None:
    ids = emit_bulk(conn, 600)
    first = stream.run(stream.StreamRequest(batch_size=250), bq_settings)
    assert first["delivered"] == 600 and first["batches"] == 3
    assert statuses(conn) == {"delivered": 600}
    assert enforcing.queries == []  # steady-state delivery: Storage Write API only
    sink = _sink(bq_settings)
    assert _counts(sink) == {"n": 600, "d": 600}
    assert {r["event_id"] for r in _rows(sink)} == set(ids)


def test_a_batch_written_again_with_its_checkpoint_is_not_written_twice(
    bq_settings: Settings, enforcing: PartitionFilterEnforcingClient
) -> None:
    sink = _sink(bq_settings)
    batch = warehouse_batch(40)
    checkpoint = InMemoryCheckpoint()
    load_id = str(uuid.uuid4())
    assert sink.write(batch, load_id, checkpoint) == load_id
    assert sink.write(batch, load_id, checkpoint) == load_id  # e.g. the acknowledgement failed
    assert _counts(sink) == {"n": 40, "d": 40}
    assert {r["load_id"] for r in _rows(sink, select="DISTINCT load_id")} == {load_id}


def test_reprocessing_a_delivered_range_leaves_each_event_once(
    bq_settings: Settings, conn: Conn, enforcing: PartitionFilterEnforcingClient
) -> None:
    ids = emit_bulk(conn, 300)
    stream.run(stream.StreamRequest(batch_size=100), bq_settings)
    now = datetime.now(UTC)
    done = reprocess.run(
        reprocess.ReprocessRequest.model_validate(
            {"from": now - timedelta(hours=1), "to": now + timedelta(hours=1), "reaggregate": False}
        ),
        bq_settings,
    )
    assert done["requeued"] == 300
    again = stream.run(stream.StreamRequest(batch_size=120), bq_settings)  # other boundaries
    assert again["delivered"] == 300
    sink = _sink(bq_settings)
    assert _counts(sink) == {"n": 300, "d": 300}
    assert {r["event_id"] for r in _rows(sink)} == set(ids)
    assert any(q.startswith("DELETE") and "occurred_at BETWEEN" in q for q in enforcing.queries)


def test_bigquery_rows_keep_json_payloads_and_enrichment(
    bq_settings: Settings, conn: Conn, enforcing: PartitionFilterEnforcingClient
) -> None:
    emit_bulk(conn, 10, sessions=1)
    stream.run(stream.StreamRequest(), bq_settings)
    rows = _rows(
        _sink(bq_settings),
        select="TO_JSON_STRING(event_data) AS data, session_event_index, device_type",
    )
    rows.sort(key=lambda r: r["session_event_index"])
    assert [r["session_event_index"] for r in rows] == list(range(1, 11))
    assert json.loads(rows[0]["data"]) == {"method": "password", "success": True}
    assert {r["device_type"] for r in rows} == {"desktop", "mobile"}


def test_erasure_clears_the_users_rows_in_bigquery_within_their_span_from_postgres(
    bq_settings: Settings, conn: Conn, enforcing: PartitionFilterEnforcingClient
) -> None:
    emit_bulk(conn, 40, users=4)
    stream.run(stream.StreamRequest(), bq_settings)
    done = gdpr.erase_user(bq_settings, "user_1", source="api", requested_by="test")
    assert done["warehouse_events"] == 10
    sink = _sink(bq_settings)
    assert _rows(sink, "user_id = 'user_1'", "count(*) AS n") == [{"n": 0}]
    assert _rows(sink, "user_id IS NULL", "count(*) AS n") == [{"n": 10}]
    assert (
        gdpr.erase_user(bq_settings, "nobody", source="api", requested_by="test")[
            "warehouse_events"
        ]
        == 0
    )


def test_bigquery_retention_and_event_deletion_carry_partition_filters(
    bq_settings: Settings, conn: Conn, enforcing: PartitionFilterEnforcingClient
) -> None:
    ids = emit_bulk(conn, 30)
    stream.run(stream.StreamRequest(), bq_settings)
    sink = _sink(bq_settings)
    now = datetime.now(UTC)
    span = (now - timedelta(hours=1), now + timedelta(hours=1))
    assert sink.delete_events(ids[:5], span=span) == 5
    with pytest.raises(ValueError, match="span"):
        sink.delete_events(ids[5:6])
    assert sink.delete_expired({"user.login": timedelta(days=1)}) == 0
    assert sink.delete_expired({"user.login": timedelta(seconds=-60)}) == 25


def test_events_outside_the_streaming_window_are_named_and_the_rest_written(
    bq_settings: Settings, enforcing: PartitionFilterEnforcingClient
) -> None:
    sink = _sink(bq_settings)
    old = warehouse_batch(1, occurred_at=datetime.now(UTC) - timedelta(days=11 * 365))
    good = warehouse_batch(3)
    with pytest.raises(RowsRejected) as caught:
        sink.write(pa.concat_tables([good, old]), "load-1", InMemoryCheckpoint())
    old_id = old.column("event_id")[0].as_py()
    assert list(caught.value.rows) == [old_id]
    assert "partition window" in caught.value.rows[old_id]
    assert "load job" in caught.value.rows[old_id]
    assert _counts(sink)["n"] == 0  # nothing half-written
    sink.write(good, "load-1", InMemoryCheckpoint())
    assert _counts(sink) == {"n": 3, "d": 3}


def test_rows_the_service_refuses_for_their_partition_are_named_even_past_a_skewed_clock(
    bq_settings: Settings, enforcing: PartitionFilterEnforcingClient
) -> None:
    sink = _sink(bq_settings)
    now = datetime.now(UTC)
    sink.clock = lambda: now - timedelta(days=365)  # this worker's clock is a year behind
    old = warehouse_batch(1, occurred_at=now - timedelta(days=3652 + 180))
    good = warehouse_batch(5)
    with pytest.raises(RowsRejected) as caught:
        sink.write(pa.concat_tables([good, old]), "load-2", InMemoryCheckpoint())
    old_id = old.column("event_id")[0].as_py()
    assert list(caught.value.rows) == [old_id]  # named by the service's row_errors
    assert "outside the partitions" in caught.value.rows[old_id]
    assert isinstance(sink.write_api.client, StreamWindowEnforcingWriteClient)
    assert sink.write_api.client.refused_rows == 1
    assert _counts(sink)["n"] == 0
    sink.write(good, "load-2", InMemoryCheckpoint())
    assert _counts(sink) == {"n": 5, "d": 5}


def test_streamed_events_outside_the_window_end_failed_with_the_reason_and_never_stall_the_rest(
    bq_settings: Settings, conn: Conn, enforcing: PartitionFilterEnforcingClient
) -> None:
    good = emit_bulk(conn, 40)
    ancient = [
        str(emit(conn, "user.login", occurred_at=datetime.now(UTC) - timedelta(days=11 * 365)))
        for _ in range(2)
    ]
    for _ in range(bq_settings.max_retries):
        stream.run(stream.StreamRequest(batch_size=50), bq_settings)
        make_due(conn)
    assert statuses(conn) == {"delivered": 40, "failed": 2}
    errors = conn.execute(
        "SELECT event_id::text AS id, last_error FROM platform_event_delivery "
        "WHERE status = 'failed'"
    ).fetchall()
    assert sorted(r["id"] for r in errors) == sorted(ancient)
    assert all("partition window" in str(r["last_error"]) for r in errors)
    sink = _sink(bq_settings)
    assert {r["event_id"] for r in _rows(sink)} == set(good)


def test_a_reprocess_whose_bigquery_delete_fails_puts_nothing_back_to_pending(
    bq_settings: Settings,
    conn: Conn,
    enforcing: PartitionFilterEnforcingClient,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    emit_bulk(conn, 50)
    stream.run(stream.StreamRequest(), bq_settings)

    def unavailable(self: BigQuerySink, *args: Any, **kwargs: Any) -> int:
        raise SinkUnavailable("BigQuery: 503 backend unavailable")

    monkeypatch.setattr(BigQuerySink, "delete_events", unavailable)
    now = datetime.now(UTC)
    request = reprocess.ReprocessRequest.model_validate(
        {"from": now - timedelta(hours=1), "to": now + timedelta(hours=1), "reaggregate": False}
    )
    with pytest.raises(SinkUnavailable):
        reprocess.run(request, bq_settings)
    assert statuses(conn) == {"delivered": 50}  # the requeue rolled back with the failed delete
    assert _counts(_sink(bq_settings)) == {"n": 50, "d": 50}
