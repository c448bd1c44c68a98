"""bench/stats.py: nearest-rank percentiles and the rates at the start and end of a drain."""

from __future__ import annotations

import math

import pytest

from bench import stats


def test_percentile_is_nearest_rank_so_p99_is_a_latency_that_happened() -> None:
    values = [float(v) for v in range(1, 201)]
    assert stats.percentile(values, 0.5) == 100.0
    assert stats.percentile(values, 0.99) == 198.0
    assert stats.percentile(values, 1.0) == 200.0
    assert math.isnan(stats.percentile([], 0.5))
    with pytest.raises(ValueError, match="fraction"):
        stats.percentile(values, 1.5)


def test_window_rates_compare_the_start_and_the_end_of_a_drain() -> None:
    # 10 batches of 100 events: 1 s each for the first half, 2 s each for the second.
    marks, t = [], 0.0
    for n in range(1, 11):
        t += 1.0 if n <= 5 else 2.0
        marks.append((t, n * 100))
    start, end = stats.window_rates(marks, 0.1)
    assert start == pytest.approx(100.0)
    assert end == pytest.approx(50.0)
    assert all(math.isnan(x) for x in stats.window_rates([]))


def test_rounds_report_the_median_and_the_range_over_rounds() -> None:
    rounds = stats.Rounds((12.0, 10.0, 30.0))
    assert rounds.median == 12.0
    assert rounds.details() == {
        "median": 12.0,
        "min": 10.0,
        "max": 30.0,
        "rounds": [12.0, 10.0, 30.0],
    }
    assert math.isnan(stats.Rounds(()).median)
