"""Cleanup job (every 15 minutes): expired real-time metrics removed, future partitions ensured.

Creating the coming months' partitions here (idempotent, a catalogue check when they exist) means
a month always exists weeks before its first insert, so nothing lands in the default partition.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from platform_events import db, logs
from platform_events.config import Settings
from platform_events.jobs.common import as_int
from platform_events.stores import retention as store

log = logging.getLogger(__name__)


class CleanupRequest(BaseModel):
    """Body of ``cleanup_metrics``; every field optional."""

    model_config = ConfigDict(extra="forbid")

    partitions_ahead: int = Field(
        default=3, ge=1, le=24, description="Months of partitions kept ready ahead of now."
    )


def run(params: CleanupRequest, settings: Settings) -> dict[str, Any]:
    """Delete expired metrics and create missing partitions; returns what it did."""
    started = time.monotonic()
    with db.connect(settings, autocommit=True) as conn:
        row = store.cleanup_metrics(conn)
        removed = as_int(row["removed"]) if row else 0
        created = store.ensure_partitions(conn, ahead=params.partitions_ahead, back=1)
    logs.log_summary(
        log,
        "cleanup finished",
        started,
        job="cleanup",
        metrics_removed=removed,
        partitions_created=len(created),
    )
    return {"metrics_removed": removed, "partitions_created": created}
