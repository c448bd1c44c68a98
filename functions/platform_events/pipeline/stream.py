"""``stream_platform_events`` / ``platform-events stream``: drain the backlog into the warehouse.

Each loop: claim a batch (SKIP LOCKED, so concurrent invocations share the backlog), enrich it
(users, sessions, device, location: looked up once per batch), write it to the sink (retried,
split to isolate a poisonous event), then in one transaction acknowledge what was written,
release what was not (``retry_count`` + 1, next attempt after backoff, ``failed`` after
MAX_RETRIES), add the batch to the real-time counters and close its ``warehouse_sync_status`` row.
It stops when a claim comes back empty, when ``max_seconds`` is spent, or when the sink is down.

Exactly once: a crash after the write and before the acknowledgement leaves the batch claimed;
after the visibility timeout another run re-claims and re-writes it, and the sink replaces rows by
``event_id``. Each row's ``load_id`` is the ``sync_id`` of the batch that last wrote it.
"""

from __future__ import annotations

import logging
import time
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from platform_events import db, logs
from platform_events.config import Settings, WarehouseKind
from platform_events.pipeline import batch as batches
from platform_events.pipeline import enrich, store
from platform_events.pipeline.retry import RetryPolicy, WriteOutcome, error_text, write_isolating
from platform_events.sinks import Sink, get_sink

log = logging.getLogger(__name__)

# The warehouse cannot spend more than this of a batch's time on a write (a safety net).
_MIN_WRITE_BUDGET_S = 5.0


class StreamRequest(BaseModel):
    """Body of ``stream_platform_events``; every field optional (defaults from settings)."""

    model_config = ConfigDict(extra="forbid")

    sink: WarehouseKind | None = Field(default=None, description="Warehouse (default WAREHOUSE).")
    batch_size: int | None = Field(
        default=None, ge=1, le=50_000, description="Events per batch (default STREAM_BATCH_SIZE)."
    )
    max_seconds: float | None = Field(
        default=None, gt=0, le=3600, description="Time budget (default STREAM_MAX_SECONDS)."
    )
    max_batches: int | None = Field(
        default=None, ge=1, description="Stop after this many batches (default: no limit)."
    )
    visibility_timeout_seconds: int | None = Field(
        default=None,
        ge=1,
        description="Claims older than this are abandoned and re-claimed (default "
        "VISIBILITY_TIMEOUT_SECONDS).",
    )


@dataclass
class StreamTotals:
    claimed: int = 0
    delivered: int = 0
    failed: int = 0
    batches: int = 0
    errors: list[str] = field(default_factory=list)

    def as_dict(self, started: float) -> dict[str, Any]:
        answer: dict[str, Any] = {
            "claimed": self.claimed,
            "delivered": self.delivered,
            "failed": self.failed,
            "batches": self.batches,
            "duration_ms": round((time.monotonic() - started) * 1000, 1),
        }
        if self.errors:
            answer["errors"] = self.errors[:5]
        return answer


@dataclass
class Streamer:
    """One invocation's state: connection, sink, lookups built once, limits."""

    settings: Settings
    conn: db.Conn
    sink: Sink
    batch_size: int
    visibility_timeout: timedelta
    deadline: float
    geo_lookup: enrich.GeoLookup | None = None
    policy: RetryPolicy = field(default_factory=RetryPolicy)

    def step(self, totals: StreamTotals) -> WriteOutcome | None:
        """Claim, deliver and settle one batch; None when there was nothing to claim."""
        claimed = store.claim(
            self.conn, self.batch_size, self.visibility_timeout, self.settings.max_retries
        )
        if not len(claimed):
            return None
        started = time.monotonic()
        sync_id = uuid.uuid4()
        store.sync_started(self.conn, sync_id, self.sink.kind, claimed.span())
        table = batches.to_arrow(claimed, self._enrichment(claimed))
        write_deadline = max(self.deadline, time.monotonic() + _MIN_WRITE_BUDGET_S)

        def call(fn: Any) -> object:
            return self.policy.call(fn, deadline=write_deadline)

        outcome = write_isolating(table, lambda part: self.sink.write(part, str(sync_id)), call)
        released: dict[str, list[str]] = {}
        for event_id, error in outcome.rejected.items():
            released.setdefault(error, []).append(event_id)
        if outcome.unavailable:
            released.setdefault(outcome.unavailable_error or "sink unavailable", []).extend(
                outcome.unavailable
            )
        delivered = set(outcome.delivered)
        names, values, dims = batches.metrics(
            claimed.columns["event_type"], [e in delivered for e in claimed.event_ids]
        )
        failed_count = len(claimed) - len(delivered)
        if not failed_count:
            status = "success"
        elif delivered:
            status = "partial"
        else:
            status = "failed"
        errors = list(released)
        store.settle(
            self.conn,
            store.Settlement(
                sync_id=sync_id,
                delivered=outcome.delivered,
                released=released,
                metric_names=names,
                metric_values=values,
                metric_dimensions=dims,
                duration_ms=int((time.monotonic() - started) * 1000),
                status=status,
                error="; ".join(errors) if errors else None,
            ),
            max_retries=self.settings.max_retries,
            backoff=timedelta(seconds=self.settings.stream_release_backoff_seconds),
        )
        totals.claimed += len(claimed)
        totals.delivered += len(delivered)
        totals.failed += failed_count
        totals.batches += 1
        totals.errors.extend(e for e in errors if e not in totals.errors)
        return outcome

    def _enrichment(self, claimed: batches.ClaimedBatch) -> dict[str, list[Any]]:
        users = store.user_facts(
            self.conn, self.settings.enrich_users_query, claimed.columns["user_id"]
        )
        sessions = store.session_facts(self.conn, claimed)
        return enrich.enrich(
            claimed.columns, users=users, sessions=sessions, geo_lookup=self.geo_lookup
        )


