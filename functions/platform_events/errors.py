"""Exceptions a caller can act on, each naming the field or resource at fault."""

from __future__ import annotations

from collections.abc import Mapping


class PlatformEventsError(Exception):
    """Base class of every error this package raises on purpose."""


class InvalidEvent(PlatformEventsError, ValueError):
    """An event failed validation; ``field`` names the offending input (``event_data.amount``)."""

    def __init__(self, message: str, *, field: str, code: str = "invalid_event") -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.code = code

    def to_dict(self) -> dict[str, str]:
        return {"code": self.code, "message": self.message, "field": self.field}


class InvalidRequest(PlatformEventsError, ValueError):
    """A job or HTTP request has a bad parameter; ``field`` names it."""

    def __init__(self, message: str, *, field: str, code: str = "invalid_request") -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.code = code

    def to_dict(self) -> dict[str, str]:
        return {"code": self.code, "message": self.message, "field": self.field}


class SinkUnavailable(PlatformEventsError):
    """The warehouse could not be reached or refused a batch; retrying later may succeed.

    Transient: the batch is retried, and released without spending an attempt when it persists."""


class SinkThrottled(SinkUnavailable):
    """The warehouse refused for quota or concurrency (rate limits, too many concurrent DML
    statements): back off longer before the next call; no attempt is spent either."""


class SinkMisconfigured(PlatformEventsError):
    """The warehouse answered that the deployment itself is wrong (no such dataset or table, no
    permission, wrong schema): no retry can succeed, so the stream stops and says what to fix.
    Its messages name resources and settings, never an event's values, so they may be logged."""

    log_safe = True


class RowsRejected(PlatformEventsError):
    """The warehouse refused the rows themselves (bad value, too large, outside the partitions it
    accepts): retrying the same batch cannot succeed, so the pipeline splits it to isolate the
    event at fault. ``rows`` (event_id -> reason), when the warehouse named the rows at fault
    (BigQuery's per-row append errors), lets the pipeline isolate exactly those at once."""

    def __init__(self, message: str, *, rows: Mapping[str, str] | None = None) -> None:
        super().__init__(message)
        self.rows: dict[str, str] = dict(rows or {})


class LeaseLost(PlatformEventsError):
    """The delivery batch's lease passed to another worker (it expired and was re-claimed): this
    worker's acknowledgement, release or checkpoint changed nothing and it must stop the batch."""


# SQLSTATEs raised by the event-store functions (migrations/0003) and what they mean to a caller.
SQLSTATE_CODES: dict[str, str] = {
    "PE001": "unknown_event_type",
    "PE002": "inactive_event_type",
    "PE003": "missing_field",
    "PE004": "too_large",
    "PE005": "invalid_value",
    "PE006": "invalid_type",
    "PE007": "invalid_timestamp",
    "PE009": "too_long",
    "42501": "forbidden",
    "22023": "invalid_parameter",
}


def invalid_event_from_sqlstate(
    sqlstate: str | None, message: str, field: str | None
) -> InvalidEvent | None:
    """The InvalidEvent a database error stands for, or None when it is not a validation error."""
    if sqlstate is None or sqlstate not in SQLSTATE_CODES:
        return None
    return InvalidEvent(message, field=field or "event", code=SQLSTATE_CODES[sqlstate])
