"""Exactly once whatever fails: crashes, concurrent workers, flaky and failing sinks, bad rows."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

from platform_events.config import Settings
from platform_events.db import Conn
from platform_events.pipeline import stream
from platform_events.sinks.duckdb import DuckDBSink
from tests.integration.streaming import (
    FlakySink,
    PoisonSink,
    emit_bulk,
    expire_claims,
    statuses,
    warehouse,
)

ROOT = Path(__file__).resolve().parents[2]


def _env(settings: Settings) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        DATABASE_URL=str(settings.database_url),
        PLATFORM_EVENTS_HOME=str(settings.platform_events_home),
        DUCKDB_PATH=str(settings.duckdb_file),
        WAREHOUSE="duckdb",
        LOG_LEVEL="WARNING",
    )
    return env


def _fast(settings: Settings, **more: object) -> Settings:
    """The test's settings without retry pauses (in-invocation and between invocations)."""
    return settings.model_copy(
        update={"stream_retry_initial_seconds": 0.0, "stream_release_backoff_seconds": 0.0, **more}
    )


def _warehouse_counts(settings: Settings) -> tuple[int, int]:
    row = warehouse(settings, "SELECT count(*) AS n, count(DISTINCT event_id) AS d FROM events")[0]
    return int(row["n"]), int(row["d"])


# A worker that dies (SIGKILL-like os._exit) right after its first sink write, before the ack.
_CRASHING_WORKER = textwrap.dedent(
    """
    import os
    from platform_events.config import load_settings
    from platform_events.pipeline import store, stream

    def die_before_ack(*args, **kwargs):
        os._exit(17)

    store.settle = die_before_ack
    stream.run(stream.StreamRequest(batch_size=300), load_settings())
    """
)


def test_a_worker_killed_between_write_and_ack_leaves_each_event_once_after_the_next_run(
    settings: Settings, conn: Conn
) -> None:
    ids = emit_bulk(conn, 1000)
    died = subprocess.run(
        [sys.executable, "-c", _CRASHING_WORKER], env=_env(settings), cwd=ROOT, check=False
    )
    assert died.returncode == 17
    # The batch written and up to four claimed ahead (one per stage and queue: enrich, claim),
    # none acknowledged: 1,000 events make batches of 300, 300, 300 and 100.
    held = statuses(conn)
    assert "delivered" not in held and held["processing"] in (300, 600, 900, 1000)
    assert sum(held.values()) == 1000
    assert _warehouse_counts(settings) == (300, 300)  # written, never acknowledged

    expire_claims(conn)  # the visibility timeout passes
    answer = stream.run(stream.StreamRequest(), settings)
    assert answer["delivered"] == 1000
    assert statuses(conn) == {"delivered": 1000}
    assert _warehouse_counts(settings) == (1000, 1000)
    stored = {r["event_id"] for r in warehouse(settings, "SELECT event_id FROM events")}
    assert stored == set(ids)


def test_two_workers_drain_20000_events_concurrently_without_duplicate_or_loss(
    settings: Settings, conn: Conn
) -> None:
    ids = emit_bulk(conn, 20_000, sessions=500, users=200)
    command = [sys.executable, "-m", "platform_events", "stream", "--batch-size", "500"]
    workers = [
        subprocess.Popen(command, env=_env(settings), cwd=ROOT, stdout=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    answers = []
    for worker in workers:
        out, _ = worker.communicate(timeout=240)
        assert worker.returncode == 0
        answers.append(__import__("json").loads(out))
    assert sum(a["delivered"] for a in answers) == 20_000
    assert sum(a["claimed"] for a in answers) == 20_000  # no event claimed twice
    assert statuses(conn) == {"delivered": 20_000}
    assert _warehouse_counts(settings) == (20_000, 20_000)
    stored = {r["event_id"] for r in warehouse(settings, "SELECT event_id FROM events")}
    assert stored == set(ids)


def test_a_sink_failing_twice_then_succeeding_delivers_within_the_same_run(
    settings: Settings, conn: Conn
) -> None:
    emit_bulk(conn, 200)
    fast = _fast(settings)
    sink = FlakySink(DuckDBSink.from_settings(fast), failures=2)
    answer = stream.stream(fast, sink=sink)
    sink.close()
    assert answer["delivered"] == 200 and answer["failed"] == 0
    assert sink.calls == 3
    retries = conn.execute("SELECT max(retry_count) AS r FROM platform_event_delivery").fetchone()
    assert retries is not None and retries["r"] == 0
    assert _warehouse_counts(settings) == (200, 200)


def test_one_malformed_event_in_a_batch_of_500_is_isolated_and_the_rest_delivered(
    settings: Settings, conn: Conn
) -> None:
    ids = emit_bulk(conn, 500)
    poison = ids[137]
    fast = _fast(settings, stream_release_backoff_seconds=30.0)  # not re-claimed in this run
    sink = PoisonSink(DuckDBSink.from_settings(fast), {poison})
    answer = stream.stream(fast, sink=sink, batch_size=500)
    sink.close()
    assert answer["delivered"] == 499 and answer["failed"] == 1
    assert sink.calls <= 2 * 9 + 1  # a bisection, not one write per event
    row = conn.execute(
        "SELECT status, retry_count, last_error FROM platform_event_delivery WHERE event_id = %s",
        (poison,),
    ).fetchone()
    assert row is not None and row["status"] == "pending" and row["retry_count"] == 1
    assert "invalid row" in str(row["last_error"])
    assert statuses(conn) == {"delivered": 499, "pending": 1}
    assert _warehouse_counts(settings) == (499, 499)
    sync = conn.execute("SELECT status, events_synced, events_failed FROM warehouse_sync_status")
    assert sync.fetchall() == [{"status": "partial", "events_synced": 499, "events_failed": 1}]
