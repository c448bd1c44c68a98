"""Pure arithmetic over measurements: percentiles, rates, windows of a drain."""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass


def percentile(values: Sequence[float], fraction: float) -> float:
    """The nearest-rank percentile (``fraction`` in [0, 1]) of ``values``; nan when empty.

    Nearest rank, not interpolation: a p99 of 200 samples is the second slowest sample, a
    latency that really happened.
    """
    if not values:
        return math.nan
    if not 0 <= fraction <= 1:
        raise ValueError("fraction must be within [0, 1]")
    ordered = sorted(values)
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[rank - 1]


def rate(count: int, seconds: float) -> float:
    """Events per second; nan when no time passed."""
    return count / seconds if seconds > 0 else math.nan


def window_rates(marks: Sequence[tuple[float, int]], fraction: float = 0.1) -> tuple[float, float]:
    """Rates over the first and the last ``fraction`` of a drain.

    ``marks`` are (seconds since start, events done so far) in order, one per batch. The first
    window runs from 0 to the first mark reaching ``fraction`` of the total; the last from the
    last mark at or below ``1 - fraction`` of the total to the end. A flat drain has equal rates.
    """
    if not marks:
        return math.nan, math.nan
    total = marks[-1][1]
    if total <= 0:
        return math.nan, math.nan
    first = next(m for m in marks if m[1] >= fraction * total)
    start_rate = rate(first[1], first[0])
    before_last = [m for m in marks if m[1] <= (1 - fraction) * total]
    last_from = before_last[-1] if before_last else (0.0, 0)
    end_rate = rate(total - last_from[1], marks[-1][0] - last_from[0])
    return start_rate, end_rate


@dataclass(frozen=True)
class Rounds:
    """Repeated measurements of one figure: its median, and the range a noisy, shared machine
    moved it through between rounds (both reported)."""

    values: tuple[float, ...]

    @property
    def median(self) -> float:
        return statistics.median(self.values) if self.values else math.nan

    def details(self) -> dict[str, object]:
        return {
            "median": self.median,
            "min": min(self.values, default=math.nan),
            "max": max(self.values, default=math.nan),
            "rounds": list(self.values),
        }
