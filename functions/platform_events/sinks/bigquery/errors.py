"""BigQuery's answers classified by what the pipeline can do about them (pure logic).

* Concurrency and quota (back off, no attempt spent): ``Could not serialize access to table ...
  due to concurrent update`` and ``Too many DML statements outstanding against table`` (mutating
  DML runs a few at a time per table and queues 20), ``rateLimitExceeded``/``quotaExceeded``
  (BigQuery answers both with HTTP 403), HTTP 429 and gRPC RESOURCE_EXHAUSTED, ABORTED.
* Transient (retry later): 5xx, UNAVAILABLE, DEADLINE_EXCEEDED, INTERNAL, UNKNOWN, a dropped
  connection.
* The deployment (stop and fix): a dataset or table not found, permission denied, unauthenticated,
  a schema that does not match the rows.
* The rows (isolate): any other refusal of the request's content; per-row append errors are
  mapped to ``RowsRejected(rows=...)`` where the write knows which rows were sent.

BigQuery's own wording: https://cloud.google.com/bigquery/docs/error-messages (reasons) and
https://cloud.google.com/bigquery/docs/reference/standard-sql/data-manipulation-language#limitations
(concurrent DML).
"""

from __future__ import annotations

from collections.abc import Iterable

from platform_events.errors import (
    PlatformEventsError,
    RowsRejected,
    SinkMisconfigured,
    SinkThrottled,
    SinkUnavailable,
)

CONCURRENCY_MESSAGES = (
    "could not serialize access",
    "concurrent update",
    "too many dml statements outstanding",
)
THROTTLE_REASONS = frozenset(
    {"ratelimitexceeded", "quotaexceeded", "jobratelimitexceeded", "resourceexhausted"}
)
TRANSIENT_REASONS = frozenset({"backenderror", "internalerror", "timeout"})
MISCONFIGURED_REASONS = frozenset({"notfound", "accessdenied", "forbidden"})
# DML on rows still in a streaming buffer is refused for a while after they were written: later.
TRANSIENT_MESSAGES = ("streaming buffer",)
SCHEMA_MESSAGES = ("no such field", "schema mismatch", "does not match", "schema_mismatch")

# HTTP statuses api_core gives its exceptions (gRPC statuses map onto them: RESOURCE_EXHAUSTED
# -> 429, UNAVAILABLE -> 503, DEADLINE_EXCEEDED -> 504, ABORTED -> 409, NOT_FOUND -> 404, ...).
THROTTLED_STATUSES = frozenset({429})
TRANSIENT_STATUSES = frozenset({408, 499, 500, 502, 503, 504})
MISCONFIGURED_STATUSES = frozenset({401, 403, 404})


def _reasons(errors: Iterable[object]) -> set[str]:
    reasons = set()
    for error in errors:
        if isinstance(error, dict) and error.get("reason"):
            reasons.add(str(error["reason"]).lower())
    return reasons


def classify_answer(
    status: int | None, grpc_status: str | None, reasons: Iterable[str], message: str
) -> type[PlatformEventsError]:
    """The error kind of one BigQuery answer (status codes, error reasons, message)."""
    text = message.lower()
    reasons = {r.lower() for r in reasons}
    if any(m in text for m in CONCURRENCY_MESSAGES) or grpc_status == "ABORTED":
        return SinkThrottled
    if reasons & THROTTLE_REASONS or status in THROTTLED_STATUSES:
        return SinkThrottled
    if grpc_status == "RESOURCE_EXHAUSTED":
        return SinkThrottled
    if reasons & TRANSIENT_REASONS or status in TRANSIENT_STATUSES:
        return SinkUnavailable
    if any(m in text for m in TRANSIENT_MESSAGES):
        return SinkUnavailable
    if grpc_status in {"UNAVAILABLE", "DEADLINE_EXCEEDED", "INTERNAL", "UNKNOWN", "CANCELLED"}:
        return SinkUnavailable
    if reasons & MISCONFIGURED_REASONS or status in MISCONFIGURED_STATUSES:
        return SinkMisconfigured
    if any(m in text for m in SCHEMA_MESSAGES):
        return SinkMisconfigured
    return RowsRejected


def _advice(kind: type[PlatformEventsError], status: int | None) -> str:
    if kind is SinkMisconfigured:
        if status == 404:
            return " (the dataset and table are Terraform's: run terraform apply in this project)"
        if status in {401, 403}:
            return (
                " (grant the function's service account what the sink calls:"
                " infra/README.md, Least privilege)"
            )
        return " (the table's schema must match sinks/schema/events.json)"
    return ""


def classify(exc: BaseException) -> BaseException:
    """The pipeline's error for ``exc`` (an api_core/gRPC error, a network error), or ``exc``
    itself when it is already one of ours or a bug that no classification would help."""
    from google.api_core import exceptions as gexc

    if isinstance(exc, PlatformEventsError):
        return exc
    if isinstance(exc, gexc.GoogleAPICallError):
        grpc_code = getattr(exc, "grpc_status_code", None)
        grpc_status = grpc_code.name if grpc_code is not None else None
        status = int(exc.code) if isinstance(exc.code, int) else None
        message = exc.message or str(exc)
        kind = classify_answer(status, grpc_status, _reasons(exc.errors or []), message)
        return kind(f"BigQuery: {status or grpc_status} {message}{_advice(kind, status)}")
    from google.cloud.bigquery_storage_v1.exceptions import StreamClosedError

    if isinstance(exc, StreamClosedError | ConnectionError | TimeoutError | OSError):
        return SinkUnavailable(f"BigQuery unreachable: {type(exc).__name__}: {exc}")
    return exc
