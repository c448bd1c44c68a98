"""Failure policy of a batch write, as pure logic over a ``write`` callable.

* A transient error (``SinkUnavailable``: network, quota, lock) is retried within the invocation
  with exponential backoff and full jitter (tenacity), never past the invocation's deadline. If it
  persists, the rest of the batch is released for a later invocation and the stream stops: a sink
  that is down gains nothing from more calls.
* Any other error is about the rows (``RowsRejected``, or a bug a value triggers): the batch is
  split in halves and each half written on its own, recursively, so a poisonous event ends alone
  and its 499 neighbours are delivered. A budget of splits bounds the work when many events fail.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any, TypeVar

import pyarrow as pa
import tenacity

from platform_events import logs
from platform_events.errors import SinkUnavailable

T = TypeVar("T")


@dataclass(frozen=True)
class RetryPolicy:
    """In-invocation retries of transient sink errors."""

    attempts: int = 4
    initial_s: float = 0.5
    max_s: float = 8.0

    def call(
        self,
        fn: Callable[[], T],
        *,
        deadline: float,
        sleep: Callable[[float], Any] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> T:
        """``fn()``, retried on SinkUnavailable; the last error propagates."""
        retrying = tenacity.Retrying(
            stop=tenacity.stop_after_attempt(self.attempts)
            | tenacity.stop_before_delay(max(deadline - clock(), 0.0)),
            wait=tenacity.wait_random_exponential(multiplier=self.initial_s, max=self.max_s),
            retry=tenacity.retry_if_exception_type(SinkUnavailable),
            sleep=sleep,
            reraise=True,
        )
        return retrying(fn)


def error_text(exc: BaseException) -> str:
    """What is stored in ``last_error``: the error's kind and message, bounded."""
    return f"{type(exc).__name__}: {exc}"[:2000]


@dataclass
class WriteOutcome:
    """What became of each event of a batch."""

    delivered: list[str] = field(default_factory=list)
    rejected: dict[str, str] = field(default_factory=dict)  # event_id -> error
    unavailable: list[str] = field(default_factory=list)  # not attempted: the sink is down
    unavailable_error: str | None = None
    unavailable_summary: str | None = None  # what may be logged of it (logs.error_summary)
    writes: int = 0
    splits: int = 0

    @property
    def sink_down(self) -> bool:
        return self.unavailable_error is not None


def _ids(table: pa.Table) -> list[str]:
    return [str(v) for v in table.column("event_id").to_pylist()]


def write_isolating(
    table: pa.Table,
    write: Callable[[pa.Table], object],
    call: Callable[[Callable[[], object]], object],
    *,
    max_splits: int = 64,
) -> WriteOutcome:
    """Write ``table`` through ``call(lambda: write(part))``, splitting on row errors.

    ``call`` applies the retry policy (``RetryPolicy.call`` with a deadline bound in).
    """
    outcome = WriteOutcome()
    pending = [table]
    while pending:
        part = pending.pop()
        outcome.writes += 1
        try:
            call(partial(write, part))
        except SinkUnavailable as exc:
            outcome.unavailable_error = error_text(exc)
            outcome.unavailable_summary = logs.error_summary(exc)
            for left in [part, *pending]:
                outcome.unavailable.extend(_ids(left))
            break
        except Exception as exc:
            if part.num_rows == 1 or outcome.splits >= max_splits:
                message = error_text(exc)
                for event_id in _ids(part):
                    outcome.rejected[event_id] = message
                continue
            outcome.splits += 1
            half = part.num_rows // 2
            pending.append(part.slice(half))
            pending.append(part.slice(0, half))
        else:
            outcome.delivered.extend(_ids(part))
    return outcome
