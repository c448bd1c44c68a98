"""Fenced leases: a worker that lost its batch (slow past the lease, or fenced by an erasure)
can no longer acknowledge, release or write it; the batch's next holder delivers it once."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from platform_events.config import Settings
from platform_events.db import Conn
from platform_events.errors import RowsRejected, SinkUnavailable
from platform_events.jobs import gdpr
from platform_events.pipeline import stream
from platform_events.sinks.duckdb import DuckDBSink
from tests.integration.streaming import (
    GatedSink,
    emit_bulk,
    expire_claims,
    statuses,
    wait_for,
    warehouse,
)


class Worker(threading.Thread):
    """One stream run in a thread (its own connections), its answer kept."""

    def __init__(self, settings: Settings, sink: GatedSink, **options: Any) -> None:
        super().__init__(daemon=True)
        self.settings, self.sink, self.options = settings, sink, options
        self.answer: dict[str, Any] = {}

    def run(self) -> None:
        self.answer = stream.stream(self.settings, sink=self.sink, **self.options)

    def finish(self) -> dict[str, Any]:
        self.join(timeout=120)
        assert not self.is_alive()
        self.sink.close()
        return self.answer


def _fast(settings: Settings) -> Settings:
    return settings.model_copy(
        update={"stream_retry_attempts": 1, "stream_release_backoff_seconds": 0.0}
    )


def _ledger(conn: Conn) -> list[dict[str, object]]:
    return conn.execute(
        "SELECT d.status, d.retry_count, d.batch_id, b.holder, b.attempt "
        "FROM platform_event_delivery d "
        "LEFT JOIN platform_event_delivery_batches b ON b.batch_id = d.batch_id"
    ).fetchall()


def _counts(settings: Settings) -> tuple[int, int]:
    row = warehouse(settings, "SELECT count(*) AS n, count(DISTINCT event_id) AS d FROM events")[0]
    return int(row["n"]), int(row["d"])


@pytest.mark.parametrize("fenced", [True, False], ids=["fencing-sink", "merge-only-sink"])
def test_a_stale_workers_acknowledgement_is_refused_and_the_batch_is_delivered_once(
    settings: Settings, conn: Conn, fenced: bool
) -> None:
    ids = emit_bulk(conn, 300)
    fast = _fast(settings)
    stale = Worker(fast, GatedSink(DuckDBSink.from_settings(fast), fenced=fenced), batch_size=300)
    stale.start()
    wait_for(stale.sink.entered.is_set)  # A holds the batch and is stuck in its write
    batch = conn.execute("SELECT batch_id, holder FROM platform_event_delivery_batches").fetchone()
    assert batch is not None
    expire_claims(conn)  # A's short lease runs out

    taker = stream.stream(fast, batch_size=300)  # B takes the same batch over and delivers it
    assert taker["delivered"] == 300 and taker["claimed"] == 300
    assert {
        r["event_id"] for r in warehouse(fast, "SELECT DISTINCT load_id AS event_id FROM events")
    } == {str(batch["batch_id"])}
    stale.sink.gate.set()  # A's write goes on, long after its lease
    answer = stale.finish()

    assert answer["lease_lost"] == 1 and answer["delivered"] == 0 and answer["failed"] == 0
    assert statuses(conn) == {"delivered": 300}
    assert _counts(fast) == (300, 300)
    stored = {r["event_id"] for r in warehouse(fast, "SELECT event_id FROM events")}
    assert stored == set(ids)
    sync = conn.execute(
        "SELECT count(*) FILTER (WHERE status = 'running') AS open, count(DISTINCT batch_id) AS b "
        "FROM warehouse_sync_status"
    ).fetchone()
    assert sync == {"open": 1, "b": 1}  # A's attempt never closed its sync row: it settled nothing


@pytest.mark.parametrize(
    "error",
    [SinkUnavailable("connection reset"), RowsRejected("bad rows")],
    ids=["hold", "release"],
)
def test_a_stale_workers_release_leaves_the_new_holders_events_alone(
    settings: Settings, conn: Conn, error: Exception
) -> None:
    emit_bulk(conn, 200)
    fast = _fast(settings)
    stale = Worker(fast, GatedSink(DuckDBSink.from_settings(fast), then=error), batch_size=200)
    stale.start()
    wait_for(stale.sink.entered.is_set)
    expire_claims(conn)
    holder = Worker(fast, GatedSink(DuckDBSink.from_settings(fast)), batch_size=200)
    holder.start()
    wait_for(holder.sink.entered.is_set)  # B holds the same batch now, mid-write
    before = _ledger(conn)
    assert {(r["status"], r["retry_count"], r["attempt"]) for r in before} == {("processing", 0, 2)}

    stale.sink.gate.set()  # A fails and tries to give the events back (or release them)
    answer = stale.finish()
    assert answer["lease_lost"] == 1 and answer["failed"] == 0 and "held" not in answer
    assert _ledger(conn) == before  # nothing released by the wrong worker

    holder.sink.gate.set()
    assert holder.finish()["delivered"] == 200
    assert statuses(conn) == {"delivered": 200}
    retries = conn.execute("SELECT max(retry_count) AS r FROM platform_event_delivery").fetchone()
    assert retries == {"r": 0}
    assert _counts(fast) == (200, 200)


@pytest.mark.parametrize("stale_resumes", ["before_the_takeover", "after_the_takeover"])
def test_an_erasure_fences_the_batch_in_flight_so_a_stale_write_cannot_bring_the_user_back(
    settings: Settings, conn: Conn, stale_resumes: str
) -> None:
    emit_bulk(conn, 200, users=1, sessions=1)  # every event is user_0's, session_0
    fast = _fast(settings).model_copy(update={"visibility_timeout_seconds": 30})
    stale = Worker(fast, GatedSink(DuckDBSink.from_settings(fast)), batch_size=200)
    stale.start()
    wait_for(stale.sink.entered.is_set)  # A prepared the clear rows and is stuck writing them

    done: dict[str, Any] = {}
    erasure = threading.Thread(
        target=lambda: done.update(
            gdpr.erase_user(fast, "user_0", source="cli", requested_by="test")
        ),
        daemon=True,
    )
    erasure.start()
    wait_for(
        lambda: conn.execute("SELECT count(*) AS n FROM user_erasure_audit").fetchone() == {"n": 1}
    )
    fenced = conn.execute(
        "SELECT fenced_reason, holder FROM platform_event_delivery_batches"
    ).fetchone()
    assert fenced is not None and "erasure" in str(fenced["fenced_reason"])

    if stale_resumes == "before_the_takeover":
        stale.sink.gate.set()
        assert stale.finish()["lease_lost"] == 1
    taker = stream.stream(fast, batch_size=200)  # re-reads the anonymized rows
    assert taker["delivered"] == 200
    if stale_resumes == "after_the_takeover":
        stale.sink.gate.set()
        assert stale.finish()["lease_lost"] == 1
    erasure.join(timeout=60)
    assert not erasure.is_alive() and done["postgres_events"] == 200

    assert statuses(conn) == {"delivered": 200}
    assert _counts(fast) == (200, 200)
    left = warehouse(
        fast,
        "SELECT count(*) AS n FROM events WHERE user_id IS NOT NULL OR session_id IS NOT NULL "
        "OR CAST(event_data AS VARCHAR) LIKE '%user_0%' OR CAST(metadata AS VARCHAR) LIKE '%user_0%'",
    )
    assert left == [{"n": 0}]
