"""Validation of reprocess requests: each mistake names its field."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from platform_events.errors import InvalidRequest
from platform_events.jobs.reprocess import MAX_RANGE, ReprocessRequest, validate

T = datetime(2026, 5, 1, tzinfo=UTC)


def _request(**fields: Any) -> ReprocessRequest:
    return ReprocessRequest.model_validate(fields)


def test_failed_alone_needs_no_range() -> None:
    assert validate(_request(failed=True)) is None


def test_a_naive_range_is_utc() -> None:
    lo, hi = validate(_request(**{"from": "2026-05-01T00:00:00", "to": "2026-05-02T00:00:00"})) or (
        None,
        None,
    )
    assert lo == T and hi == T + timedelta(days=1)


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({}, "failed"),
        ({"from": T}, "to"),
        ({"to": T}, "from"),
        ({"from": T, "to": T}, "to"),
        ({"from": T, "to": T + MAX_RANGE + timedelta(seconds=1)}, "to"),
        (
            {"from": T, "to": T + timedelta(hours=1), "resend": False, "reaggregate": False},
            "resend",
        ),
    ],
)
def test_invalid_requests_name_the_field(fields: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidRequest) as caught:
        validate(_request(**fields))
    assert caught.value.field == field


def test_the_maximum_range_is_allowed() -> None:
    assert validate(_request(**{"from": T, "to": T + MAX_RANGE})) == (T, T + MAX_RANGE)
