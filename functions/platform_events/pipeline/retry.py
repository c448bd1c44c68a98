"""Failure policy of a batch write, as pure logic over a ``write`` callable.

Each error kind (``platform_events.errors``) says what the caller can do, and gets that:

* transient (``SinkUnavailable``: network, a lock, a timeout) is retried within the invocation
  with exponential backoff and full jitter (tenacity), never past the invocation's deadline. If
  it persists, the rest of the batch is held (no attempt spent: the sink failed, not the events)
  and the stream stops: a sink that is down gains nothing from more calls;
* quota or concurrency (``SinkThrottled``) likewise, with pauses four times longer;
* configuration (``SinkMisconfigured``: no table, no permission) is not retried: the batch is
  held and the stream stops, saying what to fix;
* rows at fault (``RowsRejected``, or a bug a value triggers): the rows the error names are
  isolated at once and fail for good (the warehouse judged each row by itself: the same row
  can never pass); without names the part is split in halves, recursively, so a poisonous event
  ends alone and its 499 neighbours are delivered, and the event isolated that way spends an
  attempt (the error was the batch's, and might pass). A budget of splits bounds the work;
* ``LeaseLost`` (another worker holds the batch now) propagates: nothing more is written.

Load ids: the whole batch is written as ``load_id``, a half of part ``p`` as ``p.0`` / ``p.1``
and what is left of ``p`` once the named rows are out as ``p.r``. A part's name follows from
the batch's fixed members and the errors alone, so a worker that takes over an expired batch and
meets the same errors retraces the same parts, each with its own checkpoint.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Literal, Protocol, TypeVar

import pyarrow as pa
import tenacity

from platform_events import logs
from platform_events.errors import (
    LeaseLost,
    RowsRejected,
    SinkMisconfigured,
    SinkThrottled,
    SinkUnavailable,
)

T = TypeVar("T")

SinkState = Literal["ok", "unavailable", "throttled", "misconfigured"]

# Quota and concurrency limits (BigQuery's, Redshift's) reset over seconds to minutes: pauses
# this many times longer than for a transient error.
THROTTLED_FACTOR = 4.0


class Clock(Protocol):
    """Time as the stream sees it (tests inject one to run an outage of minutes instantly)."""

    def monotonic(self) -> float: ...

    def sleep(self, seconds: float) -> None: ...


class SystemClock:
    """The real clock."""

    def monotonic(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


def _wait(initial_s: float, max_s: float) -> Callable[[tenacity.RetryCallState], float]:
    normal = tenacity.wait_random_exponential(multiplier=initial_s, max=max_s)
    throttled = tenacity.wait_random_exponential(
        multiplier=initial_s * THROTTLED_FACTOR, max=max_s * THROTTLED_FACTOR
    )

    def wait(state: tenacity.RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome is not None else None
        return float((throttled if isinstance(error, SinkThrottled) else normal)(state))

    return wait


class _StopBeforeDeadline(tenacity.stop.stop_base):
    """Stop when the next pause would end past ``deadline`` on ``clock`` (tenacity's own
    stop_before_delay reads the real clock, which a test's clock does not move)."""

    def __init__(self, deadline: float, clock: Callable[[], float]) -> None:
        self.deadline = deadline
        self.clock = clock

    def __call__(self, retry_state: tenacity.RetryCallState) -> bool:
        pause = retry_state.upcoming_sleep or 0.0
        return self.clock() + pause >= self.deadline


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
        """``fn()``, retried on SinkUnavailable (SinkThrottled included); the last error
        propagates. Stops before a pause would pass ``deadline`` (on ``clock``)."""

        retrying = tenacity.Retrying(
            stop=tenacity.stop_any(
                tenacity.stop_after_attempt(self.attempts), _StopBeforeDeadline(deadline, clock)
            ),
            wait=_wait(self.initial_s, self.max_s),
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
    rejected: dict[str, str] = field(default_factory=dict)  # isolated by splits: attempt spent
    poisoned: dict[str, str] = field(default_factory=dict)  # never deliverable: failed at once
    held: list[str] = field(default_factory=list)  # not written, the sink failed: no attempt
    sink_state: SinkState = "ok"
    sink_error: str | None = None
    sink_summary: str | None = None  # what may be logged of it (logs.error_summary: no text)
    writes: int = 0
    splits: int = 0

    @property
    def sink_down(self) -> bool:
        return self.sink_state != "ok"


def _ids(table: pa.Table) -> list[str]:
    return [str(v) for v in table.column("event_id").to_pylist()]


def _state_of(exc: Exception) -> SinkState:
    if isinstance(exc, SinkMisconfigured):
        return "misconfigured"
    if isinstance(exc, SinkThrottled):
        return "throttled"
    return "unavailable"


def write_isolating(
    table: pa.Table,
    write: Callable[[pa.Table, str], object],
    call: Callable[[Callable[[], object]], object],
    *,
    load_id: str = "batch",
    max_splits: int = 64,
) -> WriteOutcome:
    """Write ``table`` through ``call(lambda: write(part, part_load_id))``, isolating row errors.

    ``call`` applies the retry policy (``RetryPolicy.call`` with a deadline bound in).
    """
    outcome = WriteOutcome()
    pending: list[tuple[pa.Table, str]] = [(table, load_id)]
    while pending:
        part, name = pending.pop()
        outcome.writes += 1
        try:
            call(partial(write, part, name))
        except LeaseLost:
            raise
        except (SinkUnavailable, SinkMisconfigured) as exc:
            outcome.sink_state = _state_of(exc)
            outcome.sink_error = error_text(exc)
            outcome.sink_summary = logs.error_summary(exc)
            for left, _ in [(part, name), *pending]:
                outcome.held.extend(_ids(left))
            break
        except Exception as exc:
            ids = _ids(part)
            named = exc.rows if isinstance(exc, RowsRejected) else {}
            at_fault = {e: f"RowsRejected: {named[e]}"[:2000] for e in ids if e in named}
            if at_fault:
                outcome.poisoned.update(at_fault)
                rest = [i for i, e in enumerate(ids) if e not in at_fault]
                if rest:
                    pending.append((part.take(pa.array(rest, pa.int64())), f"{name}.r"))
                continue
            if part.num_rows == 1 or outcome.splits >= max_splits:
                message = error_text(exc)
                for event_id in ids:
                    outcome.rejected[event_id] = message
                continue
            outcome.splits += 1
            half = part.num_rows // 2
            pending.append((part.slice(half), f"{name}.1"))
            pending.append((part.slice(0, half), f"{name}.0"))
        else:
            outcome.delivered.extend(_ids(part))
    return outcome
