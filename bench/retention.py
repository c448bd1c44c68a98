"""Retention of expired events while an emitter keeps writing: how long can ingest stall?

The cached template (see ``datasets.retention_template``) is cloned, then an emitter thread
calls ``emit_platform_event`` back to back on its own connection, recording every call's
latency: first alone (the baseline), then while the retention job (``jobs.retention.run``, the
scheduled job itself: partition retirement, then bounded delete batches) removes the expired
events. The figure is the emitter's slowest call during retention.
"""

from __future__ import annotations

import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from bench.server import pipeline_settings
from bench.sql import sql
from platform_events.jobs import retention


@dataclass
class Emitter:
    """Back-to-back single emits on one connection; (start time, seconds) per call."""

    url: str
    calls: list[tuple[float, float]] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)
    error: BaseException | None = None

    def run(self) -> None:
        try:
            with psycopg.connect(self.url, autocommit=True, row_factory=dict_row) as conn:
                while not self.stop.is_set():
                    params = {
                        "event_type": "search.performed",
                        "event_data": Jsonb({"query": "python developer", "results_count": 12}),
                        "user_id": "user_bench",
                        "session_id": "sess_bench",
                        "metadata": Jsonb({"source": "bench"}),
                        "occurred_at": datetime.now(UTC),
                        "event_id": uuid.uuid4(),
                    }
                    started = time.perf_counter()
                    conn.execute(sql("emit_one"), params).fetchone()
                    self.calls.append((started, time.perf_counter() - started))
        except BaseException as exc:  # reported by the caller
            self.error = exc

    def between(self, start: float, end: float) -> list[float]:
        """Latencies of the calls that overlapped [start, end]."""
        return [s for t, s in self.calls if t + s >= start and t <= end]


@dataclass(frozen=True)
class RetentionRun:
    seconds: float
    deleted: int
    result: dict[str, Any]
    alone: list[float]
    during: list[float]
    expired_left: int


def _wal_lsn(url: str) -> str:
    with psycopg.connect(url, autocommit=True, row_factory=dict_row) as conn:
        row = conn.execute("SELECT pg_current_wal_lsn()::text AS lsn").fetchone()
    assert row is not None
    return str(row["lsn"])


def _wal_between(url: str, start: str, end: str) -> int:
    with psycopg.connect(url, autocommit=True, row_factory=dict_row) as conn:
        row = conn.execute(
            "SELECT pg_wal_lsn_diff(%s::pg_lsn, %s::pg_lsn)::bigint AS bytes", (end, start)
        ).fetchone()
    assert row is not None
    return int(str(row["bytes"]))


def run(url: str, work: Path, *, alone_seconds: float, batch_size: int) -> RetentionRun:
    """Emitter alone for ``alone_seconds``, then with the retention job until it finishes."""
    settings = pipeline_settings(url, work)
    emitter = Emitter(url)
    thread = threading.Thread(target=emitter.run, name="bench-emitter", daemon=True)
    thread.start()
    try:
        time.sleep(alone_seconds)  # the baseline window: the emitter alone, by design timed
        alone_end = time.perf_counter()
        started = time.perf_counter()
        result = retention.run(
            retention.RetentionRequest(warehouse=False, max_seconds=3600, batch_size=batch_size),
            settings,
        )
        finished = time.perf_counter()
    finally:
        emitter.stop.set()
        thread.join(timeout=60)
    if emitter.error is not None:
        raise RuntimeError(f"the emitter failed: {emitter.error}") from emitter.error
    with psycopg.connect(url, autocommit=True, row_factory=dict_row) as conn:
        row = conn.execute(sql("expired_events")).fetchone()
    deleted = int(result.get("deleted_total", 0)) + int(result.get("partition_events_deleted", 0))
    return RetentionRun(
        seconds=finished - started,
        deleted=deleted,
        result=result,
        alone=emitter.between(0.0, alone_end),
        during=emitter.between(started, finished),
        expired_left=int(str(row["n"])) if row else -1,
    )


@dataclass(frozen=True)
class QuietRun:
    """Retention with nothing else writing: all the WAL between the two LSNs is its own."""

    seconds: float
    deleted: int
    wal_bytes: int
    result: dict[str, Any]

    @property
    def wal_bytes_per_event(self) -> float:
        return self.wal_bytes / self.deleted if self.deleted else float("nan")


def quiet(url: str, work: Path, *, batch_size: int) -> QuietRun:
    """The retention job on a fresh clone, alone: its WAL per expired event."""
    settings = pipeline_settings(url, work)
    start_lsn = _wal_lsn(url)
    started = time.perf_counter()
    result = retention.run(
        retention.RetentionRequest(warehouse=False, max_seconds=3600, batch_size=batch_size),
        settings,
    )
    seconds = time.perf_counter() - started
    deleted = int(result.get("deleted_total", 0)) + int(result.get("partition_events_deleted", 0))
    return QuietRun(seconds, deleted, _wal_between(url, start_lsn, _wal_lsn(url)), result)
