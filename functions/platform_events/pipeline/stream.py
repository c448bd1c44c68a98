"""``stream_platform_events`` / ``platform-events stream``: drain the backlog into the warehouse.

Each loop: claim a batch (SKIP LOCKED, so concurrent invocations share the backlog), enrich it
(users, sessions, device, location: looked up once per batch), write it to the sink (retried,
split to isolate a poisonous event), then in one transaction acknowledge what was written,
release what was not (``retry_count`` + 1, next attempt after backoff, ``failed`` after
MAX_RETRIES), add the batch to the real-time counters and close its ``warehouse_sync_status`` row.
It stops when a claim comes back empty, when ``max_seconds`` is spent, or when the sink is down.
Claiming, enriching and writing run as three overlapping stages (threads, one connection each);
whatever is claimed and not written when the run stops is released.

Exactly once: a crash after the write and before the acknowledgement leaves the batch claimed;
after the visibility timeout another run re-claims and re-writes it, and the sink replaces rows by
``event_id``. Each row's ``load_id`` is the ``sync_id`` of the batch that last wrote it.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pyarrow as pa
from pydantic import BaseModel, ConfigDict, Field

from platform_events import db, logs
from platform_events.config import Settings, WarehouseKind
from platform_events.pipeline import batch as batches
from platform_events.pipeline import enrich, store
from platform_events.pipeline.retry import RetryPolicy, WriteOutcome, write_isolating
from platform_events.sinks import Sink, get_sink

log = logging.getLogger(__name__)

# Retries of a write near the end of the budget still get this long (a batch already claimed
# is better written a little late than released).
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


@dataclass(frozen=True)
class Claimed:
    """A claimed batch with its open ``warehouse_sync_status`` row, not yet enriched."""

    claimed: batches.ClaimedBatch
    sync_id: uuid.UUID
    started: float


@dataclass(frozen=True)
class Prepared(Claimed):
    """A claimed, enriched batch ready for the sink."""

    table: pa.Table


@dataclass
class Streamer:
    """One invocation's state: sink, lookups built once, limits. ``claim``, ``prepare`` and
    ``deliver`` each take their own connection, so they can run in three threads (see
    :func:`stream`)."""

    settings: Settings
    sink: Sink
    batch_size: int
    visibility_timeout: timedelta
    deadline: float
    geo_lookup: enrich.GeoLookup | None = None
    policy: RetryPolicy = field(default_factory=RetryPolicy)

    def claim(self, conn: db.Conn) -> Claimed | None:
        """Claim one batch and open its sync row; None when there was nothing to claim."""
        claimed = store.claim(
            conn, self.batch_size, self.visibility_timeout, self.settings.max_retries
        )
        if not len(claimed):
            return None
        started = time.monotonic()
        sync_id = uuid.uuid4()
        store.sync_started(conn, sync_id, self.sink.kind, claimed.span())
        return Claimed(claimed, sync_id, started)

    def prepare(self, conn: db.Conn, batch: Claimed) -> Prepared:
        """Enrich a claimed batch into the sink's table."""
        table = batches.to_arrow(batch.claimed, self._enrichment(conn, batch.claimed))
        return Prepared(batch.claimed, batch.sync_id, batch.started, table)

    def deliver(self, conn: db.Conn, batch: Prepared, totals: StreamTotals) -> WriteOutcome:
        """Write one prepared batch (retried, split to isolate bad rows) and settle it."""
        write_deadline = max(self.deadline, time.monotonic() + _MIN_WRITE_BUDGET_S)

        def call(fn: Any) -> object:
            return self.policy.call(fn, deadline=write_deadline)

        load_id = str(batch.sync_id)
        outcome = write_isolating(batch.table, lambda part: self.sink.write(part, load_id), call)
        self.settle(conn, batch, outcome, totals)
        return outcome

    def release(self, conn: db.Conn, batch: Claimed, error: str, totals: StreamTotals) -> None:
        """Give a claimed batch back unwritten (the sink went down meanwhile)."""
        outcome = WriteOutcome(unavailable=batch.claimed.event_ids, unavailable_error=error)
        self.settle(conn, batch, outcome, totals)

    def settle(
        self, conn: db.Conn, batch: Claimed, outcome: WriteOutcome, totals: StreamTotals
    ) -> None:
        claimed = batch.claimed
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
            conn,
            store.Settlement(
                sync_id=batch.sync_id,
                delivered=outcome.delivered,
                released=released,
                metric_names=names,
                metric_values=values,
                metric_dimensions=dims,
                duration_ms=int((time.monotonic() - batch.started) * 1000),
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

    def _enrichment(self, conn: db.Conn, claimed: batches.ClaimedBatch) -> dict[str, list[Any]]:
        users = store.user_facts(conn, self.settings.enrich_users_query, claimed.columns["user_id"])
        sessions = store.session_facts(conn, claimed)
        return enrich.enrich(
            claimed.columns, users=users, sessions=sessions, geo_lookup=self.geo_lookup
        )


_DONE = object()


def _claim_stage(
    streamer: Streamer,
    settings: Settings,
    out: queue.Queue[object],
    stop: threading.Event,
    max_batches: int | None,
) -> None:
    """The claiming thread: claimed batches into ``out`` (one ahead), then _DONE or an error."""
    produced = 0
    try:
        with db.connect(settings, autocommit=True) as conn:
            while not stop.is_set() and time.monotonic() < streamer.deadline:
                if max_batches is not None and produced >= max_batches:
                    break
                claimed = streamer.claim(conn)
                if claimed is None:
                    break
                produced += 1
                out.put(claimed)
        out.put(_DONE)
    except BaseException as exc:  # handed on to the delivering thread, which raises it
        out.put(exc)


def _enrich_stage(
    streamer: Streamer,
    settings: Settings,
    source: queue.Queue[object],
    out: queue.Queue[object],
    stop: threading.Event,
) -> None:
    """The enriching thread: each claimed batch from ``source`` enriched into ``out``; _DONE
    and errors passed on. After a stop, claimed batches pass on unenriched, to be released."""
    item: object = None
    try:
        with db.connect(settings, autocommit=True) as conn:
            while True:
                item = source.get()
                if isinstance(item, Claimed) and not stop.is_set():
                    item = streamer.prepare(conn, item)
                out.put(item)
                if not isinstance(item, Claimed):
                    return
    except BaseException as exc:
        # The batch in hand and whatever the claimer still hands over go on unenriched, so the
        # delivering thread releases them instead of leaving them claimed until the timeout.
        out.put(exc)  # first: the delivering thread raises it, then releases what follows
        if isinstance(item, Claimed):
            out.put(item)
        while isinstance(item := source.get(), Claimed):
            out.put(item)


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
        streamer = Streamer(
            settings=settings,
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
        # Three stages overlap, each on its own connection: while the sink writes batch n and
        # it is acknowledged, batch n+1 is enriched (user and session lookups) and batch n+2
        # claimed. Each stage waits mostly on PostgreSQL or DuckDB, which release the GIL; in
        # two stages the claim and the session lookup in series were the slowest (profiled:
        # the writer waited half its time for them). At most one batch waits between two
        # stages, so a stop leaves little claimed.
        claimed: queue.Queue[object] = queue.Queue(maxsize=1)
        prepared: queue.Queue[object] = queue.Queue(maxsize=1)
        stop = threading.Event()
        stages = [
            threading.Thread(
                target=_claim_stage,
                args=(streamer, settings, claimed, stop, max_batches),
                name="stream-claim",
                daemon=True,
            ),
            threading.Thread(
                target=_enrich_stage,
                args=(streamer, settings, claimed, prepared, stop),
                name="stream-enrich",
                daemon=True,
            ),
        ]
        with db.connect(settings, autocommit=True) as conn:
            for stage in stages:
                stage.start()
            try:
                _consume(streamer, conn, prepared, stop, totals, target, progress)
            finally:
                stop.set()
                _release_leftovers(streamer, conn, prepared, stages, totals)
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


def _consume(
    streamer: Streamer,
    conn: db.Conn,
    prepared: queue.Queue[object],
    stop: threading.Event,
    totals: StreamTotals,
    sink: Sink,
    progress: Any,
) -> None:
    """The delivering side: write and settle each prepared batch until the stages are done."""
    while True:
        item = prepared.get()
        if item is _DONE:
            return
        if isinstance(item, BaseException):
            raise item
        assert isinstance(item, Prepared)
        outcome = streamer.deliver(conn, item, totals)
        if progress is not None:
            progress.update(len(outcome.delivered))
        if outcome.sink_down:
            stop.set()
            log.error(
                "warehouse unavailable: batch released, stream stopped",
                extra={"fields": {"sink": sink.kind, "error": outcome.unavailable_summary}},
            )
            return


def _release_leftovers(
    streamer: Streamer,
    conn: db.Conn,
    prepared: queue.Queue[object],
    stages: list[threading.Thread],
    totals: StreamTotals,
) -> None:
    """After a stop: give back every batch claimed but not written, and let the stages end."""
    while any(stage.is_alive() for stage in stages) or not prepared.empty():
        try:
            item = prepared.get(timeout=0.1)
        except queue.Empty:
            continue
        if isinstance(item, Claimed):
            error = totals.errors[-1] if totals.errors else "stream stopped before writing"
            streamer.release(conn, item, error, totals)
    for stage in stages:
        stage.join()


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
