"""Helpers every job shares: SQL errors as request errors, time ranges, naive times as UTC."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Annotated, Any

import psycopg
from pydantic import BeforeValidator

from platform_events.errors import InvalidRequest

# Rows per statement of every batched job: a few milliseconds of locks per batch.
BATCH_SIZE = 5000

Progress = Callable[[int], None]


def utc(value: datetime) -> datetime:
    """An aware datetime; a naive one is taken as UTC (what every API of ours documents)."""
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


# Times of job bodies: no event of ours is older (the store began after 2000) and a range
# reaching past 9998 cannot be right; the bounds also keep every +/- offset within datetime.
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
LATEST = datetime(9998, 12, 31, tzinfo=UTC)


def _iso_8601(value: Any) -> Any:
    """An ISO 8601 string as an aware datetime (UTC if naive), within EARLIEST..LATEST.

    pydantic alone also takes numbers and numeric strings as Unix times, so ``{"since": 1e11}``
    meant the year 5138; job bodies take ISO 8601 only.
    """
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.strip())
        except ValueError:
            raise ValueError("must be an ISO 8601 date-time (2026-06-01T00:00:00Z)") from None
    else:
        raise ValueError("must be an ISO 8601 date-time string (2026-06-01T00:00:00Z)")
    parsed = utc(parsed)
    try:
        in_range = EARLIEST <= parsed.astimezone(UTC) <= LATEST
    except OverflowError:
        in_range = False
    if not in_range:
        raise ValueError(f"must be between {EARLIEST.year} and {LATEST.year}")
    return parsed


IsoDatetime = Annotated[datetime, BeforeValidator(_iso_8601)]


def not_in_future(start: datetime, now: datetime, field: str) -> None:
    """InvalidRequest when a range starting at ``start`` lies wholly in the future."""
    if start > now:
        raise InvalidRequest(f"{field} is in the future: the range holds no event yet", field=field)


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
