"""Finding the events at fault when a step over a whole batch fails (pure logic).

Row building (enrichment, Arrow conversion) runs over the whole batch, column by column, which is
what makes it fast. When it raises, the same step is run event by event: the events it fails
for are set aside with their own error, and the others go on. Only the failing batch pays for
the second pass.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

from platform_events.pipeline.retry import error_text

T = TypeVar("T")


def rows_at_fault(
    count: int,
    step: Callable[[Sequence[int]], T],
    combine: Callable[[list[T]], T],
) -> tuple[T | None, list[int], dict[int, str]]:
    """``step`` over rows ``0..count-1``; when it raises, over each row alone.

    Answers the result over the rows that passed (``combine`` of the one-row results), those
    rows, and the error of each row that failed. When every row fails on its own too, the fault
    is not in the data (a bug, a resource): the first error is raised instead.
    """
    everything = range(count)
    try:
        return step(everything), list(everything), {}
    except Exception as whole:
        first: Exception = whole
    results: list[T] = []
    passed: list[int] = []
    failed: dict[int, str] = {}
    for i in everything:
        try:
            results.append(step([i]))
        except Exception as exc:
            failed[i] = error_text(exc)
        else:
            passed.append(i)
    if not passed and count > 1:
        raise first
    return (combine(results) if results else None), passed, failed
