"""One durable batch's way through the stream: claim, prepare (enrich + rows), write, settle.

A batch is claimed under a lease (``store.claim``; migrations/0050) and everything written about
it afterwards carries the lease token: the sink's checkpoints (``store.BatchCheckpoint``) and the
settlement. A worker that lost the lease (it was slow past the lease, or an erasure fenced the
batch) gets LeaseLost at its next step, changes nothing, and moves on; the batch's next holder
re-reads it and writes it again under the same load id.

What becomes of each event:

* delivered: written, acknowledged;
* poisoned (no sink can store it: see sql ``stream_claim``'s ``defect``; or row building fails
  for it alone): ``failed`` at once with its own error, its batch-mates go on;
* refused by name (``RowsRejected.rows``: the warehouse judged that row alone): ``failed`` at
  once with the warehouse's reason;
* rejected (isolated by splitting a batch the sink refused): released with an attempt spent,
  ``failed`` after MAX_RETRIES, each with its own error;
* held (the sink was unavailable, throttled or misconfigured, or the run stopped first): left in
  its batch, given back until the sink is tried again, no attempt spent. An outage of any length
  ends with everything delivered, without ``reprocess``.
"""

from __future__ import annotations

import logging
import os
import socket
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import pyarrow as pa

from platform_events import db
from platform_events.config import Settings
from platform_events.errors import LeaseLost
from platform_events.pipeline import batch as batches
from platform_events.pipeline import enrich, isolate, store
from platform_events.pipeline.retry import (
    THROTTLED_FACTOR,
    Clock,
    RetryPolicy,
    SinkState,
    SystemClock,
    WriteOutcome,
    write_isolating,
)
from platform_events.sinks import Sink, schema

log = logging.getLogger(__name__)

# Retries of a write near the end of the budget still get this long (a batch already claimed
# is better written a little late than given back).
_MIN_WRITE_BUDGET_S = 5.0


def holder_name() -> str:
    """Who holds a lease: host, process and a per-worker suffix (shown in status, logs)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


@dataclass
class StreamTotals:
    claimed: int = 0
    delivered: int = 0
    failed: int = 0
    held: int = 0
    lease_lost: int = 0
    batches: int = 0
    errors: list[str] = field(default_factory=list)
    sink_state: SinkState = "ok"
    sink_error: str | None = None
    retry_at: datetime | None = None

    def add_error(self, error: str) -> None:
        if error not in self.errors:
            self.errors.append(error)

    def as_dict(self, duration_s: float) -> dict[str, Any]:
        answer: dict[str, Any] = {
            "claimed": self.claimed,
            "delivered": self.delivered,
            "failed": self.failed,
            "batches": self.batches,
            "duration_ms": round(duration_s * 1000, 1),
        }
        if self.held:
            answer["held"] = self.held
        if self.lease_lost:
            answer["lease_lost"] = self.lease_lost
        if self.sink_state != "ok":
            answer["sink"] = {
                "state": self.sink_state,
                "error": self.sink_error,
                "retry_at": self.retry_at.isoformat() if self.retry_at else None,
            }
        if self.errors:
            answer["errors"] = self.errors[:5]
        return answer


@dataclass(frozen=True)
class Claimed:
    """A claimed batch with its open ``warehouse_sync_status`` row, not yet prepared."""

    claimed: batches.ClaimedBatch
    sync_id: uuid.UUID
    started: float

    @property
    def lease(self) -> batches.Lease:
        assert self.claimed.lease is not None
        return self.claimed.lease


@dataclass(frozen=True)
class Prepared(Claimed):
    """A claimed batch as the sink's table, without the events that cannot be delivered."""

    table: pa.Table
    poisoned: dict[str, str]


