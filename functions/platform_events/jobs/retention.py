"""Retention job (daily 02:00): per-type retention from ``event_schemas``, without blocking ingest.

``platform_events`` is partitioned by month of received_at, then by retention class (migration
0062), so retention is mostly dropping tables. Order of work, each step its own short transactions:

1. Retired leaves left by an interrupted run are dropped.
2. Leaves (one month, one retention class) whose month ended more than their class and a day ago
   are detached by ``platform_events_detach_partition`` (SECURITY DEFINER, 50 ms lock_timeout,
   retries), which first checks that none of their events is undelivered and moves the events of
   a type whose retention has grown to its longer class; then dropped (``partitions="detach"``
   keeps the table for archiving: it is then outside erasure's reach, so archive and drop it
   soon). Month tables left without leaves are dropped too.
3. What partitions cannot expire is deleted by row in bounded batches
   (``apply_data_retention_policy``, each call its own transaction): late arrivals (occurred_at
   before the month they were received in), events of a type whose retention was shortened, and
   the default partition's rows; until a call deletes nothing or the time budget is spent
   (``complete: false``: the next run continues). Undelivered events are never deleted.
4. The delivery ledger's slot older than the dedupe window is recycled (its undelivered rows move
   to the held slot, then TRUNCATE).
5. Quarantined events and dead letters older than 30 days are purged.
6. The warehouse applies the same per-type retention (``Sink.delete_expired``): DuckDB and Redshift
   delete by type and age; BigQuery runs a DML DELETE per type on the occurred_at partitions (the
   table's partition expiration, set by Terraform to the longest retention, is the backstop).

``dry_run`` changes nothing and reports what would go.
"""

from __future__ import annotations

import logging
import time
from datetime import timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from platform_events import db, logs
from platform_events.config import Settings
from platform_events.jobs.common import BATCH_SIZE, as_int
from platform_events.sinks import get_sink
from platform_events.stores import retention as store

log = logging.getLogger(__name__)


class RetentionRequest(BaseModel):
    """Body of ``apply_retention``; every field optional."""

    model_config = ConfigDict(extra="forbid")

    dry_run: bool = Field(
        default=False, description="Report what would be deleted, change nothing."
    )
    batch_size: int = Field(
        default=BATCH_SIZE, ge=1, le=100_000, description="Events per type per delete batch."
    )
    max_seconds: float = Field(
        default=240.0, gt=0, le=3600, description="Time budget; the next run continues."
    )
    partitions: Literal["drop", "detach", "off"] = Field(
        default="drop", description="What to do with wholly expired monthly partitions."
    )
    lock_timeout_ms: int = Field(
        default=50, ge=1, le=5000, description="Longest wait for the detach lock, per attempt."
    )
    warehouse: bool = Field(default=True, description="Also apply retention in the warehouse.")


def _finish_retired(conn: db.Conn, drop: bool) -> list[dict[str, Any]]:
    """Drop each retired leaf (unless kept)."""
    done = []
    for retired in store.retired_partitions(conn):
        if drop:
            store.drop_retired_partition(conn, retired["table_name"])
        done.append({"table": retired["table_name"], "action": "dropped" if drop else "detached"})
    return done


def _retire_partitions(conn: db.Conn, params: RetentionRequest) -> tuple[list[dict[str, Any]], int]:
    """Check each candidate leaf; detach those wholly expired (dry run: only report)."""
    report: list[dict[str, Any]] = []
    events = 0
    for part in store.partition_candidates(conn):
        count = store.partition_events(conn, part)
        entry: dict[str, Any] = {"partition": part["partition_name"], "events": count}
        if params.dry_run:
            outcome = store.leaf_expiry(conn, part["partition_name"])
            entry["action"] = "would_retire" if outcome == "expired" else outcome
        else:
            row = store.detach_partition(
                conn,
                part["partition_name"],
                lock_timeout=timedelta(milliseconds=params.lock_timeout_ms),
                attempts=20,
            )
            entry["action"] = str(row["outcome"]) if row else "busy"
            if entry["action"] == "detached":
                events += count
        report.append(entry)
    return report, events


