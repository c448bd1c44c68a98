"""Retry and split-and-isolate policy of sink writes, over plain callables."""

from __future__ import annotations

from collections.abc import Callable

import pyarrow as pa
import pytest

from platform_events.errors import LeaseLost, SinkMisconfigured, SinkThrottled, SinkUnavailable
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

    def write(part: pa.Table, load_id: str) -> None:
        writes.append(part.num_rows)
        if "e137" in part.column("event_id").to_pylist():
            raise RowsRejected("bad row")

    outcome = write_isolating(table(500), write, direct)
    assert sorted(outcome.delivered) == sorted(f"e{i}" for i in range(500) if i != 137)
    assert list(outcome.rejected) == ["e137"]
    assert len(writes) <= 2 * 9 + 1 and not outcome.sink_down


def test_rows_the_sink_names_are_isolated_at_once_and_the_rest_written_as_a_named_part() -> None:
    parts: list[tuple[int, str]] = []

    def write(part: pa.Table, load_id: str) -> None:
        parts.append((part.num_rows, load_id))
        ids = set(part.column("event_id").to_pylist())
        if ids & {"e3", "e7"}:
            raise RowsRejected(
                "2 rows refused", rows={"e3": "bad time", "e7": "too deep", "x": "?"}
            )

    outcome = write_isolating(table(10), write, direct, load_id="b1")
    assert outcome.poisoned == {"e3": "RowsRejected: bad time", "e7": "RowsRejected: too deep"}
    assert not outcome.rejected  # named by the warehouse: failed for good, not retried
    assert sorted(outcome.delivered) == sorted(f"e{i}" for i in range(10) if i not in (3, 7))
    assert parts == [(10, "b1"), (8, "b1.r")] and outcome.splits == 0


def test_halves_get_load_ids_that_follow_from_their_place_in_the_batch() -> None:
    names: list[str] = []

    def write(part: pa.Table, load_id: str) -> None:
        names.append(load_id)
        if "e0" in part.column("event_id").to_pylist():
            raise RowsRejected("bad row")

    write_isolating(table(4), write, direct, load_id="b")
    assert names == ["b", "b.0", "b.0.0", "b.0.1", "b.1"]


@pytest.mark.parametrize(
    ("error", "state"),
    [
        (SinkUnavailable("connection refused"), "unavailable"),
        (SinkThrottled("too many DML statements outstanding"), "throttled"),
        (SinkMisconfigured("dataset not found"), "misconfigured"),
    ],
)
def test_a_sink_that_fails_holds_everything_not_yet_written_by_kind(
    error: Exception, state: str
) -> None:
    def write(part: pa.Table, load_id: str) -> None:
        raise error

    outcome = write_isolating(table(10), write, direct)
    assert outcome.sink_down and outcome.sink_state == state
    assert len(outcome.held) == 10 and outcome.writes == 1 and not outcome.rejected
    assert str(error) in str(outcome.sink_error)


def test_a_lost_lease_stops_the_batch_instead_of_splitting_it() -> None:
    calls = []

    def write(part: pa.Table, load_id: str) -> None:
        calls.append(load_id)
        raise LeaseLost("another worker holds it")

    with pytest.raises(LeaseLost):
        write_isolating(table(10), write, direct)
    assert calls == ["batch"]


def test_throttling_pauses_longer_than_a_transient_error() -> None:
    def pauses_for(error: Exception) -> list[float]:
        slept: list[float] = []
        calls: list[int] = []

        def down() -> None:
            calls.append(1)
            raise error

        with pytest.raises(SinkUnavailable):
            RetryPolicy(attempts=6, initial_s=1.0, max_s=1.0).call(
                down, deadline=1e12, sleep=slept.append
            )
        return slept

    assert max(pauses_for(SinkUnavailable("x"))) <= 1.0
    assert max(pauses_for(SinkThrottled("x"))) > 1.0


def test_misconfiguration_is_not_retried() -> None:
    calls = []

    def wrong() -> None:
        calls.append(1)
        raise SinkMisconfigured("no permission")

    with pytest.raises(SinkMisconfigured):
        RetryPolicy(attempts=5, initial_s=0).call(wrong, deadline=1e12, sleep=lambda _s: None)
    assert len(calls) == 1


def test_the_split_budget_bounds_the_work_when_every_row_fails() -> None:
    def write(part: pa.Table, load_id: str) -> None:
        raise RowsRejected("everything is bad")

    outcome = write_isolating(table(1000), write, direct, max_splits=8)
    assert outcome.splits == 8 and len(outcome.rejected) == 1000 and not outcome.delivered
