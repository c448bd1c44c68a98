"""Helpers of the streaming tests: bulk events, warehouse reads, sinks that fail on purpose."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Any

import pyarrow as pa
from psycopg.types.json import Jsonb

from platform_events.config import Settings
from platform_events.db import Conn
from platform_events.errors import SinkMisconfigured, SinkUnavailable
from platform_events.sinks import RowsRejected, Sink
from platform_events.sinks.base import WriteCheckpoint
from platform_events.sinks.duckdb import DuckDBSink

USER_AGENTS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Safari/537.36",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
    "Gecko) Version/17.4 Mobile/15E148 Safari/604.1",
)


def emit_bulk(
    conn: Conn,
    count: int,
    *,
    event_type: str = "user.login",
    sessions: int = 50,
    users: int = 20,
    chunk: int = 5000,
) -> list[str]:
    """``count`` valid events through emit_platform_events, spread over sessions and users."""
    ids: list[str] = []
    for start in range(0, count, chunk):
        events: list[dict[str, Any]] = []
        for i in range(start, min(start + chunk, count)):
            event_id = str(uuid.uuid4())
            ids.append(event_id)
            events.append(
                {
                    "event_id": event_id,
                    "event_type": event_type,
                    "event_data": {"method": "password", "success": True},
                    "user_id": f"user_{i % users}",
                    "session_id": f"session_{i % sessions}",
                    "metadata": {"user_agent": USER_AGENTS[i % 2], "source": "test"},
                }
            )
        rows = conn.execute(
            "SELECT count(*) FILTER (WHERE status = 'accepted') AS n FROM emit_platform_events(%s)",
            (Jsonb(events),),
        ).fetchone()
        assert rows is not None and rows["n"] == len(events)
    return ids


def warehouse(settings: Settings, sql: str, params: dict[str, Any] | None = None) -> list[Any]:
    """Rows of a query on the test's DuckDB warehouse."""
    with DuckDBSink.from_settings(settings) as sink:
        return sink.query(sql, params)


def statuses(conn: Conn) -> dict[str, int]:
    rows = conn.execute(
        "SELECT status, count(*) AS n FROM platform_event_delivery GROUP BY status"
    ).fetchall()
    return {str(r["status"]): int(r["n"]) for r in rows}  # type: ignore[call-overload]


def make_due(conn: Conn) -> None:
    """Skip the release backoff (test setup): released events are due now."""
    conn.execute(
        "UPDATE platform_event_delivery SET next_attempt_at = now() WHERE status = 'pending'"
    )


def expire_claims(conn: Conn, age: timedelta = timedelta(hours=1)) -> None:
    """Age the claims in flight, as if their worker died that long ago: per-row claims (of
    get_pending_events) and the leases of delivery batches."""
    conn.execute(
        "UPDATE platform_event_delivery SET claimed_at = now() - %s WHERE status = 'processing'",
        (age,),
    )
    conn.execute("UPDATE platform_event_delivery_batches SET lease_expires_at = now() - %s", (age,))


def advance_database_clock(conn: Conn, seconds: float) -> None:
    """Let ``seconds`` pass for the pipeline's stored times (test time control): every due time,
    lease and sink-health time moves that far into the past."""
    step = timedelta(seconds=seconds)
    conn.execute(
        "UPDATE platform_event_delivery SET next_attempt_at = next_attempt_at - %s "
        "WHERE status = 'pending'",
        (step,),
    )
    conn.execute(
        "UPDATE platform_event_delivery_batches SET lease_expires_at = lease_expires_at - %s",
        (step,),
    )
    conn.execute(
        "UPDATE platform_event_sink_health SET retry_at = retry_at - %(s)s, "
        "failing_since = failing_since - %(s)s, last_failure_at = last_failure_at - %(s)s",
        {"s": step},
    )


