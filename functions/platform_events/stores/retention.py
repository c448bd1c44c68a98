"""Retention and partition statements (``jobs/retention.py``, ``jobs/cleanup.py``): what has
expired, the leaves (month x retention class) retired whole, the bounded row deletes, the ledger
slot recycled, the purges, and the partitions and metrics kept in order."""

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
    """Leaves (month x retention class) whose month ended more than their class ago."""
    return conn.execute(sql("jobs_partition_candidates")).fetchall()


def partition_events(conn: Conn, leaf: Row) -> int:
    """How many events a leaf (a ``partition_candidates`` row) holds."""
    row = conn.execute(
        sql("jobs_partition_events"),
        {
            "from": leaf["range_start"],
            "to": leaf["range_end"],
            "retention_class": leaf["retention_class"],
        },
    ).fetchone()
    events = row["events"] if row else 0
    return events if isinstance(events, int) else 0


def leaf_expiry(conn: Conn, partition: object) -> str:
    """A leaf's state without changing it: expired, not_expired or undelivered."""
    row = conn.execute(sql("jobs_leaf_expiry"), {"partition": partition}).fetchone()
    return str(row["outcome"]) if row else "not_expired"


def detach_partition(
    conn: Conn, partition: object, lock_timeout: timedelta, attempts: int
) -> Row | None:
    """``platform_events_detach_partition``: its ``outcome`` (detached, busy, ...)."""
    return conn.execute(
        sql("jobs_detach_partition"),
        {"partition": partition, "lock_timeout": lock_timeout, "attempts": attempts},
    ).fetchone()


def retired_partitions(conn: Conn) -> list[Row]:
    """Retired (detached) leaves not yet dropped, oldest first."""
    return conn.execute(sql("jobs_retired_partitions")).fetchall()


def drop_retired_partition(conn: Conn, table: object) -> None:
    """Drop a retired leaf."""
    conn.execute(sql("jobs_drop_retired_partition"), {"table": table})


def drop_empty_months(conn: Conn) -> list[str]:
    """Drop the month tables left without leaves; their names."""
    return [str(r["month"]) for r in conn.execute(sql("jobs_drop_empty_months"))]


def recycle_ledger(conn: Conn, lock_timeout: timedelta, attempts: int) -> Row | None:
    """Recycle the ledger slot older than the dedupe window: ``slot``, ``outcome``, ``held``."""
    return conn.execute(
        sql("jobs_recycle_ledger"), {"lock_timeout": lock_timeout, "attempts": attempts}
    ).fetchone()


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
