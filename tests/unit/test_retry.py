"""Retry and split-and-isolate policy of sink writes, over plain callables."""

from __future__ import annotations

from collections.abc import Callable

import pyarrow as pa
import pytest

from platform_events.errors import SinkUnavailable
from platform_events.pipeline.retry import RetryPolicy, write_isolating
from platform_events.sinks import RowsRejected


def table(n: int) -> pa.Table:
    return pa.table({"event_id": [f"e{i}" for i in range(n)]})


def direct(fn: Callable[[], object]) -> object:
    return fn()


def test_transient_errors_are_retried_with_growing_jittered_pauses() -> None:
    pauses: list[float] = []
    attempts = []

    def flaky() -> str:
        attempts.append(1)
        if len(attempts) < 3:
            raise SinkUnavailable("down")
        return "ok"

    policy = RetryPolicy(attempts=4, initial_s=1.0, max_s=8.0)
    assert policy.call(flaky, deadline=1e12, sleep=pauses.append) == "ok"
    assert len(pauses) == 2 and all(0 <= p <= 8.0 for p in pauses)


def test_retries_stop_after_the_attempts_and_reraise() -> None:
    calls = []

    def down() -> None:
        calls.append(1)
        raise SinkUnavailable("down")

    with pytest.raises(SinkUnavailable):
        RetryPolicy(attempts=3, initial_s=0).call(down, deadline=1e12, sleep=lambda _s: None)
    assert len(calls) == 3


def test_row_errors_are_not_retried() -> None:
    calls = []

    def bad() -> None:
        calls.append(1)
        raise RowsRejected("bad value")

    with pytest.raises(RowsRejected):
        RetryPolicy(attempts=5, initial_s=0).call(bad, deadline=1e12, sleep=lambda _s: None)
    assert len(calls) == 1


def test_no_retry_sleeps_past_the_deadline() -> None:
    calls = []

    def down() -> None:
        calls.append(1)
        raise SinkUnavailable("down")

    with pytest.raises(SinkUnavailable):
        RetryPolicy(attempts=10, initial_s=5).call(
            down, deadline=0.0, sleep=lambda _s: None, clock=lambda: 0.0
        )
    assert len(calls) == 1


def test_one_poisonous_event_is_isolated_by_bisection() -> None:
    writes: list[int] = []

    def write(part: pa.Table) -> None:
        writes.append(part.num_rows)
        if "e137" in part.column("event_id").to_pylist():
            raise RowsRejected("bad row")

    outcome = write_isolating(table(500), write, direct)
    assert sorted(outcome.delivered) == sorted(f"e{i}" for i in range(500) if i != 137)
    assert list(outcome.rejected) == ["e137"]
    assert len(writes) <= 2 * 9 + 1 and not outcome.sink_down


def test_a_sink_that_is_down_releases_everything_not_yet_written() -> None:
    def write(part: pa.Table) -> None:
        raise SinkUnavailable("connection refused")

    outcome = write_isolating(table(10), write, direct)
    assert outcome.sink_down and len(outcome.unavailable) == 10 and outcome.writes == 1
    assert "connection refused" in str(outcome.unavailable_error)


def test_the_split_budget_bounds_the_work_when_every_row_fails() -> None:
    def write(part: pa.Table) -> None:
        raise RowsRejected("everything is bad")

    outcome = write_isolating(table(1000), write, direct, max_splits=8)
    assert outcome.splits == 8 and len(outcome.rejected) == 1000 and not outcome.delivered