def _delete_batches(
    conn: db.Conn, batch_size: int, deadline: float
) -> tuple[dict[str, int], int, bool]:
    """apply_data_retention_policy until it deletes nothing or time runs out."""
    deleted: dict[str, int] = {}
    batches = 0
    while True:
        rows = store.delete_batch(conn, batch_size)
        batches += 1
        total = 0
        for row in rows:
            n = as_int(row["deleted"])
            if n:
                deleted[str(row["event_type"])] = deleted.get(str(row["event_type"]), 0) + n
                total += n
        if total == 0:
            return deleted, batches, True
        if time.monotonic() >= deadline:
            return deleted, batches, False


def _warehouse_retention(settings: Settings, policies: dict[str, timedelta]) -> int:
    with get_sink(settings) as sink:
        return sink.delete_expired(policies)


def run(params: RetentionRequest, settings: Settings) -> dict[str, Any]:
    """Apply retention (or report it with dry_run); see the module docstring for the steps."""
    started = time.monotonic()
    deadline = started + params.max_seconds
    result: dict[str, Any] = {"dry_run": params.dry_run}
    with db.connect(settings, autocommit=True) as conn:
        if params.dry_run:
            preview = store.preview(conn)
            result["expired"] = {
                str(r["event_type"]): as_int(r["expired"]) for r in preview if r["expired"]
            }
            result["partitions"], _ = (
                _retire_partitions(conn, params) if params.partitions != "off" else ([], 0)
            )
            logs.log_summary(
                log,
                "retention finished",
                started,
                job="retention",
                dry_run=True,
                deleted_total=0,
                would_delete=sum(result["expired"].values()),
                partitions_retired=0,
                warehouse_deleted=0,
                complete=True,
            )
            return result
        drop = params.partitions == "drop"
        finished = _finish_retired(conn, drop)
        retired: list[dict[str, Any]] = []
        partition_events = 0
        months: list[str] = []
        if params.partitions != "off":
            retired, partition_events = _retire_partitions(conn, params)
            finished += _finish_retired(conn, drop)
            months = store.drop_empty_months(conn)
        deleted, batches, complete = _delete_batches(conn, params.batch_size, deadline)
        ledger = store.recycle_ledger(
            conn, timedelta(milliseconds=params.lock_timeout_ms), attempts=20
        )
        purged_row = store.purge_quarantine(conn)
        dead_row = store.purge_dead_letter(conn)
        policies = {str(r["event_type"]): r["retention"] for r in store.policies(conn)}
    warehouse_deleted = (
        _warehouse_retention(settings, policies) if params.warehouse else 0  # type: ignore[arg-type]
    )
    result.update(
        {
            "partitions": retired,
            "retired_tables": finished,
            "months_dropped": months,
            "partition_events_deleted": partition_events,
            "deleted": deleted,
            "deleted_total": sum(deleted.values()),
            "batches": batches,
            "complete": complete,
            "ledger": {
                "slot": as_int(ledger["slot"]) if ledger else None,
                "outcome": str(ledger["outcome"]) if ledger else "busy",
                "held": as_int(ledger["held"]) if ledger else 0,
            },
            "quarantine_purged": as_int(purged_row["purged"]) if purged_row else 0,
            "dead_letter_purged": as_int(dead_row["purged"]) if dead_row else 0,
            "warehouse": settings.warehouse if params.warehouse else None,
            "warehouse_deleted": warehouse_deleted,
        }
    )
    logs.log_summary(
        log,
        "retention finished",
        started,
        job="retention",
        dry_run=False,
        deleted_total=result["deleted_total"],
        partitions_retired=sum(1 for p in retired if p["action"] == "detached"),
        partition_events_deleted=partition_events,
        warehouse_deleted=warehouse_deleted,
        quarantine_purged=result["quarantine_purged"],
        dead_letter_purged=result["dead_letter_purged"],
        ledger_outcome=result["ledger"]["outcome"],
        complete=complete,
    )
    return result