@dataclass
class Streamer:
    """One worker's state: sink, lookups built once, limits, lease. ``claim``, ``prepare`` and
    ``deliver`` each take their own connection, so they can run in three threads (stages.py)."""

    settings: Settings
    sink: Sink
    batch_size: int
    lease: timedelta
    deadline: float
    geo_lookup: enrich.GeoLookup | None = None
    policy: RetryPolicy = field(default_factory=RetryPolicy)
    clock: Clock = field(default_factory=SystemClock)
    holder: str = field(default_factory=holder_name)

    @property
    def settle_policy(self) -> store.SettlePolicy:
        base = timedelta(seconds=self.settings.stream_release_backoff_seconds)
        return store.SettlePolicy(
            max_retries=self.settings.max_retries,
            backoff=base,
            hold_base=base,
            hold_max=timedelta(seconds=self.settings.stream_hold_max_seconds),
        )

    def claim(self, conn: db.Conn) -> Claimed | None:
        """Claim one batch and open its sync row; None when there was nothing to claim."""
        claimed = store.claim(
            conn, self.batch_size, self.lease, self.settings.max_retries, self.holder
        )
        if not len(claimed):
            return None
        started = self.clock.monotonic()
        sync_id = uuid.uuid4()
        assert claimed.lease is not None
        store.sync_started(conn, sync_id, claimed.lease.batch_id, self.sink.kind, claimed.span())
        return Claimed(claimed, sync_id, started)

    def prepare(self, conn: db.Conn, batch: Claimed) -> Prepared:
        """Enrich a claimed batch into the sink's table. Events no sink can store, and events
        row building fails for, are set aside (``poisoned``) with their own error."""
        claimed = batch.claimed
        poisoned = claimed.defects()
        if poisoned:
            claimed = claimed.take(
                [i for i, e in enumerate(claimed.event_ids) if e not in poisoned]
            )
        users = store.user_facts(conn, self.settings.enrich_users_query, claimed.columns["user_id"])
        sessions = store.session_facts(conn, claimed)
        everything = len(claimed)

        def build(rows: Any) -> pa.Table:
            part = claimed if len(rows) == everything else claimed.take(list(rows))
            values = enrich.enrich(
                part.columns, users=users, sessions=sessions, geo_lookup=self.geo_lookup
            )
            return batches.to_arrow(part, values)

        table, _, failed = isolate.rows_at_fault(everything, build, pa.concat_tables)
        for i, error in failed.items():
            poisoned[claimed.event_ids[i]] = error
        if table is None:
            table = schema.batch_arrow_schema().empty_table()
        return Prepared(batch.claimed, batch.sync_id, batch.started, table, poisoned)

    def deliver(self, conn: db.Conn, batch: Prepared, totals: StreamTotals) -> WriteOutcome:
        """Write one prepared batch (retried, split to isolate bad rows) and settle it."""
        write_deadline = max(self.deadline, self.clock.monotonic() + _MIN_WRITE_BUDGET_S)

        def call(fn: Any) -> object:
            return self.policy.call(
                fn, deadline=write_deadline, sleep=self.clock.sleep, clock=self.clock.monotonic
            )

        def write(part: pa.Table, load_id: str) -> object:
            checkpoint = store.BatchCheckpoint(conn, batch.lease, load_id, self.lease)
            return self.sink.write(part, load_id, checkpoint)

        try:
            if batch.table.num_rows:
                outcome = write_isolating(batch.table, write, call, load_id=batch.lease.load_id)
            else:
                outcome = WriteOutcome()
            outcome.poisoned.update(batch.poisoned)
            self.settle(conn, batch, outcome, totals, sink_state=outcome.sink_state)
        except LeaseLost as exc:
            self._lost(batch, exc, totals)
            return WriteOutcome()
        return outcome

    def release(self, conn: db.Conn, batch: Claimed, totals: StreamTotals) -> None:
        """Give a claimed batch back unwritten (the run stopped first): held in its batch, no
        attempt spent, due when the sink is tried again (at once if it is healthy)."""
        outcome = WriteOutcome(held=list(batch.claimed.event_ids))
        try:
            self.settle(conn, batch, outcome, totals, sink_state=None)
        except LeaseLost as exc:
            self._lost(batch, exc, totals)

    def settle(
        self,
        conn: db.Conn,
        batch: Claimed,
        outcome: WriteOutcome,
        totals: StreamTotals,
        *,
        sink_state: SinkState | None,
    ) -> None:
        claimed = batch.claimed
        released: dict[str, tuple[str, bool]] = {
            event_id: (error, False) for event_id, error in outcome.rejected.items()
        }
        released.update((e, (error, True)) for e, error in outcome.poisoned.items())
        delivered = set(outcome.delivered)
        names, values, dims = batches.metrics(
            claimed.columns["event_type"], [e in delivered for e in claimed.event_ids]
        )
        if len(delivered) == len(claimed):
            status = "success"
        elif delivered:
            status = "partial"
        else:
            status = "failed"
        errors = sorted({error for error, _ in released.values()})
        if outcome.sink_error:
            errors.append(outcome.sink_error)
        policy = self.settle_policy
        if sink_state == "throttled":
            policy = store.SettlePolicy(
                policy.max_retries,
                policy.backoff,
                policy.hold_base * THROTTLED_FACTOR,
                policy.hold_max,
            )
        due = store.settle(
            conn,
            store.Settlement(
                lease=batch.lease,
                sync_id=batch.sync_id,
                sink=self.sink.kind,
                delivered=outcome.delivered,
                released=released,
                hold=bool(outcome.held),
                sink_state=sink_state,
                sink_error=outcome.sink_error,
                metric_names=names,
                metric_values=values,
                metric_dimensions=dims,
                duration_ms=int((self.clock.monotonic() - batch.started) * 1000),
                status=status,
                error="; ".join(errors) if errors else None,
            ),
            policy,
        )
        totals.claimed += len(claimed)
        totals.delivered += len(delivered)
        totals.failed += len(released)
        totals.held += len(outcome.held)
        totals.batches += 1
        for error in errors:
            totals.add_error(error)
        if sink_state is not None and sink_state != "ok":
            totals.sink_state, totals.sink_error, totals.retry_at = (
                sink_state,
                outcome.sink_error,
                due,
            )

    def _lost(self, batch: Claimed, exc: LeaseLost, totals: StreamTotals) -> None:
        totals.lease_lost += 1
        log.warning(
            "delivery batch lost to another worker: nothing acknowledged or released",
            extra={"fields": {"batch_id": str(batch.lease.batch_id), "error": str(exc)}},
        )
