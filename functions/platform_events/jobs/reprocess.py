"""Reprocess job: failed events back to pending, a time range re-sent to the warehouse, re-aggregated.

Re-sending is putting delivered (and failed) events of the range back to ``pending``: streaming
delivers them again in new batches. DuckDB and Redshift replace rows by ``event_id``; BigQuery
only appends (exactly-once per delivery batch), so each page's delivered events are first deleted
there (by ``event_id``, within their occurred_at span: the table requires a partition filter),
inside the page's transaction: its rows stay locked, so no stream worker re-sends them before the
delete, and a failed delete rolls the requeue back. Either way the warehouse ends with each event
once. One window is left: a process that dies after BigQuery's DELETE and before PostgreSQL's
commit leaves that page deleted in BigQuery and still ``delivered``; the call fails, and running
it again (it is idempotent) re-sends the page. The range is on ``occurred_at`` (what analysts query by),
optionally restricted to some event types, and limited to ``MAX_RANGE`` per call. Pages are keyset
ordered, so a worker re-delivering events meanwhile cannot make the job loop. Each page holds the
partition-retirement lock shared, so retention never detaches a month whose events go back to
pending. Real-time metrics count re-sent events again within their TTL (an hour).
"""

from __future__ import annotations

import logging
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from platform_events import db, logs
from platform_events.config import Settings
from platform_events.errors import InvalidRequest
from platform_events.jobs import aggregate
from platform_events.jobs.common import BATCH_SIZE, IsoDatetime, as_int, not_in_future, utc
from platform_events.sinks import Sink, get_sink
from platform_events.sinks.base import OccurredSpan
from platform_events.stores import reprocess as store

log = logging.getLogger(__name__)

MAX_RANGE = timedelta(days=92)
_START = (datetime(1970, 1, 1, tzinfo=UTC), uuid.UUID(int=0))


class ReprocessRequest(BaseModel):
    """Body of ``reprocess_events``: ``{"failed": true}`` and/or ``{"from": …, "to": …}``."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    failed: bool = Field(default=False, description="Put every failed event back to pending.")
    from_: IsoDatetime | None = Field(
        default=None, alias="from", description="Range start (occurred_at, UTC if naive)."
    )
    to: IsoDatetime | None = Field(default=None, description="Range end, exclusive.")
    event_types: list[str] | None = Field(
        default=None, min_length=1, max_length=100, description="Only these types (must exist)."
    )
    resend: bool = Field(default=True, description="Re-send the range to the warehouse.")
    reaggregate: bool = Field(default=True, description="Recompute the range's aggregations.")


def validate(params: ReprocessRequest) -> tuple[datetime, datetime] | None:
    """The range to reprocess (None: failed only); InvalidRequest names the bad field."""
    if params.from_ is None and params.to is None:
        if not params.failed:
            raise InvalidRequest(
                "nothing to do: set failed to true, or give a from/to range",
                field="failed",
                code="missing_field",
            )
        return None
    if params.from_ is None:
        raise InvalidRequest("a range needs from", field="from", code="missing_field")
    if params.to is None:
        raise InvalidRequest("a range needs to", field="to", code="missing_field")
    lo, hi = utc(params.from_), utc(params.to)
    not_in_future(lo, datetime.now(UTC), "from")
    if hi <= lo:
        raise InvalidRequest("to must be after from", field="to")
    if hi - lo > MAX_RANGE:
        raise InvalidRequest(
            f"the range is limited to {MAX_RANGE.days} days per call", field="to", code="too_large"
        )
    if not (params.resend or params.reaggregate):
        raise InvalidRequest(
            "a range with resend and reaggregate both false does nothing", field="resend"
        )
    return lo, hi


def _check_types(conn: db.Conn, types: list[str] | None) -> None:
    if types is None:
        return
    known = store.known_event_types(conn, types)
    unknown = sorted(set(types) - known)
    if unknown:
        raise InvalidRequest(
            f"unknown event type {unknown[0]!r}", field="event_types", code="unknown_event_type"
        )


def _requeue_failed(conn: db.Conn, types: list[str] | None) -> int:
    total = 0
    while True:
        with conn.transaction():
            n = store.requeue_failed(conn, types, BATCH_SIZE)
        total += n
        if n == 0:
            return total


class _Unsend:
    """Deletes a page's already-delivered events from an append-only warehouse (BigQuery); the
    sink is opened on first use, so a range with nothing delivered touches no warehouse."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.sink: Sink | None = None

    def __call__(self, event_ids: list[str], span: OccurredSpan) -> None:
        if self.sink is None:
            self.sink = get_sink(self.settings)
        if not self.sink.replaces_by_event_id:
            self.sink.delete_events(event_ids, span=span)

    def close(self) -> None:
        if self.sink is not None:
            self.sink.close()


def _requeue_range(
    conn: db.Conn, lo: datetime, hi: datetime, types: list[str] | None, unsend: _Unsend
) -> int:
    total = 0
    after_at, after_id = _START
    while True:
        with conn.transaction():
            store.hold_off_retirement(conn)
            row = store.requeue_range_page(conn, lo, hi, types, (after_at, after_id), BATCH_SIZE)
            if row is not None and row["delivered_ids"]:
                ids: list[str] = row["delivered_ids"]  # type: ignore[assignment]
                span: OccurredSpan = (row["delivered_from"], row["delivered_to"])  # type: ignore[assignment]
                unsend(ids, span)
        if row is None or row["last_at"] is None:
            return total
        total += as_int(row["requeued"])
        after_at, after_id = row["last_at"], row["last_id"]  # type: ignore[assignment]


def run(params: ReprocessRequest, settings: Settings) -> dict[str, Any]:
    """Requeue failed events and/or re-send and re-aggregate a range; returns the counts."""
    started = time.monotonic()
    window = validate(params)
    result: dict[str, Any] = {"failed_requeued": 0, "requeued": 0, "reaggregated_buckets": 0}
    with db.connect(settings, autocommit=True) as conn:
        _check_types(conn, params.event_types)
        if params.failed:
            result["failed_requeued"] = _requeue_failed(conn, params.event_types)
        if window is not None and params.resend:
            unsend = _Unsend(settings)
            try:
                result["requeued"] = _requeue_range(
                    conn, window[0], window[1], params.event_types, unsend
                )
            finally:
                unsend.close()
    if window is not None and params.reaggregate:
        done = aggregate.run(aggregate.AggregateRequest(since=window[0], until=window[1]), settings)
        result["reaggregated_buckets"] = sum(done["buckets"].values())
    if window is not None:
        result["from"], result["to"] = window[0].isoformat(), window[1].isoformat()
    logs.log_summary(
        log,
        "reprocess finished",
        started,
        job="reprocess",
        failed_requeued=result["failed_requeued"],
        requeued=result["requeued"],
        reaggregated_buckets=result["reaggregated_buckets"],
    )
    return result
