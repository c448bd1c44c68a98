"""pipeline_status: the seed's three monitoring questions plus the backlog and its age.

- ``processing_last_hour``: events received in the last hour per status, with average retries;
- ``syncs_last_day``: per warehouse, sync count, average duration, events synced and failed;
- ``failures``: failed events grouped by type and error, most frequent first;
- ``backlog`` (pending + processing), ``oldest_pending_age_s``, ``failed``, ``erasure_queue``;
- ``delivery``: each warehouse's health as the stream last found it (``ok``, ``unavailable``,
  ``throttled``, ``misconfigured``: since when, the last error, when it is tried again) and the
  durable batches in flight, with the events held back while a sink fails (they spend no
  attempt and are delivered once it is back).

The summary log line carries ``backlog`` and ``oldest_pending_age_s`` for log-based metrics and
alerts (infra/monitoring): a growing age means streaming is not keeping up or not running.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from platform_events import db, logs
from platform_events.config import Settings
from platform_events.jobs.common import as_float, as_int
from platform_events.stores import status as store

log = logging.getLogger(__name__)


class StatusRequest(BaseModel):
    """Body of ``pipeline_status``; every field optional."""

    model_config = ConfigDict(extra="forbid")

    failures_limit: int = Field(
        default=20, ge=1, le=1000, description="Failure groups listed at most."
    )


def collect(conn: db.Conn, failures_limit: int = 20) -> dict[str, Any]:
    """Run the status queries on ``conn``."""
    backlog = store.backlog(conn) or {}
    pending = as_int(backlog.get("pending"))
    processing = as_int(backlog.get("processing"))
    age = backlog.get("oldest_pending_age_s")
    return {
        "backlog": pending + processing,
        "pending": pending,
        "processing": processing,
        "failed": as_int(backlog.get("failed")),
        "oldest_pending_age_s": round(max(as_float(age), 0.0), 3),
        "erasure_queue": as_int(backlog.get("erasure_queue")),
        "processing_last_hour": store.processing(conn),
        "syncs_last_day": store.syncs(conn),
        "failures": store.failures(conn, failures_limit),
        "delivery": delivery_health(conn),
        **dead_letter(conn),
    }


def dead_letter(conn: db.Conn) -> dict[str, Any]:
    """The ingest dead letter (30 days kept): messages rejected, by reason code and field."""
    by_reason = store.dead_letter_counts(conn)
    return {
        "rejected_messages": sum(as_int(r["messages"]) for r in by_reason),
        "rejected_by_reason": by_reason,
    }


def render_dead_letter(status: dict[str, Any]) -> list[str]:
    """The dead-letter lines of :func:`render`."""
    lines = [
        "",
        f"rejected by ingest (last 30 days): {status['rejected_messages']}"
        " (`platform-events rejected` lists them)",
    ]
    for row in status["rejected_by_reason"]:
        lines.append(f"  {row['messages']:>8}  {row['reason_code']}  {row['reason_field'] or '-'}")
    return lines


def delivery_health(conn: db.Conn) -> dict[str, Any]:
    """Sink health (an outage: since when, why, events held back) and batches in flight."""
    batches = store.delivery_batches(conn) or {}
    return {
        "sinks": store.sink_health(conn),
        "batches": {
            name: as_int(batches.get(name))
            for name in ("leased", "held", "expired", "held_events", "max_attempt")
        },
    }


def _render_delivery(delivery: dict[str, Any]) -> list[str]:
    b = delivery["batches"]
    lines = [
        "",
        f"delivery batches: {b['leased']} leased, {b['held']} held back "
        f"({b['held_events']} events), {b['expired']} lease expired, most claims of one "
        f"{b['max_attempt']}",
    ]
    for sink in delivery["sinks"]:
        if sink["state"] == "ok":
            lines.append(f"  {sink['warehouse']:<9} ok (last recovered {sink['recovered_at']})")
            continue
        lines.append(
            f"  {sink['warehouse']:<9} {sink['state'].upper()} for {sink['failing_for_s']:.0f} s "
            f"(since {sink['failing_since']}, {sink['consecutive_failures']} failures), "
            f"next try {sink['retry_at']}: {sink['last_error']}"
        )
    return lines


def run(params: StatusRequest, settings: Settings) -> dict[str, Any]:
    """The pipeline's status as JSON."""
    started = time.monotonic()
    with db.connect(settings, autocommit=True) as conn:
        result = collect(conn, params.failures_limit)
    logs.log_summary(
        log,
        "status finished",
        started,
        job="status",
        backlog=result["backlog"],
        pending=result["pending"],
        failed=result["failed"],
        oldest_pending_age_s=result["oldest_pending_age_s"],
        erasure_queue=result["erasure_queue"],
        held_events=result["delivery"]["batches"]["held_events"],
        sinks_failing=sum(1 for s in result["delivery"]["sinks"] if s["state"] != "ok"),
    )
    return result


def render(status: dict[str, Any]) -> str:
    """Human-readable status for the terminal."""
    lines = [
        f"backlog: {status['backlog']} ({status['pending']} pending, "
        f"{status['processing']} processing), oldest pending {status['oldest_pending_age_s']:.0f} s",
        f"failed: {status['failed']}    erasure queue: {status['erasure_queue']}",
        "",
        "received in the last hour, by status:",
    ]
    for row in status["processing_last_hour"] or [{"status": "-", "events": 0, "avg_retries": 0}]:
        lines.append(
            f"  {row['status']:<11} {row['events']:>10}   avg retries {row['avg_retries']}"
        )
    lines += ["", "warehouse syncs in the last day:"]
    if not status["syncs_last_day"]:
        lines.append("  none")
    for row in status["syncs_last_day"]:
        lines.append(
            f"  {row['warehouse_type']:<9} {row['syncs']:>6} syncs  avg {row['avg_ms']} ms  "
            f"{row['total_synced']} synced  {row['total_failed']} failed  "
            f"{row['failed_syncs']} failed/partial syncs"
        )
    lines += ["", "failures by type and error:"]
    if not status["failures"]:
        lines.append("  none")
    for row in status["failures"]:
        lines.append(f"  {row['events']:>8}  {row['event_type']}  {row['error_message']}")
    lines += render_dead_letter(status)
    lines += _render_delivery(status["delivery"])
    return "\n".join(lines)
