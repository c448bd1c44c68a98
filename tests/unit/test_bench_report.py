"""bench/report.py: targets judged by value or ratio to the baseline, and the results document."""

from __future__ import annotations

import math

import pytest

from bench.report import Figure, Report, Target


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
