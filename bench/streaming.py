"""Streaming to the local DuckDB warehouse end to end: claim, enrich, write, acknowledge.

* ``drain_one``: one worker (``platform_events.pipeline.stream.stream`` in this process) drains a
  backlog; every batch is timed, so the rate at the start and at the end of the drain show
  whether it stays flat as the warehouse and the delivered ledger grow.
* ``drain_two``: the same backlog, back to pending, drained by two ``platform-events stream``
  processes into one warehouse file; the warehouse is then checked for duplicates.
* ``steady_latency``: a client writes small batches at a steady rate while a worker keeps
  streaming; each event's time from the emit call to its acknowledgement (which follows the
  warehouse commit) is measured.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb

from bench import datasets
from bench.report import Progress
from bench.server import pipeline_settings
from bench.sql import sql
from platform_events.client import Event, write_events
from platform_events.db import Conn
from platform_events.pipeline import stream
from platform_events.sinks import get_sink


@dataclass
class Marks:
    """A tqdm-like progress sink for ``stream.stream``: (seconds, delivered so far) per batch."""

    started: float = field(default_factory=time.perf_counter)
    done: int = 0
    marks: list[tuple[float, int]] = field(default_factory=list)

    def update(self, n: int) -> None:
        self.done += n
        self.marks.append((time.perf_counter() - self.started, self.done))


@dataclass(frozen=True)
class Drain:
    delivered: int
    seconds: float
    marks: list[tuple[float, int]]
    warehouse_rows: int
    warehouse_distinct: int
    per_worker: list[int]


def load_backlog(conn: Conn, count: int, progress: Progress) -> None:
    """``count`` pending events received in the last hour (generated, indexes built after)."""
    conn.execute(sql("reset_event_tables"))
    types = datasets.catalogue_types(conn)
    since = datetime.now(UTC) - timedelta(hours=1)

    def load() -> None:
        datasets.generate(
            conn, count, start=since, span=timedelta(minutes=50), types=types, tag="s"
        )
        datasets.ledger(
            conn, since - timedelta(minutes=1), datetime.now(UTC) + timedelta(hours=1), "pending"
        )

    datasets.without_indexes(conn, progress, load)


def requeue(conn: Conn) -> None:
    """Every event back to pending, for a second drain of the same backlog."""
    conn.execute(sql("requeue_all"))
    conn.execute(sql("reset_sync_status"))
    conn.execute("VACUUM ANALYZE platform_event_delivery")


def _warehouse_counts(path: Path) -> tuple[int, int]:
    with duckdb.connect(str(path), read_only=True) as wh:
        row = wh.execute("SELECT count(*), count(DISTINCT event_id) FROM events").fetchone()
    assert row is not None
    return int(row[0]), int(row[1])


def _span(conn: Conn) -> float:
    row = conn.execute(sql("sync_span")).fetchone()
    return float(row["seconds"]) if row and row["seconds"] is not None else float("nan")  # type: ignore[arg-type]


def drain_one(conn: Conn, url: str, work: Path, batch_size: int) -> Drain:
    """One in-process worker drains the backlog into a fresh warehouse."""
    settings = pipeline_settings(url, work, duckdb_path=work / "one.duckdb")
    conn.execute(sql("reset_sync_status"))
    marks = Marks()
    answer = stream.stream(settings, batch_size=batch_size, max_seconds=3600, progress=marks)
    seconds = _span(conn)
    rows, distinct = _warehouse_counts(work / "one.duckdb")
    return Drain(answer["delivered"], seconds, marks.marks, rows, distinct, [answer["delivered"]])


def drain_two(conn: Conn, url: str, work: Path, batch_size: int) -> Drain:
    """Two ``platform-events stream`` processes drain the (requeued) backlog into one file."""
    path = work / "two.duckdb"
    env = dict(
        os.environ,
        DATABASE_URL=url,
        DUCKDB_PATH=str(path),
        PLATFORM_EVENTS_HOME=str(work),
        WAREHOUSE="duckdb",
        STREAM_MAX_SECONDS="3600",
        LOG_LEVEL="WARNING",
    )
    command = [sys.executable, "-m", "platform_events", "stream", "--batch-size", str(batch_size)]
    workers = [
        subprocess.Popen(
            command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for _ in range(2)
    ]
    answers: list[dict[str, Any]] = []
    for worker in workers:
        out, err = worker.communicate()
        if worker.returncode != 0:
            raise RuntimeError(f"stream worker failed ({worker.returncode}): {err.strip()[-2000:]}")
        answers.append(json.loads(out))
    seconds = _span(conn)
    rows, distinct = _warehouse_counts(path)
    per_worker = [int(a["delivered"]) for a in answers]
    return Drain(sum(per_worker), seconds, [], rows, distinct, per_worker)


@dataclass
class _Worker:
    """A worker streaming continuously (as back-to-back scheduled invocations would)."""

    settings: Any
    batch_size: int
    poll_seconds: float
    stop: threading.Event = field(default_factory=threading.Event)
    error: BaseException | None = None

    def run(self) -> None:
        sink = get_sink(self.settings)
        try:
            while not self.stop.is_set():
                answer = stream.stream(
                    self.settings, sink=sink, batch_size=self.batch_size, max_seconds=60
                )
                if not answer["claimed"]:
                    self.stop.wait(self.poll_seconds)
        except BaseException as exc:  # reported by the caller
            self.error = exc
        finally:
            sink.close()


def steady_latency(
    conn: Conn,
    url: str,
    work: Path,
    events: Sequence[Event],
    *,
    rate: int,
    batch_size: int,
    poll_seconds: float = 0.05,
    ticks_per_second: int = 10,
) -> list[float]:
    """Seconds from emit call to acknowledgement for each event, at ``rate`` events/s."""
    settings = pipeline_settings(url, work, duckdb_path=work / "steady.duckdb")
    worker = _Worker(settings, batch_size, poll_seconds)
    thread = threading.Thread(target=worker.run, name="bench-stream", daemon=True)
    thread.start()
    per_tick = max(1, rate // ticks_per_second)
    sent_ids: list[Any] = []
    sent_at: list[float] = []
    try:
        next_tick = time.perf_counter()
        for offset in range(0, len(events), per_tick):
            batch = events[offset : offset + per_tick]
            now = time.time()
            write_events(conn, batch)
            sent_ids.extend(e.event_id for e in batch)
            sent_at.extend([now] * len(batch))
            next_tick += 1 / ticks_per_second
            time.sleep(max(0.0, next_tick - time.perf_counter()))
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and worker.error is None:
            row = conn.execute(sql("delivery_counts")).fetchall()
            waiting = sum(int(r["n"]) for r in row if r["status"] in ("pending", "processing"))  # type: ignore[call-overload]
            if waiting == 0:
                break
            time.sleep(0.1)
    finally:
        worker.stop.set()
        thread.join(timeout=120)
    if worker.error is not None:
        raise RuntimeError(f"the stream worker failed: {worker.error}") from worker.error
    rows = conn.execute(sql("delivery_latencies"), {"ids": sent_ids, "sent": sent_at}).fetchall()
    return [float(r["seconds"]) for r in rows]  # type: ignore[arg-type]
