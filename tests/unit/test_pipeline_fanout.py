"""The fan-out decision: how many more stream workers a backlog needs, bounded."""

from __future__ import annotations

import pytest

from platform_events.pipeline.fanout import extra_workers


@pytest.mark.parametrize(
    ("backlog", "rate", "left", "bound", "expected"),
    [
        (4_000, 500.0, 8.0, 3, 0),  # one worker drains it in time
        (4_001, 500.0, 8.0, 3, 1),
        (10_000, 500.0, 8.0, 3, 2),  # three would be needed: two more
        (1_000_000, 500.0, 8.0, 3, 2),  # never past the bound
        (1_000_000, 500.0, 8.0, 1, 0),  # a bound of 1 never fans out
        (10_000, 0.0, 8.0, 3, 0),  # no measured rate yet: no decision
        (10_000, 500.0, 0.0, 3, 0),  # no budget left
        (0, 500.0, 8.0, 3, 0),
    ],
)
def test_extra_workers_drain_the_backlog_in_the_budget_left_within_the_bound(
    backlog: int, rate: float, left: float, bound: int, expected: int
) -> None:
    assert extra_workers(backlog, rate, left, bound) == expected
