"""Aggregation job: hourly, daily and weekly buckets per event type, recomputed so late events count.

Scheduled run (no range): for each granularity, the buckets holding any event *received* in the
last ``lookback_hours`` are recomputed (aggregate_events replaces a bucket from the stored events),
so an event that arrives late, with an ``occurred_at`` hours or days back, is counted in its own
bucket at the next run. Backfill (``since``/``until``): every bucket of the range, in chunks of a
day (weeks: four weeks), each its own short transaction, with progress on the CLI.

Recomputing a bucket whose events retention already deleted would lower its counts: backfills
are for ranges still within retention.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import psycopg
from pydantic import BaseModel, ConfigDict, Field

from platform_events import db, logs
from platform_events.config import Settings
from platform_events.errors import InvalidRequest
from platform_events.jobs.common import (
    IsoDatetime,
    Progress,
    as_int,
    as_request_error,
    chunks,
    not_in_future,
    utc,
)
from platform_events.stores import aggregate as store

log = logging.getLogger(__name__)

Granularity = Literal["hour", "day", "week"]
GRANULARITIES: tuple[Granularity, ...] = ("hour", "day", "week")
STEP: dict[str, timedelta] = {
    "hour": timedelta(hours=1),
    "day": timedelta(days=1),
    "week": timedelta(weeks=1),
}
# Backfill chunk per granularity: one short transaction each.
CHUNK: dict[str, timedelta] = {
    "hour": timedelta(days=1),
    "day": timedelta(days=7),
    "week": timedelta(weeks=4),
}
MAX_RANGE = timedelta(days=400)


class AggregateRequest(BaseModel):
    """Body of ``aggregate_events``; every field optional."""

    model_config = ConfigDict(extra="forbid")

    since: IsoDatetime | None = Field(
        default=None, description="Backfill from this time (occurred_at, UTC if naive)."
    )
    until: IsoDatetime | None = Field(default=None, description="Backfill up to here; default now.")
    lookback_hours: int = Field(
        default=3,
        ge=1,
        le=168,
        description="Scheduled run: recompute buckets of events received this recently.",
    )
    granularities: list[Granularity] = Field(
        default_factory=lambda: list(GRANULARITIES), min_length=1, description="Which buckets."
    )


def floor(value: datetime, granularity: str) -> datetime:
    """Start of the UTC bucket holding ``value`` (weeks start on Monday, as date_trunc)."""
    value = utc(value).astimezone(UTC)
    if granularity == "hour":
        return value.replace(minute=0, second=0, microsecond=0)
    day = value.replace(hour=0, minute=0, second=0, microsecond=0)
    if granularity == "day":
        return day
    return day - timedelta(days=day.weekday())


def merge_buckets(buckets: Iterable[datetime], granularity: str) -> list[tuple[datetime, datetime]]:
    """Consecutive bucket starts merged into [from, to) ranges, so each range is one call."""
    step = STEP[granularity]
    ranges: list[tuple[datetime, datetime]] = []
    for start in sorted(set(buckets)):
        if ranges and ranges[-1][1] == start:
            ranges[-1] = (ranges[-1][0], start + step)
        else:
            ranges.append((start, start + step))
    return ranges


def backfill_plan(
    since: datetime, until: datetime, granularities: Iterable[str]
) -> list[tuple[str, datetime, datetime]]:
    """The (granularity, from, to) calls of a backfill, aligned on bucket starts."""
    plan: list[tuple[str, datetime, datetime]] = []
    for granularity in granularities:
        start = floor(since, granularity)
        plan.extend(
            (granularity, lo, hi) for lo, hi in chunks(start, utc(until), CHUNK[granularity])
        )
    return plan


def validate_range(params: AggregateRequest, now: datetime) -> tuple[datetime, datetime] | None:
    """The backfill range, or None for a scheduled run; InvalidRequest names the bad field."""
    if params.since is None:
        if params.until is not None:
            raise InvalidRequest("until needs since", field="since", code="missing_field")
        return None
    since = utc(params.since)
    until = utc(params.until) if params.until is not None else now
    not_in_future(since, now, "since")
    if until <= since:
        raise InvalidRequest("until must be after since", field="until")
    if until - since > MAX_RANGE:
        raise InvalidRequest(
            f"the range is limited to {MAX_RANGE.days} days; split longer backfills", field="until"
        )
    return since, until


def _aggregate(conn: db.Conn, granularity: str, lo: datetime, hi: datetime) -> int:
    try:
        row = store.aggregate(conn, granularity, lo, hi)
    except psycopg.Error as exc:
        raise (as_request_error(exc) or exc) from None
    return as_int(row["buckets"]) if row else 0


def recent_plan(
    conn: db.Conn, granularities: Iterable[str], since: datetime
) -> list[tuple[str, datetime, datetime]]:
    """The (granularity, from, to) calls recomputing every bucket touched since ``since``."""
    plan: list[tuple[str, datetime, datetime]] = []
    for granularity in granularities:
        buckets = store.touched_buckets(conn, granularity, since)
        plan.extend(
            (granularity, lo, hi)
            for lo, hi in merge_buckets(buckets, granularity)  # type: ignore[arg-type]
        )
    return plan


def run(
    params: AggregateRequest,
    settings: Settings,
    *,
    progress: Progress | None = None,
    on_plan: Progress | None = None,
) -> dict[str, Any]:
    """Recompute the touched (or requested) buckets; returns buckets written per granularity."""
    started = time.monotonic()
    now = datetime.now(UTC)
    window = validate_range(params, now)
    granularities = list(dict.fromkeys(params.granularities))
    written: dict[str, int] = dict.fromkeys(granularities, 0)
    with db.connect(settings, autocommit=True) as conn:
        if window is None:
            plan = recent_plan(conn, granularities, now - timedelta(hours=params.lookback_hours))
        else:
            plan = backfill_plan(window[0], window[1], granularities)
        if on_plan is not None:
            on_plan(len(plan))
        for granularity, lo, hi in plan:
            written[granularity] += _aggregate(conn, granularity, lo, hi)
            if progress is not None:
                progress(1)
    result: dict[str, Any] = {
        "mode": "recent" if window is None else "range",
        "buckets": written,
        "ranges": len(plan),
    }
    if window is not None:
        result["since"], result["until"] = window[0].isoformat(), window[1].isoformat()
    logs.log_summary(
        log,
        "aggregate finished",
        started,
        job="aggregate",
        mode=result["mode"],
        buckets=sum(written.values()),
        ranges=len(plan),
    )
    return result