def _geo_lookup(settings: Settings) -> enrich.GeoLookup | None:
    if settings.geoip_database is None:
        return None
    try:
        return enrich.maxmind_lookup(str(settings.geoip_database))
    except Exception as exc:  # an unreadable database must not stop delivery
        log.warning(
            "GEOIP_DATABASE unreadable: location enrichment from IPs disabled",
            extra={"fields": {"error": error_text(exc)}},
        )
        return None


def stream(
    settings: Settings,
    *,
    sink: Sink | None = None,
    batch_size: int | None = None,
    max_seconds: float | None = None,
    max_batches: int | None = None,
    visibility_timeout_seconds: int | None = None,
    progress: Any = None,
) -> dict[str, Any]:
    """Deliver pending events until the backlog is empty or the budget is spent; the counts.

    ``sink`` defaults to ``get_sink(settings)``; ``progress`` is an optional tqdm-like object
    whose ``update(n)`` is called with each batch's delivered count.
    """
    started = time.monotonic()
    budget = max_seconds if max_seconds is not None else settings.stream_max_seconds
    totals = StreamTotals()
    owns_sink = sink is None
    target = sink or get_sink(settings)
    try:
        target.ensure_table()
        with db.connect(settings, autocommit=True) as conn:
            streamer = Streamer(
                settings=settings,
                conn=conn,
                sink=target,
                batch_size=batch_size or settings.stream_batch_size,
                visibility_timeout=timedelta(
                    seconds=visibility_timeout_seconds or settings.visibility_timeout_seconds
                ),
                deadline=started + budget,
                geo_lookup=_geo_lookup(settings),
                policy=RetryPolicy(
                    attempts=settings.stream_retry_attempts,
                    initial_s=settings.stream_retry_initial_seconds,
                    max_s=settings.stream_retry_max_seconds,
                ),
            )
            while time.monotonic() < streamer.deadline:
                if max_batches is not None and totals.batches >= max_batches:
                    break
                outcome = streamer.step(totals)
                if outcome is None:
                    break
                if progress is not None:
                    progress.update(len(outcome.delivered))
                if outcome.sink_down:
                    log.error(
                        "warehouse unavailable: batch released, stream stopped",
                        extra={"fields": {"sink": target.kind, "error": outcome.unavailable_error}},
                    )
                    break
    finally:
        if owns_sink:
            target.close()
    answer = totals.as_dict(started)
    logs.log_summary(
        log,
        "stream finished",
        started,
        job="stream",
        sink=target.kind,
        claimed=totals.claimed,
        delivered=totals.delivered,
        failed=totals.failed,
        batches=totals.batches,
    )
    return answer


def run(params: StreamRequest, settings: Settings) -> dict[str, Any]:
    """The job behind the HTTP function and the CLI command."""
    sink = get_sink(settings, params.sink) if params.sink else None
    try:
        return stream(
            settings,
            sink=sink,
            batch_size=params.batch_size,
            max_seconds=params.max_seconds,
            max_batches=params.max_batches,
            visibility_timeout_seconds=params.visibility_timeout_seconds,
        )
    finally:
        if sink is not None:
            sink.close()


def resend(settings: Settings, event_ids: list[str], **options: Any) -> dict[str, Any]:
    """Re-send these events now: back to pending, then one stream run (sinks replace rows)."""
    with db.connect(settings, autocommit=True) as conn:
        requeued = store.requeue(conn, event_ids)
    answer = stream(settings, **options)
    answer["requeued"] = requeued
    return answer
