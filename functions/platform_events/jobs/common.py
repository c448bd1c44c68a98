"""Helpers every job shares: SQL errors as request errors, time ranges, naive times as UTC."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import psycopg

from platform_events.errors import InvalidRequest

# Rows per statement of every batched job: a few milliseconds of locks per batch.
BATCH_SIZE = 5000

Progress = Callable[[int], None]


def utc(value: datetime) -> datetime:
    """An aware datetime; a naive one is taken as UTC (what every API of ours documents)."""
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def as_request_error(exc: psycopg.Error) -> InvalidRequest | None:
    """The InvalidRequest an invalid-argument error of our SQL functions stands for, else None."""
    if exc.sqlstate != "22023":
        return None
    field = exc.diag.column_name or "body"
    message = exc.diag.message_primary or str(exc)
    return InvalidRequest(message, field=field)


def chunks(start: datetime, end: datetime, size: timedelta) -> Iterator[tuple[datetime, datetime]]:
    """[start, end) cut into consecutive pieces of at most ``size``."""
    cursor = start
    while cursor < end:
        upper = min(cursor + size, end)
        yield cursor, upper
        cursor = upper


def as_int(value: object) -> int:
    """A count from a dict row (psycopg types it ``object``); NULL is 0."""
    if value is None:
        return 0
    if isinstance(value, int | float | str | Decimal):
        return int(value)
    raise TypeError(f"not a count: {type(value).__name__}")


def as_float(value: object) -> float:
    """A number from a dict row; NULL is 0.0."""
    if value is None:
        return 0.0
    if isinstance(value, int | float | str | Decimal):
        return float(value)
    raise TypeError(f"not a number: {type(value).__name__}")