class FlakySink(Sink):
    """Wraps a sink: the first ``failures`` writes raise SinkUnavailable, or every write does."""

    kind = "duckdb"

    def __init__(self, inner: Sink, failures: int | None) -> None:
        self.inner = inner
        self.failures = failures
        self.calls = 0

    def ensure_table(self) -> None:
        self.inner.ensure_table()

    def write(
        self,
        batch: pa.Table,
        load_id: str | None = None,
        checkpoint: WriteCheckpoint | None = None,
    ) -> str:
        self.calls += 1
        if self.failures is None or self.calls <= self.failures:
            raise SinkUnavailable(f"warehouse unreachable (call {self.calls})")
        return self.inner.write(batch, load_id, checkpoint)

    def erase_user(self, user_id: str) -> int:
        return self.inner.erase_user(user_id)

    def delete_events(self, event_ids: Sequence[str]) -> int:
        return self.inner.delete_events(event_ids)

    def delete_expired(self, policies: Any) -> int:
        return self.inner.delete_expired(policies)

    def close(self) -> None:
        self.inner.close()


class PoisonSink(FlakySink):
    """Refuses any batch holding one of ``poison`` (as a warehouse refuses a bad row)."""

    def __init__(self, inner: Sink, poison: set[str]) -> None:
        super().__init__(inner, 0)
        self.poison = poison

    def write(
        self,
        batch: pa.Table,
        load_id: str | None = None,
        checkpoint: WriteCheckpoint | None = None,
    ) -> str:
        self.calls += 1
        bad = self.poison.intersection(batch.column("event_id").to_pylist())
        if bad:
            raise RowsRejected(f"invalid row for event {sorted(bad)[0]}")
        return self.inner.write(batch, load_id, checkpoint)


class ManualClock:
    """The stream's clock under the test's control: a sleep moves it at once, no real pause."""

    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


class OutageSink(FlakySink):
    """Unreachable (SinkUnavailable) until ``clock`` reaches ``until``, then the inner sink."""

    def __init__(self, inner: Sink, clock: ManualClock, until: float) -> None:
        super().__init__(inner, 0)
        self.clock = clock
        self.until = until
        self.calls_while_down = 0

    def write(
        self,
        batch: pa.Table,
        load_id: str | None = None,
        checkpoint: WriteCheckpoint | None = None,
    ) -> str:
        self.calls += 1
        if self.clock.now < self.until:
            self.calls_while_down += 1
            raise SinkUnavailable(f"warehouse unreachable at t={self.clock.now:.0f}s")
        return self.inner.write(batch, load_id, checkpoint)


class MisconfiguredSink(FlakySink):
    """Answers every write as a warehouse whose deployment is wrong does."""

    message = "table platform_events.events not found: run terraform apply or set BIGQUERY_TABLE"

    def write(
        self,
        batch: pa.Table,
        load_id: str | None = None,
        checkpoint: WriteCheckpoint | None = None,
    ) -> str:
        self.calls += 1
        raise SinkMisconfigured(self.message)


class GatedSink(FlakySink):
    """A slow warehouse under the test's control: the first write waits at a gate (the file
    closed meanwhile, so other workers can use it) until the test opens it, then writes, or
    raises ``then``. ``fenced=False`` drops the checkpoint, as a sink that merges inside its
    write without consulting the lease would."""

    def __init__(self, inner: Sink, *, then: Exception | None = None, fenced: bool = True) -> None:
        super().__init__(inner, 0)
        self.then = then
        self.fenced = fenced
        self.entered = threading.Event()
        self.gate = threading.Event()

    def write(
        self,
        batch: pa.Table,
        load_id: str | None = None,
        checkpoint: WriteCheckpoint | None = None,
    ) -> str:
        self.calls += 1
        if self.calls == 1:
            self.inner.close()
            self.entered.set()
            assert self.gate.wait(timeout=60), "the test never opened the gate"
            if self.then is not None:
                raise self.then
        return self.inner.write(batch, load_id, checkpoint if self.fenced else None)


def wait_for(condition: Callable[[], bool], timeout: float = 60.0) -> None:
    """Wait until ``condition()`` holds (polled), failing the test past ``timeout``."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)
