"""Every error this package raises on purpose, one base class, grouped by what a caller can do.

The category, not the concrete class, decides the answer (web.py maps it to an HTTP status):

* :class:`BadInput` (400): the caller sent something wrong; ``field`` names it. Fix the input.
* :class:`NotFound` (404): what the caller named does not exist.
* :class:`Conflict` (409): another actor holds or changed the resource; re-read before acting.
* :class:`Transient` (503): the dependency may answer later; retry with back-off.
* :class:`Misconfigured` (500): the deployment is wrong; no retry helps, the message says what
  to fix. Raised at start-up where it can be (settings, schema version, warehouse objects).

:class:`RowsRejected` stands apart: it never leaves the pipeline, which isolates the rows at fault.
"""

from __future__ import annotations

from collections.abc import Mapping


class PlatformEventsError(Exception):
    """Base class of every error this package raises on purpose."""


# --- bad input (400) ---------------------------------------------------------------------------


class BadInput(PlatformEventsError, ValueError):
    """The caller's input is wrong; ``field`` names it (``event_data.amount``), ``code`` says how."""

    default_code = "invalid_input"

    def __init__(self, message: str, *, field: str, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.code = code or self.default_code

    def to_dict(self) -> dict[str, str]:
        return {"code": self.code, "message": self.message, "field": self.field}


class InvalidEvent(BadInput):
    """An event failed validation."""

    default_code = "invalid_event"


class InvalidRequest(BadInput):
    """A job or HTTP request has a bad parameter."""

    default_code = "invalid_request"


class InvalidJson(BadInput):
    """The body is not JSON at all (or nests too deeply to parse); ``code`` says which."""

    def __init__(self, message: str, code: str = "invalid_json") -> None:
        super().__init__(message, field="body", code=code)


# --- not found (404) and conflict (409) ----------------------------------------------------------


class NotFound(PlatformEventsError):
    """What the caller named (a job, a route, a record) does not exist."""


class Conflict(PlatformEventsError):
    """Another actor holds or has changed the resource: re-read its state before acting again."""


class LeaseLost(Conflict):
    """The delivery batch's lease passed to another worker (it expired and was re-claimed): this
    worker's acknowledgement, release or checkpoint changed nothing and it must stop the batch."""


# --- transient (503: retry) ----------------------------------------------------------------------


class Transient(PlatformEventsError):
    """A dependency did not answer as needed this time; the same call later may succeed."""


class SinkUnavailable(Transient):
    """The warehouse could not be reached or refused a batch; retrying later may succeed.

    Transient: the batch is retried, and released without spending an attempt when it persists."""


class SinkThrottled(SinkUnavailable):
    """The warehouse refused for quota or concurrency (rate limits, too many concurrent DML
    statements): back off longer before the next call; no attempt is spent either."""


class StatementFailed(SinkUnavailable):
    """A Redshift Data API statement ended FAILED or ABORTED; the message is Redshift's text."""


class StatementStillRunning(SinkUnavailable):
    """A cancelled Redshift statement has not ended yet; its id stays with the batch, so the next
    attempt waits for it instead of sending the load a second time."""


class StatementForgotten(SinkUnavailable):
    """The Redshift Data API no longer knows a saved statement id (it keeps them 24 hours)."""


# --- misconfiguration (500: fail at start-up, say what to fix) ----------------------------------


class Misconfigured(PlatformEventsError):
    """The deployment or the local setup is wrong; the message says what to change."""


class ConfigError(Misconfigured):
    """A setting is missing or invalid; the message names the environment variable."""

    # Messages name variables and pydantic's rule, never the value: logs may show them.
    log_safe = True


class SinkMisconfigured(Misconfigured):
    """The warehouse answered that the deployment itself is wrong (no such dataset or table, no
    permission, wrong schema): no retry can succeed, so the stream stops and says what to fix.
    Its messages name resources and settings, never an event's values, so they may be logged."""

    log_safe = True


class MigrationError(Misconfigured):
    """A migration is malformed, was edited after being applied, or failed to apply."""


class CatalogInvalid(Misconfigured):
    """The tracking plan's files break a rule; ``problems`` lists every one, each naming its file."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("the event catalogue is invalid:\n  " + "\n  ".join(problems))
        self.problems = problems


class CatalogRefused(Conflict):
    """``catalog apply`` refuses a change the compatibility rules forbid; nothing was applied."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("the catalogue change is refused:\n  " + "\n  ".join(problems))
        self.problems = problems


class SchemaOutOfDate(Misconfigured):
    """The database lacks migrations this code needs; run `platform-events migrate`."""


class LoginError(Misconfigured):
    """A login user cannot be set up as asked; the message names it and what to fix."""


class EmbeddedPostgresError(Misconfigured):
    """The embedded server could not be started or stopped; the message says where its log is."""

    # Messages name paths, pg_ctl outcomes and what to do; never data.
    log_safe = True


# --- rows the warehouse refused (handled inside the pipeline) -----------------------------------


class RowsRejected(PlatformEventsError):
    """The warehouse refused the rows themselves (bad value, too large, outside the partitions it
    accepts): retrying the same batch cannot succeed, so the pipeline splits it to isolate the
    event at fault. ``rows`` (event_id -> reason), when the warehouse named the rows at fault
    (BigQuery's per-row append errors), lets the pipeline isolate exactly those at once."""

    def __init__(self, message: str, *, rows: Mapping[str, str] | None = None) -> None:
        super().__init__(message)
        self.rows: dict[str, str] = dict(rows or {})
