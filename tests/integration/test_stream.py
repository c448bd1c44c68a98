"""Streaming against a real Postgres and the real DuckDB warehouse: claim, enrich, write, ack."""

from __future__ import annotations

import pytest

from platform_events.config import Settings, load_settings
from platform_events.db import Conn
from platform_events.pipeline import stream
from tests.integration.streaming import emit_bulk, statuses, warehouse


def test_stream_delivers_every_pending_event_once_and_reports_counts(
    settings: Settings, conn: Conn
) -> None:
    ids = emit_bulk(conn, 2500)
    answer = stream.run(stream.StreamRequest(batch_size=1000), settings)
    assert answer["claimed"] == 2500 and answer["delivered"] == 2500 and answer["failed"] == 0
    assert answer["batches"] == 3 and answer["duration_ms"] > 0
    assert statuses(conn) == {"delivered": 2500}
    rows = warehouse(settings, "SELECT count(*) AS n, count(DISTINCT event_id) AS d FROM events")
    assert rows == [{"n": 2500, "d": 2500}]
    stored = {r["event_id"] for r in warehouse(settings, "SELECT event_id FROM events")}
    assert stored == set(ids)


def test_stream_records_each_batch_in_warehouse_sync_status(settings: Settings, conn: Conn) -> None:
    emit_bulk(conn, 1200)
    stream.run(stream.StreamRequest(batch_size=500), settings)
    syncs = conn.execute(
        "SELECT batch_id::text AS batch_id, warehouse_type, events_synced, status, batch_start "
        "FROM warehouse_sync_status ORDER BY started_at"
    ).fetchall()
    assert [s["events_synced"] for s in syncs] == [500, 500, 200]
    assert {s["status"] for s in syncs} == {"success"} and syncs[0]["batch_start"] is not None
    load_ids = {r["load_id"] for r in warehouse(settings, "SELECT DISTINCT load_id FROM events")}
    assert load_ids == {s["batch_id"] for s in syncs}  # the load id is the delivery batch


def test_stream_updates_realtime_counters_per_event_type(settings: Settings, conn: Conn) -> None:
    emit_bulk(conn, 300)
    stream.run(stream.StreamRequest(), settings)
    rows = conn.execute(
        "SELECT dimensions, metric_value FROM platform_metrics_realtime "
        "WHERE metric_name = 'events_delivered'"
    ).fetchall()
    values = {str(r["dimensions"]): r["metric_value"] for r in rows}
    assert values == {"{}": 300.0, "{'event_type': 'user.login'}": 300.0}


def test_stream_with_an_empty_backlog_does_nothing(settings: Settings) -> None:
    answer = stream.run(stream.StreamRequest(), settings)
    assert (answer["claimed"], answer["delivered"], answer["batches"]) == (0, 0, 0)


def test_stream_stops_after_max_batches_leaving_the_rest_pending(
    settings: Settings, conn: Conn
) -> None:
    emit_bulk(conn, 1000)
    answer = stream.run(stream.StreamRequest(batch_size=100, max_batches=2), settings)
    assert answer["delivered"] == 200
    assert statuses(conn) == {"delivered": 200, "pending": 800}


def test_streaming_again_after_a_reprocess_replaces_rows_without_duplicates(
    settings: Settings, conn: Conn
) -> None:
    emit_bulk(conn, 400)
    stream.run(stream.StreamRequest(), settings)
    conn.execute("UPDATE platform_event_delivery SET status = 'pending', next_attempt_at = now()")
    again = stream.run(stream.StreamRequest(), settings)
    assert again["delivered"] == 400
    rows = warehouse(settings, "SELECT count(*) AS n, count(DISTINCT event_id) AS d FROM events")
    assert rows == [{"n": 400, "d": 400}]


def test_stream_entry_point_rejects_unknown_fields(settings: Settings) -> None:
    from platform_events import web

    response = web.run_job(
        stream.StreamRequest, stream.run, b'{"batch": 5}', "application/json", settings=settings
    )
    assert response.status == 400 and response.body["error"]["field"] == "batch"


@pytest.mark.parametrize("batch_size", [0, 50_001])
def test_stream_entry_point_rejects_out_of_range_batch_sizes(
    settings: Settings, batch_size: int
) -> None:
    from platform_events import web

    body = f'{{"batch_size": {batch_size}}}'.encode()
    response = web.run_job(stream.StreamRequest, stream.run, body, None, settings=settings)
    assert response.status == 400 and response.body["error"]["field"] == "batch_size"


def test_settings_default_batch_is_at_least_500() -> None:
    assert load_settings().stream_batch_size >= 500


def test_a_lookup_failure_gives_back_every_claimed_batch_unspent_and_raises(
    settings: Settings, conn: Conn, monkeypatch: pytest.MonkeyPatch
) -> None:
    emit_bulk(conn, 2000)
    real, calls = stream.store.session_facts, []

    def fail_on_the_second_batch(*args: object, **kwargs: object) -> object:
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("session lookup failed")
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(stream.store, "session_facts", fail_on_the_second_batch)
    with pytest.raises(RuntimeError, match="session lookup failed"):
        stream.run(stream.StreamRequest(batch_size=200), settings)
    held = statuses(conn)
    # Nothing is left leased until the lease runs out: the first batch was delivered (or given
    # back had the failure overtaken it), the failed one and those claimed ahead were given back
    # in their batches (still processing in the ledger, no attempt spent, due at once).
    assert sum(held.values()) == 2000 and 0 < held["processing"] <= 1800
    assert held.get("delivered", 0) in (0, 200)
    leases = conn.execute(
        "SELECT count(*) AS n, count(*) FILTER (WHERE holder IS NULL AND lease_expires_at <= now())"
        " AS given_back FROM platform_event_delivery_batches"
    ).fetchone()
    assert leases is not None and leases["n"] == leases["given_back"] == held["processing"] // 200
    retries = conn.execute("SELECT max(retry_count) AS r FROM platform_event_delivery").fetchone()
    assert retries == {"r": 0}
    rows = warehouse(settings, "SELECT count(*) AS n FROM events")
    assert rows == [{"n": held.get("delivered", 0)}]

    monkeypatch.setattr(stream.store, "session_facts", real)
    again = stream.run(stream.StreamRequest(batch_size=200), settings)
    assert again["delivered"] == 2000 - held.get("delivered", 0)
    assert statuses(conn) == {"delivered": 2000}
