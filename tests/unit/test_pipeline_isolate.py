"""Row building over a whole batch, with the events at fault found one by one when it fails."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from platform_events.pipeline.isolate import rows_at_fault

VALUES = [1, 2, 0, 4, 0]


def inverse(rows: Sequence[int]) -> list[float]:
    return [1 / VALUES[i] for i in rows]


def combine(parts: list[list[float]]) -> list[float]:
    return [x for part in parts for x in part]


def test_a_step_that_succeeds_runs_once_over_every_row() -> None:
    calls: list[int] = []

    def step(rows: Sequence[int]) -> list[int]:
        calls.append(len(rows))
        return list(rows)

    assert rows_at_fault(3, step, combine) == ([0, 1, 2], [0, 1, 2], {})  # type: ignore[arg-type]
    assert calls == [3]


def test_the_rows_a_step_fails_for_are_set_aside_with_their_own_error() -> None:
    result, passed, failed = rows_at_fault(len(VALUES), inverse, combine)
    assert result == [1.0, 0.5, 0.25] and passed == [0, 1, 3]
    assert set(failed) == {2, 4} and failed[2].startswith("ZeroDivisionError")


def test_a_step_that_fails_for_every_row_alone_is_a_bug_and_raises() -> None:
    def broken(rows: Sequence[int]) -> list[int]:
        raise KeyError("missing column")

    with pytest.raises(KeyError):
        rows_at_fault(3, broken, combine)  # type: ignore[arg-type]
