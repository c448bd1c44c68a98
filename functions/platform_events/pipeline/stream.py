"""``stream_platform_events`` / ``platform-events stream``: drain the backlog into the warehouse.

Each loop claims a durable batch under a lease (SKIP LOCKED, so concurrent invocations share the
backlog; an expired batch is taken again as the same batch), prepares it (users, sessions,
device, location: looked up once per batch; events no sink can store set aside), writes it to the
sink (retried, split to isolate a poisonous event), then in one transaction fenced by the lease
token acknowledges what was written, releases what the sink refused (an attempt spent), holds
what it could not take (no attempt spent), adds the batch to the real-time counters and closes its
``warehouse_sync_status`` row (see pipeline/delivery.py). It stops when a claim comes back empty,
when ``max_seconds`` is spent, or when the sink is down or misconfigured; while the sink's
health says to wait (``platform_event_sink_health.retry_at``) a run does not call it at all.
Claiming, preparing and writing run as three overlapping stages (pipeline/stages.py).

Exactly once: a crash after the write and before the acknowledgement leaves the batch leased;
once the lease runs out another run re-claims the same batch and re-writes it under the same
``load_id`` (the batch id), and the sink replaces rows by ``event_id`` (or, BigQuery, resumes the
write it checkpointed). A slow worker that lost its lease can no longer acknowledge, release or
checkpoint anything (LeaseLost).
"""

from __future__ import annotations

import logging
import time
from datetime import timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from platform_events import db, logs
from platform_events.config import Settings, WarehouseKind
from platform_events.pipeline import enrich, fanout, stages, store
from platform_events.pipeline.delivery import Streamer, StreamTotals
from platform_events.pipeline.retry import Clock, RetryPolicy, SystemClock
from platform_events.sinks import Sink, get_sink

log = logging.getLogger(__name__)


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
    child: bool = Field(
        default=False,
        description="Set by a parent invocation that fanned out: this one does not fan out again.",
    )


def _geo_lookup(settings: Settings) -> enrich.GeoLookup | None:
    if settings.geoip_database is None:
        return None
    try:
        return enrich.maxmind_lookup(str(settings.geoip_database))
    except Exception as exc:  # an unreadable database must not stop delivery
        log.warning(
            "GEOIP_DATABASE unreadable: location enrichment from IPs disabled",
            extra={"fields": logs.error_fields(exc)},
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
    clock: Clock | None = None,
) -> dict[str, Any]:
    """Deliver pending events until the backlog is empty or the budget is spent; the counts.

    ``sink`` defaults to ``get_sink(settings)``; ``progress`` is an optional tqdm-like object
    whose ``update(n)`` is called with each batch's delivered count; ``clock`` (default the real
    one) times the budget and the in-invocation retry pauses.
    """
    clock = clock or SystemClock()
    started, wall_started = clock.monotonic(), time.monotonic()
    budget = max_seconds if max_seconds is not None else settings.stream_max_seconds
    totals = StreamTotals()
    owns_sink = sink is None
    target = sink or get_sink(settings)
    try:
        streamer = Streamer(
            settings=settings,
            sink=target,
            batch_size=batch_size or settings.stream_batch_size,
            lease=timedelta(
                seconds=visibility_timeout_seconds or settings.visibility_timeout_seconds
            ),
            deadline=started + budget,
            geo_lookup=_geo_lookup(settings),
            policy=RetryPolicy(
                attempts=settings.stream_retry_attempts,
                initial_s=settings.stream_retry_initial_seconds,
                max_s=settings.stream_retry_max_seconds,
            ),
            clock=clock,
        )
        stages.run_stages(streamer, totals, max_batches, progress)
    finally:
        if owns_sink:
            target.close()
    answer = totals.as_dict(clock.monotonic() - started)
    logs.log_summary(
        log,
        "stream finished",
        wall_started,
        job="stream",
        sink=target.kind,
        claimed=totals.claimed,
        delivered=totals.delivered,
        failed=totals.failed,
        held=totals.held,
        lease_lost=totals.lease_lost,
        batches=totals.batches,
        sink_state=totals.sink_state,
    )
    if totals.sink_state == "misconfigured":
        log.error(
            "warehouse misconfigured: fix the deployment; events are held, none failed",
            extra={"fields": {"sink": target.kind, "error": totals.sink_error}},
        )
    return answer


def run(
    params: StreamRequest,
    settings: Settings,
    *,
    sink: Sink | None = None,
    token_provider: fanout.IdTokenProvider | None = None,
    clock: Clock | None = None,
) -> dict[str, Any]:
    """The job behind the HTTP function and the CLI command; fans out by backlog (fanout.py)
    when ``STREAM_FANOUT_URL`` and ``STREAM_MAX_PARALLEL`` > 1 say so and this is no child.
    ``sink`` (the caller's; closed at the end, reusable) replaces the one ``params.sink`` names."""
    clock = clock or SystemClock()
    budget = params.max_seconds if params.max_seconds is not None else settings.stream_max_seconds
    fan = None
    if not params.child and settings.stream_fanout_url and settings.stream_max_parallel > 1:
        fan = fanout.FanOut(
            url=settings.stream_fanout_url,
            max_parallel=settings.stream_max_parallel,
            deadline=clock.monotonic() + budget,
            clock=clock,
            backlog=lambda: _backlog(settings),
            child_body=lambda seconds_left: _child_body(params, seconds_left),
            token_provider=token_provider or fanout.google_id_token,
        )
    owned = get_sink(settings, params.sink) if params.sink and sink is None else None
    try:
        answer = stream(
            settings,
            sink=sink or owned,
            batch_size=params.batch_size,
            max_seconds=budget,
            max_batches=params.max_batches,
            visibility_timeout_seconds=params.visibility_timeout_seconds,
            progress=fan,
            clock=clock,
        )
    finally:
        # Closed before waiting for the children: they need the warehouse (DuckDB: the file)
        # too. A sink can be used again after close().
        for used in (sink, owned):
            if used is not None:
                used.close()
    if fan is not None:
        answer["fanout"] = fan.finish(timeout_s=budget + 60)
    return answer


def _backlog(settings: Settings) -> int:
    with db.connect(settings, autocommit=True) as conn:
        return store.backlog(conn, cap=10_000_000)


def _child_body(params: StreamRequest, seconds_left: float) -> dict[str, Any]:
    """A child's request: the parent's options, the budget the parent has left, no fan-out."""
    body = params.model_dump(exclude_none=True, exclude={"child", "max_seconds", "max_batches"})
    body["child"] = True
    body["max_seconds"] = max(round(seconds_left, 1), 1.0)
    return body
