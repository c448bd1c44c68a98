"""Figures, their baselines and targets; the terminal table and the results document (pure)."""

from __future__ import annotations

import math
import sys
import time
from dataclasses import dataclass, field
from typing import Any, Literal


@dataclass(frozen=True)
class Target:
    """A DESIGN.md target: ``value`` (or ``ratio`` to the baseline) at least / below ``limit``."""

    text: str
    limit: float
    bound: Literal["min", "max"]
    of: Literal["value", "ratio"] = "value"

    def met(self, value: float, ratio: float | None) -> bool | None:
        subject = value if self.of == "value" else ratio
        if subject is None or math.isnan(subject):
            return None
        return subject >= self.limit if self.bound == "min" else subject < self.limit


@dataclass(frozen=True)
class Figure:
    """One measured figure; ``baseline`` names the figure it is compared with (same run)."""

    key: str
    label: str
    value: float
    unit: str
    baseline: str | None = None
    targets: tuple[Target, ...] = ()
    details: dict[str, Any] = field(default_factory=dict)


@dataclass
class Report:
    """Every figure of a run, in the order measured, plus what the run ran on."""

    figures: list[Figure] = field(default_factory=list)
    context: dict[str, Any] = field(default_factory=dict)

    def add(self, figure: Figure) -> Figure:
        self.figures.append(figure)
        return figure

    def get(self, key: str) -> Figure | None:
        return next((f for f in self.figures if f.key == key), None)

    def ratio(self, figure: Figure) -> float | None:
        if figure.baseline is None:
            return None
        base = self.get(figure.baseline)
        if base is None or not base.value or math.isnan(base.value):
            return None
        return figure.value / base.value

    def met(self, figure: Figure) -> bool | None:
        """All targets met (True), one missed (False), or nothing to judge (None)."""
        ratio = self.ratio(figure)
        outcomes = [t.met(figure.value, ratio) for t in figure.targets]
        if any(o is False for o in outcomes):
            return False
        if outcomes and all(o is True for o in outcomes):
            return True
        return None

    def document(self) -> dict[str, Any]:
        """The JSON-ready results: context first, then one entry per figure."""
        entries = []
        for figure in self.figures:
            base = self.get(figure.baseline) if figure.baseline else None
            ratio = self.ratio(figure)
            entries.append(
                {
                    "key": figure.key,
                    "label": figure.label,
                    "value": _clean(figure.value),
                    "unit": figure.unit,
                    "baseline": figure.baseline,
                    "baseline_value": _clean(base.value) if base else None,
                    "ratio": _clean(ratio),
                    "targets": [
                        {"text": t.text, "met": t.met(figure.value, ratio)} for t in figure.targets
                    ],
                    "met": self.met(figure),
                    "details": {k: _clean(v) for k, v in figure.details.items()},
                }
            )
        return {**self.context, "figures": entries}

    def table(self) -> str:
        """The terminal table: figure, baseline, ratio, targets."""
        rows = [("benchmark", "figure", "baseline", "ratio", "target")]
        for figure in self.figures:
            base = self.get(figure.baseline) if figure.baseline else None
            ratio = self.ratio(figure)
            verdict = self.met(figure)
            mark = {True: "met", False: "MISSED", None: ""}[verdict]
            target = "; ".join(t.text for t in figure.targets)
            rows.append(
                (
                    figure.label,
                    format_value(figure.value, figure.unit),
                    f"{base.label}" if base else "",
                    f"{ratio:.2f}x" if ratio is not None and not math.isnan(ratio) else "",
                    f"{target} {mark}".strip(),
                )
            )
        widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
        lines = []
        for n, row in enumerate(rows):
            lines.append(
                "  ".join(
                    cell.rjust(widths[i]) if i in (1, 3) else cell.ljust(widths[i])
                    for i, cell in enumerate(row)
                ).rstrip()
            )
            if n == 0:
                lines.append("  ".join("-" * w for w in widths))
        return "\n".join(lines)


def format_value(value: float, unit: str) -> str:
    if math.isnan(value):
        return f"n/a {unit}"
    if unit == "ms":
        return f"{value:,.2f} ms"
    if unit == "s":
        return f"{value:,.2f} s"
    if unit in ("USD/month", "x"):
        return f"{value:,.2f} {unit}"
    return f"{value:,.0f} {unit}"


def _clean(value: Any) -> Any:
    """JSON has no NaN: unmeasured numbers become null; floats are rounded for reading."""
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            return None
        return round(value, 3)
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    return value


class Progress:
    """Progress lines on stderr, each stamped with the time since the run started."""

    def __init__(self, quiet: bool = False) -> None:
        self.started = time.monotonic()
        self.quiet = quiet

    def say(self, message: str) -> None:
        if not self.quiet:
            print(
                f"[{time.monotonic() - self.started:6.1f}s] {message}", file=sys.stderr, flush=True
            )
