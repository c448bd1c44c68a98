"""Pure planning of aggregation runs: bucket floors, merged ranges, backfill chunks, validation."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest

from platform_events.errors import InvalidRequest
from platform_events.jobs.aggregate import (
    AggregateRequest,
    backfill_plan,
    floor,
    merge_buckets,
    validate_range,
)

T = datetime(2026, 3, 4, 13, 47, 12, tzinfo=UTC)  # a Wednesday


def test_floor_matches_postgres_date_trunc_in_utc() -> None:
    assert floor(T, "hour") == datetime(2026, 3, 4, 13, tzinfo=UTC)
    assert floor(T, "day") == datetime(2026, 3, 4, tzinfo=UTC)
    assert floor(T, "week") == datetime(2026, 3, 2, tzinfo=UTC)  # Monday
    assert floor(T.replace(tzinfo=None), "hour") == datetime(2026, 3, 4, 13, tzinfo=UTC)


def test_consecutive_buckets_merge_into_one_range_and_gaps_split() -> None:
    h = floor(T, "hour")
    buckets = [h, h + timedelta(hours=1), h + timedelta(hours=5), h, h - timedelta(days=3)]
    assert merge_buckets(buckets, "hour") == [
        (h - timedelta(days=3), h - timedelta(days=3, hours=-1)),
        (h, h + timedelta(hours=2)),
        (h + timedelta(hours=5), h + timedelta(hours=6)),
    ]
    assert merge_buckets([], "day") == []


def test_a_backfill_is_cut_into_aligned_chunks_covering_the_range() -> None:
    plan = backfill_plan(T, T + timedelta(days=3), ["hour", "week"])
    hours = [(lo, hi) for g, lo, hi in plan if g == "hour"]
    assert hours[0][0] == floor(T, "hour") and hours[-1][1] == T + timedelta(days=3)
    assert all(b[0] == a[1] for a, b in itertools.pairwise(hours))
    assert all(hi - lo <= timedelta(days=1) for lo, hi in hours)
    weeks = [(lo, hi) for g, lo, hi in plan if g == "week"]
    assert weeks == [(floor(T, "week"), T + timedelta(days=3))]


def test_range_validation_names_the_field() -> None:
    assert validate_range(AggregateRequest(), T) is None
    assert validate_range(AggregateRequest(since=T - timedelta(days=1)), T) == (
        T - timedelta(days=1),
        T,
    )
    with pytest.raises(InvalidRequest) as caught:
        validate_range(AggregateRequest(until=T), T)
    assert caught.value.field == "since"
    with pytest.raises(InvalidRequest) as caught:
        validate_range(AggregateRequest(since=T, until=T), T)
    assert caught.value.field == "until"
    with pytest.raises(InvalidRequest) as caught:
        validate_range(AggregateRequest(since=T - timedelta(days=401)), T)
    assert caught.value.field == "until"
