"""Scale-out by backlog: the stream function starts children of itself by authenticated POSTs
(a local ``serve`` stands in for the deployed function, a named fake for Google's ID tokens),
and ``stream --workers N`` runs N processes; the backlog is shared, every event delivered once."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from werkzeug.serving import make_server

from platform_events import server
from platform_events.config import Settings
from platform_events.db import Conn
from platform_events.pipeline import stream
from platform_events.sinks.base import WriteCheckpoint
from platform_events.sinks.duckdb import DuckDBSink
from tests.integration.streaming import (
    FlakySink,
    ManualClock,
    emit_bulk,
    statuses,
    warehouse,
)

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "local-token-for-fanout"


class FakeIdTokens:
    """Stands in for google-auth's ``fetch_id_token`` (no metadata server here): answers the
    token ``serve`` accepts and records each audience asked for."""

    def __init__(self, token: str) -> None:
        self.token = token
        self.audiences: list[str] = []

    def __call__(self, audience: str) -> str:
        self.audiences.append(audience)
        return self.token


class VirtuallySlowSink(FlakySink):
    """DuckDB whose every write takes one second of the test's clock (no real pause)."""

    def __init__(self, inner: DuckDBSink, clock: ManualClock) -> None:
        super().__init__(inner, 0)
        self.clock = clock

    def write(
        self,
        batch: pa.Table,
        load_id: str | None = None,
        checkpoint: WriteCheckpoint | None = None,
    ) -> str:
        self.clock.now += 1.0
        return self.inner.write(batch, load_id, checkpoint)


@pytest.fixture
def function_url(settings: Settings) -> Iterator[str]:
    """``serve`` on a free loopback port: the stream function's URL."""
    app = server.create_app(settings, token=TOKEN)
    httpd = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_port}/stream_platform_events"
    finally:
        httpd.shutdown()
        thread.join(timeout=10)


def test_a_backlog_one_invocation_cannot_drain_in_time_fans_out_up_to_the_bound(
    settings: Settings, conn: Conn, function_url: str
) -> None:
    ids = emit_bulk(conn, 12_000, sessions=200, users=100)
    scaled = settings.model_copy(
        update={"stream_fanout_url": function_url, "stream_max_parallel": 3}
    )
    clock = ManualClock()
    tokens = FakeIdTokens(TOKEN)
    sink = VirtuallySlowSink(DuckDBSink.from_settings(scaled), clock)
    # 500 events per virtual second, 10 s of budget: after two batches, 8 s left drain 4,000 of
    # the 10,000 still due, so three workers are needed: two children, the bound's worth.
    answer = stream.run(
        stream.StreamRequest(batch_size=500, max_seconds=10),
        scaled,
        sink=sink,
        token_provider=tokens,
        clock=clock,
    )
    sink.close()
    fan: dict[str, Any] = answer["fanout"]
    assert tokens.audiences == [function_url, function_url]  # ID tokens for the function itself
    assert fan["children"] == 2 and fan["answered"] == 2 and "errors" not in fan
    assert fan["delivered"] > 0
    assert answer["delivered"] + fan["delivered"] <= 12_000

    rest = stream.stream(settings, batch_size=1000)  # whatever the budgets left over
    assert answer["delivered"] + fan["delivered"] + rest["delivered"] == 12_000
    assert statuses(conn) == {"delivered": 12_000}
    stored = warehouse(settings, "SELECT count(*) AS n, count(DISTINCT event_id) AS d FROM events")
    assert stored == [{"n": 12_000, "d": 12_000}]
    assert {r["event_id"] for r in warehouse(settings, "SELECT event_id FROM events")} == set(ids)


def test_a_child_invocation_never_fans_out_again(settings: Settings, conn: Conn) -> None:
    emit_bulk(conn, 2000)
    scaled = settings.model_copy(
        update={"stream_fanout_url": "https://stream.example.invalid/", "stream_max_parallel": 5}
    )

    def no_token(audience: str) -> str:
        raise AssertionError("a child asked for a token")

    answer = stream.run(
        stream.StreamRequest(child=True, batch_size=100), scaled, token_provider=no_token
    )
    assert answer["delivered"] == 2000 and "fanout" not in answer


def test_stream_workers_runs_processes_that_share_the_backlog(
    settings: Settings, conn: Conn
) -> None:
    ids = emit_bulk(conn, 6000, sessions=100, users=50)
    env = dict(os.environ)
    env.update(
        DATABASE_URL=str(settings.database_url),
        PLATFORM_EVENTS_HOME=str(settings.platform_events_home),
        DUCKDB_PATH=str(settings.duckdb_file),
        WAREHOUSE="duckdb",
        LOG_LEVEL="WARNING",
    )
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "platform_events",
            "stream",
            "--workers",
            "3",
            "--batch-size",
            "500",
        ],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    answer = json.loads(done.stdout)
    assert answer["workers"] == 3 and len(answer["per_worker"]) == 3
    assert answer["delivered"] == answer["claimed"] == 6000  # no event claimed twice
    assert statuses(conn) == {"delivered": 6000}
    assert {r["event_id"] for r in warehouse(settings, "SELECT event_id FROM events")} == set(ids)
