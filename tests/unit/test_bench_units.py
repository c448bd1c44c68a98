"""The benchmarks' pure parts: percentiles, drain windows, targets and the results document."""

from __future__ import annotations

import math

import pytest

from bench import stats
from bench.report import Figure, Report, Target
from bench.sizes import QUICK, with_overrides


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


def test_targets_judge_the_value_or_the_ratio_to_the_baseline() -> None:
    report = Report()
    report.add(Figure("base", "raw", 100.0, "events/s"))
    fast = report.add(
        Figure(
            "ours",
            "ours",
            80.0,
            "events/s",
            "base",
            (Target(">= 0.7x", 0.7, "min", "ratio"), Target(">= 50", 50, "min")),
        )
    )
    slow = report.add(
        Figure("slow", "slow", 60.0, "events/s", "base", (Target(">= 0.7x", 0.7, "min", "ratio"),))
    )
    latency = report.add(Figure("p99", "p99", 4.0, "ms", targets=(Target("< 5 ms", 5.0, "max"),)))
    assert report.ratio(fast) == pytest.approx(0.8)
    assert report.met(fast) is True
    assert report.met(slow) is False
    assert report.met(latency) is True
    assert report.met(report.add(Figure("x", "x", 1.0, "s"))) is None


def test_results_document_has_no_nan_and_names_baselines() -> None:
    report = Report(context={"machine": {"cores": 2}})
    report.add(Figure("base", "raw", math.nan, "ms"))
    report.add(Figure("ours", "ours", 3.14159, "ms", "base", details={"runs": [1.23456, math.nan]}))
    document = report.document()
    ours = document["figures"][1]
    assert document["machine"] == {"cores": 2}
    assert document["figures"][0]["value"] is None
    assert ours["value"] == 3.142 and ours["baseline"] == "base" and ours["ratio"] is None
    assert ours["details"]["runs"] == [1.235, None]
    assert "raw" in report.table()


def test_size_overrides_keep_their_types_and_refuse_unknown_names() -> None:
    sizes = with_overrides(QUICK, {"stream_events": 10.0, "steady_seconds": 3, "batch_size": None})
    assert sizes.stream_events == 10 and isinstance(sizes.stream_events, int)
    assert sizes.steady_seconds == 3.0 and isinstance(sizes.steady_seconds, float)
    assert sizes.batch_size == QUICK.batch_size
    with pytest.raises(ValueError, match="unknown size"):
        with_overrides(QUICK, {"nope": 1})
