"""What the console shows, as plain JSON-able dicts: the pages render them and ``/api/console/*``
answers them, so a page and the API always say the same numbers."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from platform_events import db
from platform_events.client import reads
from platform_events.client.warehouse import reader
from platform_events.config import Settings
from platform_events.jobs import status
from platform_events.jobs.common import as_int
from platform_events.pipeline import store as stream_store
from platform_events.stores import reads as store

HOURS = 24
DAYS = 30
COHORTS = 12


def _page(values: dict[str, Any]) -> dict[str, Any]:
    plain: dict[str, Any] = _plain(values)
    return plain


def _plain(value: Any) -> Any:
    """Dates and decimals as JSON values (what the API answers and the pages print)."""
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if hasattr(value, "is_finite"):  # Decimal
        return float(value)
    return value


def pipeline(settings: Settings) -> dict[str, Any]:
    """Backlog, oldest pending age, throughput and lag per hour, failures, dead letters, syncs."""
    now = datetime.now(UTC)
    with db.connect(settings, autocommit=True) as conn:
        health = status.collect(conn)
        hourly = store.throughput_hourly(conn, HOURS)
        syncs = stream_store.recent_syncs(conn)
        dead = store.dead_letters_by_reason(conn, HOURS)
    return _page(
        {
            "backlog": health["backlog"],
            "pending": health["pending"],
            "processing": health["processing"],
            "failed": health["failed"],
            "oldest_pending_age_s": health["oldest_pending_age_s"],
            "delivered_last_hours": sum(as_int(h["delivered"]) for h in hourly),
            "hours": HOURS,
            "window": [now - timedelta(hours=HOURS), now],
            "hourly": hourly,
            "failures": health["failures"],
            "dead_letters": dead,
            "recent_syncs": syncs,
        }
    )


def analytics(settings: Settings, today: date | None = None) -> dict[str, Any]:
    """The funnel and daily active users of the last DAYS days, and the last COHORTS cohorts."""
    until = today or datetime.now(UTC).date()
    since = until - timedelta(days=DAYS - 1)
    warehouse = reader(settings)
    try:
        funnel = reads.query_funnel(warehouse, since, until)
        cohorts = reads.query_cohorts(warehouse)[-COHORTS:]
        active = reads.query_daily_active_users(warehouse, since, until)
    finally:
        warehouse.close()
    horizon = max((w.weeks_since_signup for c in cohorts for w in c.weeks), default=-1) + 1
    return _page(
        {
            "since": since,
            "until": until,
            "funnel": [step.model_dump() for step in funnel.steps],
            "cohorts": [c.model_dump() for c in cohorts],
            "cohort_weeks": min(horizon, 12),
            "daily_active_users": [d.model_dump() for d in active],
        }
    )
