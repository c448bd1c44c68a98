"""The client's read side: events by filter (keyset pages), dashboard metrics, aggregations, and
the dbt models on the warehouse (funnel, cohorts, behaviour features) as typed values."""

from __future__ import annotations

import base64
import json
import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal, cast

from pydantic import BaseModel, ConfigDict, Field

from platform_events.client.warehouse import WarehouseReader
from platform_events.db import Conn
from platform_events.errors import InvalidRequest
from platform_events.stores import models
from platform_events.stores import reads as store

Granularity = Literal["hour", "day", "week"]


class EventFilters(BaseModel):
    """What ``query_events`` selects; every filter is optional."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    event_types: list[str] | None = None
    category: str | None = None
    user_id: str | None = None
    session_id: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    data_contains: dict[str, Any] | None = Field(
        default=None, description="event_data must contain this JSON (served by the GIN index)"
    )


class Page(BaseModel):
    """A page of results: ``cursor`` is the ``next_cursor`` of the previous page."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    limit: int = Field(default=50, ge=1, le=1000)
    cursor: str | None = None


@dataclass(frozen=True)
class EventPage:
    events: list[dict[str, Any]]
    next_cursor: str | None


def _encode_cursor(occurred_at: datetime, event_id: uuid.UUID) -> str:
    raw = json.dumps([occurred_at.isoformat(), str(event_id)]).encode()
    return base64.urlsafe_b64encode(raw).decode()


def _decode_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    try:
        at, event_id = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        return datetime.fromisoformat(at), uuid.UUID(event_id)
    except (ValueError, TypeError) as exc:
        raise InvalidRequest("the page cursor is not valid", field="page.cursor") from exc


def query_events(conn: Conn, filters: EventFilters, page: Page) -> EventPage:
    """Events matching ``filters``, newest first, one page at a time."""
    after_at, after_id = _decode_cursor(page.cursor) if page.cursor else (None, None)
    rows = store.events_page(conn, filters.model_dump(), (after_at, after_id), page.limit + 1)
    more = len(rows) > page.limit
    rows = rows[: page.limit]
    cursor = None
    if more:
        last = rows[-1]
        cursor = _encode_cursor(
            cast(datetime, last["occurred_at"]), cast(uuid.UUID, last["event_id"])
        )
    return EventPage(events=rows, next_cursor=cursor)


def dashboard_metrics(conn: Conn) -> dict[str, Any]:
    """Live counters plus the last 24 hours per event type (from the hourly aggregations)."""
    realtime = store.realtime_metrics(conn)
    by_type = store.last_day_by_type(conn)
    return {
        "realtime": realtime,
        "last_24h": {
            "events": sum(cast(int, row["events"]) for row in by_type),
            "by_type": by_type,
        },
    }


def aggregations(
    conn: Conn,
    event_type: str | None,
    granularity: Granularity,
    time_range: tuple[datetime, datetime],
) -> list[dict[str, Any]]:
    """Stored aggregation buckets of ``granularity`` starting within ``time_range`` [start, end)."""
    if granularity not in ("hour", "day", "week"):
        raise InvalidRequest("granularity must be hour, day or week", field="granularity")
    start, end = time_range
    if end <= start:
        raise InvalidRequest("the range must end after it starts", field="range")
    return store.aggregations(conn, granularity, event_type, start, end)


# -- the dbt models (analytics/): typed reads on the warehouse ---------------------------------


class FunnelStep(BaseModel):
    """One step of the funnel over a range of entry days."""

    model_config = ConfigDict(frozen=True)

    step_index: int
    step_name: str
    event_type: str
    users: int = Field(description="funnel entries (user x entry day) that reached this step")
    conversion_from_previous: float | None
    conversion_from_start: float | None
    median_seconds_from_previous: float | None = Field(
        description="the median over the range's days of each day's median (the day's own for "
        "a one-day range)"
    )


class ConversionFunnel(BaseModel):
    """The marketplace funnel (``conversion_funnel``) for entry days [since, until]."""

    model_config = ConfigDict(frozen=True)

    since: date
    until: date
    user_role: str | None = Field(description="None: every role")
    steps: list[FunnelStep]


class CohortWeek(BaseModel):
    model_config = ConfigDict(frozen=True)

    weeks_since_signup: int
    active_users: int
    retention_rate: float


class CohortData(BaseModel):
    """One weekly sign-up cohort and its retention (``cohort_retention``)."""

    model_config = ConfigDict(frozen=True)

    cohort_week: date
    cohort_size: int
    weeks: list[CohortWeek]


