"""Sink failures by kind: an outage of any length and a misconfigured warehouse end with every
event delivered once, none failed and no attempt spent; status shows the outage while it lasts."""

from __future__ import annotations

import logging

import pytest

from platform_events.config import Settings
from platform_events.db import Conn
from platform_events.jobs import status
from platform_events.pipeline import stream
from platform_events.sinks.duckdb import DuckDBSink
from tests.integration.streaming import (
    ManualClock,
    MisconfiguredSink,
    OutageSink,
    advance_database_clock,
    emit_bulk,
    statuses,
    warehouse,
)


def _max_retries(conn: Conn) -> int:
    row = conn.execute("SELECT max(retry_count) AS r FROM platform_event_delivery").fetchone()
    assert row is not None
    return int(row["r"])  # type: ignore[call-overload]


def _counts(settings: Settings) -> tuple[int, int]:
    row = warehouse(settings, "SELECT count(*) AS n, count(DISTINCT event_id) AS d FROM events")[0]
    return int(row["n"]), int(row["d"])


def test_a_ten_minute_outage_ends_with_every_event_delivered_once_and_none_failed(
    settings: Settings, conn: Conn
) -> None:
    ids = emit_bulk(conn, 3000)
    clock = ManualClock()
    tuned = settings.model_copy(
        update={"stream_release_backoff_seconds": 30.0, "stream_hold_max_seconds": 120.0}
    )
    sink = OutageSink(DuckDBSink.from_settings(tuned), clock, until=600.0)
    outage_seen = False
    runs = 0
    # One scheduled invocation a minute (time moved by the test, never slept) for 20 minutes.
    while clock.now < 1200 and statuses(conn) != {"delivered": 3000}:
        answer = stream.stream(tuned, sink=sink, batch_size=500, clock=clock)
        runs += 1
        assert answer["failed"] == 0
        assert "failed" not in statuses(conn) and _max_retries(conn) == 0
        if clock.now < 600:
            assert answer["delivered"] == 0
            health = status.collect(conn)["delivery"]
            assert [s["state"] for s in health["sinks"]] == ["unavailable"]
            assert health["sinks"][0]["failing_since"] is not None
            assert "warehouse unreachable" in health["sinks"][0]["last_error"]
            assert health["batches"]["held"] >= 1 and health["batches"]["held_events"] >= 500
            outage_seen = True
        clock.now = (runs * 60.0) if clock.now < runs * 60.0 else clock.now
        advance_database_clock(conn, 60)
    sink.close()
    assert outage_seen and runs > 10 and sink.calls_while_down >= 2
    assert statuses(conn) == {"delivered": 3000}
    assert _max_retries(conn) == 0
    assert _counts(settings) == (3000, 3000)
    stored = {r["event_id"] for r in warehouse(settings, "SELECT event_id FROM events")}
    assert stored == set(ids)
    # The failing sink was not hammered: runs waited for its retry time instead of calling it.
    assert sink.calls_while_down < 10 * tuned.stream_retry_attempts
    health = status.collect(conn)["delivery"]
    assert [s["state"] for s in health["sinks"]] == ["ok"]
    assert health["batches"] == dict.fromkeys(
        ("leased", "held", "expired", "held_events", "max_attempt"), 0
    )


def test_a_misconfigured_sink_stops_the_run_holds_the_batch_and_says_what_to_fix(
    settings: Settings, conn: Conn, caplog: pytest.LogCaptureFixture
) -> None:
    emit_bulk(conn, 600)
    fast = settings.model_copy(update={"stream_retry_initial_seconds": 0.0})
    sink = MisconfiguredSink(DuckDBSink.from_settings(fast), 0)
    with caplog.at_level(logging.ERROR):
        answer = stream.stream(fast, sink=sink, batch_size=100)
    sink.close()
    assert sink.calls == 1  # not retried: no retry can succeed
    assert answer["delivered"] == 0 and answer["failed"] == 0 and answer["held"] >= 100
    assert answer["sink"]["state"] == "misconfigured"
    assert "run terraform apply" in answer["sink"]["error"]
    assert any("run terraform apply" in str(getattr(r, "fields", {})) for r in caplog.records)
    held = statuses(conn)
    assert "failed" not in held and "delivered" not in held and _max_retries(conn) == 0
    shown = status.collect(conn)["delivery"]["sinks"]
    assert shown[0]["state"] == "misconfigured" and "BIGQUERY_TABLE" in shown[0]["last_error"]
    assert "MISCONFIGURED" in status.render(status.collect(conn))

    # Until its retry time the stream does not call the sink at all.
    again = stream.stream(fast, sink=MisconfiguredSink(DuckDBSink.from_settings(fast), 0))
    assert again["claimed"] == 0 and again["sink"]["state"] == "misconfigured"

    advance_database_clock(conn, 3600)  # the operator fixed the deployment; time passed
    fixed = stream.stream(fast, batch_size=100)
    assert fixed["delivered"] == 600 and "sink" not in fixed
    assert statuses(conn) == {"delivered": 600}
    assert _counts(settings) == (600, 600)
