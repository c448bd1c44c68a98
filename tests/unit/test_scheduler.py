"""Cron evaluation and the local scheduler's firing rules, without a clock or a network."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from platform_events import scheduler
from platform_events.config import load_settings
from platform_events.errors import ConfigError
from platform_events.scheduler import Cron, LocalScheduler, Schedule

T = datetime(2026, 3, 4, 13, 47, 12, tzinfo=UTC)  # a Wednesday


@pytest.mark.parametrize(
    ("expr", "after", "expected"),
    [
        ("* * * * *", T, datetime(2026, 3, 4, 13, 48, tzinfo=UTC)),
        ("0 * * * *", T, datetime(2026, 3, 4, 14, 0, tzinfo=UTC)),
        ("*/15 * * * *", T, datetime(2026, 3, 4, 14, 0, tzinfo=UTC)),
        ("*/15 * * * *", T.replace(minute=2), datetime(2026, 3, 4, 13, 15, tzinfo=UTC)),
        ("0 2 * * *", T, datetime(2026, 3, 5, 2, 0, tzinfo=UTC)),
        (
            "0 2 * * *",
            T.replace(hour=1, minute=59, second=59),
            datetime(2026, 3, 4, 2, 0, tzinfo=UTC),
        ),
        ("30 9 * * 1-5", T.replace(day=6, hour=10), datetime(2026, 3, 9, 9, 30, tzinfo=UTC)),
        ("0 0 1 * *", T, datetime(2026, 4, 1, tzinfo=UTC)),
        ("0 12 * * 0", T, datetime(2026, 3, 8, 12, tzinfo=UTC)),
        ("0 12 * * 7", T, datetime(2026, 3, 8, 12, tzinfo=UTC)),
        ("5,35 * * * *", T, datetime(2026, 3, 4, 14, 5, tzinfo=UTC)),
    ],
)
def test_next_fire_time(expr: str, after: datetime, expected: datetime) -> None:
    assert Cron.parse(expr).next_after(after) == expected


def test_the_next_fire_time_is_strictly_after_a_matching_minute() -> None:
    at = datetime(2026, 3, 4, 14, 0, tzinfo=UTC)
    assert Cron.parse("0 * * * *").next_after(at) == datetime(2026, 3, 4, 15, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    "expr", ["* * * *", "60 * * * *", "* 24 * * *", "*/0 * * * *", "a * * * *"]
)
def test_malformed_cron_expressions_are_refused(expr: str) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - several messages
        Cron.parse(expr)


def test_the_seed_schedules_fire_the_expected_number_of_times_in_a_day() -> None:
    local = LocalScheduler("http://x", "t")
    day = datetime(2026, 3, 4, tzinfo=UTC)
    last = day - timedelta(seconds=1)
    fired: dict[str, list[datetime]] = {}
    for minute in range(24 * 60):
        now = day + timedelta(minutes=minute, seconds=1)
        for schedule in local.due(last, now):
            fired.setdefault(schedule.job, []).append(now)
        last = now
    assert {job: len(times) for job, times in fired.items()} == {
        "stream": 1440,
        "aggregate": 24,
        "cleanup": 96,
        "retention": 1,
        "erasure": 96,
        "status": 288,
    }
    assert fired["retention"] == [day + timedelta(hours=2, seconds=1)]


def test_a_job_never_overlaps_its_previous_run() -> None:
    release = threading.Event()
    calls: list[str] = []

    def slow_post(
        url: str, token: str, body: dict[str, Any], timeout: float
    ) -> tuple[int, dict[str, Any]]:
        calls.append(url)
        release.wait(10)
        return 200, {}

    local = LocalScheduler(
        "http://serve/",
        "t",
        (Schedule("stream", "* * * * *", "stream_platform_events", {}),),
        poster=slow_post,
    )
    assert local.fire(local.schedules[0]) is True
    assert local.fire(local.schedules[0]) is False
    release.set()
    local.join(10)
    assert local.fire(local.schedules[0]) is True
    local.join(10)
    assert calls == ["http://serve/stream_platform_events"] * 2


def test_an_unreachable_server_is_recorded_not_raised() -> None:
    def refused(
        url: str, token: str, body: dict[str, Any], timeout: float
    ) -> tuple[int, dict[str, Any]]:
        raise ConnectionRefusedError("refused")

    local = LocalScheduler("http://serve", "t", scheduler.SCHEDULES[:1], poster=refused)
    local.fire(local.schedules[0])
    local.join(10)
    assert local.results["stream"][0] == 0


def test_driving_cloud_scheduler_needs_a_project() -> None:
    settings = load_settings(database_url=None)
    with pytest.raises(ConfigError, match="SCHEDULER_PROJECT_ID"):
        scheduler.job_name(settings, "stream")
    assert (
        scheduler.job_name(settings.model_copy(update={"scheduler_project_id": "p"}), "aggregate")
        == "projects/p/locations/us-central1/jobs/platform-events-aggregate"
    )