class UserBehaviorFeatures(BaseModel):
    """One user's features on one active day (``user_behavior_features``)."""

    model_config = ConfigDict(frozen=True, extra="allow")

    user_id: str
    activity_date: date
    events: int
    transaction_events: int
    interaction_events: int
    user_activity_events: int
    content_events: int
    events_by_type: dict[str, int] = Field(description="activity per event type of the dbt var")
    sessions: int
    payments: int
    monetary_value: float
    recency_days: int | None
    frequency_28d: int
    monetary_value_28d: float
    days_active_7d: int
    days_active_28d: int


def _median(values: list[float]) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[middle]
    return (ordered[middle - 1] + ordered[middle]) / 2


def query_funnel(
    warehouse: WarehouseReader, since: date, until: date, user_role: str | None = None
) -> ConversionFunnel:
    """The funnel of entries on days [since, until], for one role or all; conversions recomputed
    from the summed counts."""
    if until < since:
        raise InvalidRequest("the range must not end before it starts", field="until")
    rows = models.funnel(warehouse, since, until, user_role)
    steps: dict[int, dict[str, Any]] = {}
    medians: dict[int, list[float]] = {}
    for row in rows:
        step = steps.setdefault(
            int(row["step_index"]),
            {"step_name": row["step_name"], "event_type": row["event_type"], "users": 0},
        )
        step["users"] += int(row["users"])
        if row["median_seconds_from_previous"] is not None:
            medians.setdefault(int(row["step_index"]), []).append(
                float(row["median_seconds_from_previous"])
            )
    out: list[FunnelStep] = []
    first = steps[min(steps)]["users"] if steps else 0
    previous: int | None = None
    for index in sorted(steps):
        users = steps[index]["users"]
        out.append(
            FunnelStep(
                step_index=index,
                step_name=steps[index]["step_name"],
                event_type=steps[index]["event_type"],
                users=users,
                conversion_from_previous=users / previous if previous else None,
                conversion_from_start=users / first if first else None,
                median_seconds_from_previous=_median(medians.get(index, [])),
            )
        )
        previous = users
    return ConversionFunnel(since=since, until=until, user_role=user_role, steps=out)


def query_cohorts(
    warehouse: WarehouseReader, since: date | None = None, until: date | None = None
) -> list[CohortData]:
    """Weekly sign-up cohorts starting in [since, until] (either open), oldest first."""
    rows = models.cohorts(warehouse, since or date.min, until or date.max)
    cohorts: dict[date, CohortData] = {}
    for row in rows:
        week = _as_date(row["cohort_week"])
        cohort = cohorts.setdefault(
            week, CohortData(cohort_week=week, cohort_size=int(row["cohort_size"]), weeks=[])
        )
        cohort.weeks.append(
            CohortWeek(
                weeks_since_signup=int(row["weeks_since_signup"]),
                active_users=int(row["active_users"]),
                retention_rate=float(row["retention_rate"]),
            )
        )
    return [cohorts[week] for week in sorted(cohorts)]


_FEATURE_COLUMNS = frozenset(UserBehaviorFeatures.model_fields) - {"events_by_type"}


def query_user_features(
    warehouse: WarehouseReader,
    user_id: str,
    since: date | None = None,
    until: date | None = None,
) -> list[UserBehaviorFeatures]:
    """A user's features per active day in [since, until] (either open), oldest first."""
    rows = models.user_features(warehouse, user_id, since or date.min, until or date.max)
    features = []
    for row in rows:
        by_type = {
            name.removesuffix("_events"): int(value)
            for name, value in row.items()
            if name.endswith("_events") and name not in _FEATURE_COLUMNS
        }
        values = {k: v for k, v in row.items() if k in _FEATURE_COLUMNS}
        values["activity_date"] = _as_date(values["activity_date"])
        features.append(UserBehaviorFeatures(**values, events_by_type=by_type))
    return features


def _as_date(value: Any) -> date:
    return value.date() if isinstance(value, datetime) else cast(date, value)


class DailyActiveUsers(BaseModel):
    model_config = ConfigDict(frozen=True)

    activity_date: date
    active_users: int
    events: int
    sessions: int


def query_daily_active_users(
    warehouse: WarehouseReader, since: date, until: date
) -> list[DailyActiveUsers]:
    """Identified active users per day in [since, until]."""
    rows = models.daily_active_users(warehouse, since, until)
    return [
        DailyActiveUsers(**{**row, "activity_date": _as_date(row["activity_date"])}) for row in rows
    ]
