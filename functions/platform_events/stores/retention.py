"""Retention and partition statements (``jobs/retention.py``, ``jobs/cleanup.py``): what has
expired, the monthly partitions retired whole, the bounded deletes and purges, and the
partitions and metrics kept in order."""

from __future__ import annotations

from datetime import timedelta

from platform_events.db import Conn
from platform_events.queries import sql
from platform_events.stores import Row


def preview(conn: Conn) -> list[Row]:
    """Per type: its retention and how many events have expired (dry run)."""
    return conn.execute(sql("jobs_retention_preview")).fetchall()


def delete_batch(conn: Conn, batch_size: int) -> list[Row]:
    """One bounded delete per type (``apply_data_retention_policy``): ``deleted`` per type."""
    return conn.execute(sql("jobs_retention_batch"), {"batch_size": batch_size}).fetchall()


def policies(conn: Conn) -> list[Row]:
    """The retention in force per type (latest version), for the warehouse's own deletes."""
    return conn.execute(sql("jobs_retention_policies")).fetchall()


def partition_candidates(conn: Conn) -> list[Row]:
    """Monthly partitions that ended before the shortest retention began."""
    return conn.execute(sql("jobs_partition_candidates")).fetchall()


def range_expired(conn: Conn, lo: object, hi: object) -> Row | None:
    """Whether every event of [lo, hi) is expired and delivered, and how many there are."""
    return conn.execute(sql("jobs_range_expired"), {"from": lo, "to": hi}).fetchone()


def detach_partition(
    conn: Conn, partition: object, lock_timeout: timedelta, attempts: int
) -> Row | None:
    """``platform_events_detach_partition``: its ``outcome`` (detached, busy, ...)."""
    return conn.execute(
        sql("jobs_detach_partition"),
        {"partition": partition, "lock_timeout": lock_timeout, "attempts": attempts},
    ).fetchone()


def retired_partitions(conn: Conn) -> list[Row]:
    """Retired (detached) monthly tables not yet finished, oldest first."""
    return conn.execute(sql("jobs_retired_partitions")).fetchall()


def delete_retired_deliveries(conn: Conn, lo: object, hi: object, batch_size: int) -> int:
    """One batch of the delivery rows of a retired month; how many were deleted."""
    return conn.execute(
        sql("jobs_delete_retired_deliveries"), {"from": lo, "to": hi, "batch_size": batch_size}
    ).rowcount


def drop_retired_partition(conn: Conn, table: object) -> None:
    """Drop a retired monthly table."""
    conn.execute(sql("jobs_drop_retired_partition"), {"table": table})


def purge_quarantine(conn: Conn) -> Row | None:
    """Purge quarantined events past their time; how many were ``purged``."""
    return conn.execute(sql("jobs_purge_quarantine")).fetchone()


def purge_dead_letter(conn: Conn) -> Row | None:
    """Purge dead letters past their time; how many were ``purged``."""
    return conn.execute(sql("jobs_purge_dead_letter")).fetchone()


def cleanup_metrics(conn: Conn) -> Row | None:
    """Delete expired metrics; how many were ``removed``."""
    return conn.execute(sql("jobs_cleanup_metrics")).fetchone()


def ensure_partitions(conn: Conn, ahead: int, back: int) -> list[str]:
    """Create the missing monthly partitions from ``back`` months ago to ``ahead``; their names."""
    rows = conn.execute(sql("jobs_ensure_partitions"), {"ahead": ahead, "back": back})
    return [str(r["partition_name"]) for r in rows]
