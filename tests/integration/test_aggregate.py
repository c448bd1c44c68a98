"""aggregate_events through the HTTP layer: equal to a direct COUNT, late events included."""

from __future__ import annotations

import io
import sys
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from platform_events.config import Settings
from platform_events.db import Conn
from tests.builders import emit
from tests.integration.jobs_http import call, client, field_of


def _direct(conn: Conn, granularity: str) -> set[tuple[Any, ...]]:
    rows = conn.execute(
        "SELECT date_trunc(%s, occurred_at, 'UTC') AS b, event_type, count(*) AS n, "
        "count(DISTINCT user_id) AS u, count(DISTINCT session_id) AS s "
        "FROM platform_events GROUP BY 1, 2",
        (granularity,),
    ).fetchall()
    return {(r["b"], r["event_type"], r["n"], r["u"], r["s"]) for r in rows}


def _stored(conn: Conn, granularity: str) -> set[tuple[Any, ...]]:
    rows = conn.execute(
        "SELECT bucket_start, event_type, event_count, unique_users, unique_sessions "
        "FROM event_aggregations WHERE granularity = %s",
        (granularity,),
    ).fetchall()
    return {
        (
            r["bucket_start"],
            r["event_type"],
            r["event_count"],
            r["unique_users"],
            r["unique_sessions"],
        )
        for r in rows
    }


def _traffic(conn: Conn, base: datetime) -> None:
    for i in range(30):
        emit(
            conn,
            ["user.login", "search.performed", "payment.completed"][i % 3],
            user_id=f"u{i % 7}",
            session_id=f"s{i % 5}" if i % 4 else None,
            occurred_at=base + timedelta(minutes=7 * i),
        )


def test_scheduled_aggregation_equals_a_direct_count_including_late_events(
    settings: Settings, conn: Conn
) -> None:
    now = datetime.now(UTC)
    _traffic(conn, now - timedelta(hours=3))
    # Late events: they happened days ago but arrive now.
    emit(conn, "user.login", user_id="late1", occurred_at=now - timedelta(days=2, minutes=5))
    emit(conn, "user.login", user_id="late2", occurred_at=now - timedelta(days=9))
    http = client(settings)

    status, answer = call(http, "aggregate_events", {})
    assert status == 200, answer
    assert answer["mode"] == "recent"
    for granularity in ("hour", "day", "week"):
        assert _stored(conn, granularity) == _direct(conn, granularity)

    # Another late event into an hour that was already aggregated: counted on the next run.
    emit(conn, "search.performed", user_id="late3", occurred_at=now - timedelta(days=2, minutes=1))
    status, _ = call(http, "aggregate_events", {})
    assert status == 200
    for granularity in ("hour", "day", "week"):
        assert _stored(conn, granularity) == _direct(conn, granularity)


def test_aggregation_run_twice_gives_the_same_rows(settings: Settings, conn: Conn) -> None:
    _traffic(conn, datetime.now(UTC) - timedelta(hours=2))
    http = client(settings)
    call(http, "aggregate_events", {})
    first = _stored(conn, "hour")
    call(http, "aggregate_events", {})
    assert _stored(conn, "hour") == first == _direct(conn, "hour")


def test_backfill_recomputes_every_bucket_of_the_range(settings: Settings, conn: Conn) -> None:
    start = datetime(2026, 3, 2, tzinfo=UTC)  # a Monday
    _traffic(conn, start + timedelta(hours=30))
    status, answer = call(
        client(settings),
        "aggregate_events",
        {"since": start.isoformat(), "until": (start + timedelta(days=14)).isoformat()},
    )
    assert status == 200, answer
    assert answer["mode"] == "range" and answer["ranges"] > 3
    for granularity in ("hour", "day", "week"):
        assert _stored(conn, granularity) == _direct(conn, granularity)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"since": "not a time"}, "since"),
        ({"until": "2026-01-01T00:00:00Z"}, "since"),
        ({"since": "2026-01-02T00:00:00Z", "until": "2026-01-01T00:00:00Z"}, "until"),
        ({"since": "2024-01-01T00:00:00Z", "until": "2026-01-01T00:00:00Z"}, "until"),
        ({"granularities": ["minute"]}, "granularities.0"),
        ({"granularities": []}, "granularities"),
        ({"lookback_hours": 0}, "lookback_hours"),
        ({"sinse": "2026-01-01"}, "sinse"),
    ],
)
def test_invalid_aggregate_bodies_get_400_naming_the_field(
    settings: Settings, body: dict[str, Any], field: str
) -> None:
    status, answer = call(client(settings), "aggregate_events", body)
    assert status == 400
    assert field_of(answer) == field


class _Terminal(io.StringIO):
    """A stderr that says it is a terminal, so the CLI draws its progress bar into it."""

    def isatty(self) -> bool:
        return True


def test_a_long_backfill_on_the_cli_shows_progress_over_every_range(
    settings: Settings, conn: Conn, monkeypatch: pytest.MonkeyPatch
) -> None:
    from platform_events import cli
    from platform_events.jobs import aggregate

    until = datetime(2026, 3, 31, tzinfo=UTC)
    since = until - timedelta(days=30)
    _traffic(conn, since + timedelta(days=2))
    ranges = len(aggregate.backfill_plan(since, until, aggregate.GRANULARITIES))
    assert ranges > 30  # one per day of hours, plus days and weeks
    monkeypatch.setenv("DATABASE_URL", str(settings.database_url))
    monkeypatch.setenv("PLATFORM_EVENTS_HOME", str(settings.home))
    terminal = _Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)

    assert cli.main(["aggregate", "--since", since.isoformat(), "--until", until.isoformat()]) == 0
    drawn = terminal.getvalue()
    assert f"{ranges}/{ranges}" in drawn and "range" in drawn
    assert _stored(conn, "hour") == _direct(conn, "hour")
