"""reprocess_events through the HTTP layer: failed back to pending, ranges re-sent, inputs checked."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import duckdb
import pytest

from platform_events.config import Settings
from platform_events.db import Conn
from tests.builders import emit, set_delivery
from tests.integration.jobs_http import call, client, field_of


def _status(conn: Conn, event_id: uuid.UUID) -> tuple[str, int]:
    row = conn.execute(
        "SELECT status, retry_count FROM platform_event_delivery WHERE event_id = %s", (event_id,)
    ).fetchone()
    assert row is not None
    return str(row["status"]), int(row["retry_count"])  # type: ignore[call-overload]


def test_failed_events_go_back_to_pending_with_their_retries_reset(
    settings: Settings, conn: Conn
) -> None:
    failed_login = emit(conn, "user.login")
    failed_search = emit(conn, "search.performed")
    delivered = emit(conn, "user.login")
    set_delivery(
        conn, [failed_login, failed_search], status="failed", retry_count=3, last_error="boom"
    )
    set_delivery(conn, [delivered], status="delivered")
    http = client(settings)

    status, answer = call(http, "reprocess_events", {"failed": True, "event_types": ["user.login"]})
    assert status == 200, answer
    assert answer["failed_requeued"] == 1
    assert _status(conn, failed_login) == ("pending", 0)
    assert _status(conn, failed_search) == ("failed", 3)

    status, answer = call(http, "reprocess_events", {"failed": True})
    assert (status, answer["failed_requeued"]) == (200, 1)
    assert _status(conn, failed_search) == ("pending", 0)
    assert _status(conn, delivered) == ("delivered", 0)


def _warehouse(settings: Settings) -> dict[uuid.UUID, tuple[str, str]]:
    """event_id -> (event_type, load_id) of every warehouse row; fails on a duplicate event_id."""
    assert settings.duckdb_path is not None
    with duckdb.connect(str(settings.duckdb_path), read_only=True) as warehouse:
        rows = warehouse.execute("SELECT event_id, event_type, load_id FROM events").fetchall()
    by_id = {uuid.UUID(str(r[0])): (str(r[1]), str(r[2])) for r in rows}
    assert len(by_id) == len(rows), "duplicate event_id in the warehouse"
    return by_id


def test_a_range_re_sent_over_http_replaces_its_duckdb_rows_without_duplicates(
    settings: Settings, conn: Conn
) -> None:
    start = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(days=2)
    logins = [emit(conn, "user.login", occurred_at=start + timedelta(hours=h)) for h in range(3)]
    searches = [emit(conn, "search.performed", occurred_at=start + timedelta(hours=1))]
    outside = emit(conn, "user.login", occurred_at=start - timedelta(days=1))
    http = client(settings)
    assert call(http, "stream_platform_events", {})[1]["delivered"] == 5
    first = _warehouse(settings)
    assert set(first) == {*logins, *searches, outside}

    status, answer = call(
        http,
        "reprocess_events",
        {
            "from": start.isoformat(),
            "to": (start + timedelta(days=1)).isoformat(),
            "event_types": ["user.login"],
        },
    )
    assert (status, answer["requeued"]) == (200, 3), answer
    assert answer["reaggregated_buckets"] > 0
    status, streamed = call(http, "stream_platform_events", {})
    assert (status, streamed["delivered"]) == (200, 3), streamed

    second = _warehouse(settings)
    assert set(second) == set(first)  # same events, each once
    assert {second[e][1] for e in logins} != {first[e][1] for e in logins}  # re-written
    for kept in (*searches, outside):
        assert second[kept] == first[kept]  # outside the range or the types: untouched
    hourly = conn.execute(
        "SELECT sum(event_count) AS n FROM event_aggregations WHERE granularity = 'hour' "
        "AND event_type = 'user.login' AND bucket_start >= %s AND bucket_start < %s",
        (start, start + timedelta(days=1)),
    ).fetchone()
    assert hourly == {"n": 3}


def test_a_range_is_put_back_for_delivery_and_re_aggregated(settings: Settings, conn: Conn) -> None:
    start = datetime(2026, 6, 1, tzinfo=UTC)
    inside = [emit(conn, "user.login", occurred_at=start + timedelta(hours=h)) for h in range(3)]
    other_type = emit(conn, "search.performed", occurred_at=start + timedelta(hours=1))
    before = emit(conn, "user.login", occurred_at=start - timedelta(minutes=1))
    at_end = emit(conn, "user.login", occurred_at=start + timedelta(days=1))
    in_flight = emit(conn, "user.login", occurred_at=start + timedelta(hours=5))
    set_delivery(conn, [*inside, other_type, before, at_end], status="delivered")
    set_delivery(conn, [in_flight], status="processing", claimed_at=datetime.now(UTC))

    status, answer = call(
        client(settings),
        "reprocess_events",
        {
            "from": start.isoformat(),
            "to": (start + timedelta(days=1)).isoformat(),
            "event_types": ["user.login"],
        },
    )
    assert status == 200, answer
    assert answer["requeued"] == 3
    assert all(_status(conn, e) == ("pending", 0) for e in inside)
    for untouched in (other_type, before, at_end):
        assert _status(conn, untouched)[0] == "delivered"
    assert _status(conn, in_flight)[0] == "processing"
    hours = conn.execute(
        "SELECT count(*) AS n FROM event_aggregations WHERE granularity = 'hour' "
        "AND event_type = 'user.login' AND bucket_start >= %s AND bucket_start < %s",
        (start, start + timedelta(days=1)),
    ).fetchone()
    assert hours == {"n": 4}
    assert answer["reaggregated_buckets"] > 0


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "failed"),
        ({"from": "2026-01-01T00:00:00Z"}, "to"),
        ({"to": "2026-01-01T00:00:00Z"}, "from"),
        ({"from": "2026-01-02T00:00:00Z", "to": "2026-01-01T00:00:00Z"}, "to"),
        ({"from": "2025-01-01T00:00:00Z", "to": "2026-01-01T00:00:00Z"}, "to"),
        ({"from": "yesterday", "to": "2026-01-01T00:00:00Z"}, "from"),
        ({"failed": True, "event_types": ["no.such_type"]}, "event_types"),
        ({"failed": True, "event_types": []}, "event_types"),
        ({"failed": True, "event_type": "user.login"}, "event_type"),
        ({"failed": "yes please"}, "failed"),
        (
            {
                "from": "2026-01-01T00:00:00Z",
                "to": "2026-01-02T00:00:00Z",
                "resend": False,
                "reaggregate": False,
            },
            "resend",
        ),
    ],
)
def test_invalid_reprocess_bodies_get_400_naming_the_field(
    settings: Settings, body: dict[str, Any], field: str
) -> None:
    status, answer = call(client(settings), "reprocess_events", body)
    assert status == 400, answer
    assert field_of(answer) == field
