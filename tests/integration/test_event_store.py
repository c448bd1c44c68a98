"""The event store's SQL functions against a real PostgreSQL: emit, claim, acknowledge, retry."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from platform_events.db import Conn
from tests.builders import counts, emit, emit_many, set_delivery


def test_emit_stores_a_pending_event_with_its_category_and_schema_version(conn: Conn) -> None:
    event_id = emit(conn, "payment.completed", user_id="user_a", session_id="s9")
    row = conn.execute(
        "SELECT * FROM platform_events_with_status WHERE event_id = %s", (event_id,)
    ).fetchone()
    assert row is not None
    assert row["event_category"] == "transaction"
    assert row["schema_version"] == 1
    assert row["user_id"] == "user_a"
    assert row["session_id"] == "s9"
    assert row["processing_status"] == "pending"
    assert row["retry_count"] == 0
    assert row["event_data"]["amount"] == 300


def test_emit_is_idempotent_on_a_caller_supplied_event_id(conn: Conn) -> None:
    event_id = uuid.uuid4()
    first = emit(conn, event_id=event_id)
    second = emit(
        conn, event_id=event_id, event_data={"payment_id": "other", "amount": 1, "currency": "EUR"}
    )
    assert first == second == event_id
    assert counts(conn) == (1, 1)
    stored = conn.execute("SELECT event_data FROM platform_events").fetchone()
    assert stored is not None and stored["event_data"]["payment_id"] == "pay1"


@pytest.mark.parametrize(
    ("overrides", "sqlstate", "field"),
    [
        ({"event_type": "nope.unknown"}, "PE001", "event_type"),
        ({"event_type": ""}, "PE001", "event_type"),
        ({"event_data": {"amount": 3, "currency": "USD"}}, "PE003", "event_data.payment_id"),
        (
            {
                "event_data": {
                    "payment_id": "p",
                    "amount": 3,
                    "currency": "USD",
                    "blob": "x" * 33_000,
                }
            },
            "PE004",
            "event_data",
        ),
        ({"metadata": {"blob": "x" * 17_000}}, "PE004", "metadata"),
        (
            {"event_data": {"payment_id": "p", "amount": "3", "currency": "USD"}},
            "PE005",
            "event_data.amount",
        ),
        (
            {"event_data": {"payment_id": "p", "amount": -1, "currency": "USD"}},
            "PE005",
            "event_data.amount",
        ),
        (
            {"event_data": {"payment_id": "p", "amount": 1, "currency": "EURO"}},
            "PE005",
            "event_data.currency",
        ),
        ({"event_data": []}, "PE006", "event_data"),
        ({"occurred_at": datetime.now(UTC) + timedelta(days=3)}, "PE007", "occurred_at"),
        ({"user_id": "u" * 300}, "PE009", "user_id"),
    ],
)
def test_every_rejected_emit_names_the_field_and_leaves_no_row(
    conn: Conn, overrides: dict[str, object], sqlstate: str, field: str
) -> None:
    with pytest.raises(psycopg.Error) as caught:
        emit(conn, **overrides)  # type: ignore[arg-type]
    assert caught.value.sqlstate == sqlstate
    assert caught.value.diag.column_name == field
    assert counts(conn) == (0, 0)


def test_enum_and_integer_rules_of_the_schema_are_enforced(conn: Conn) -> None:
    with pytest.raises(psycopg.Error) as caught:
        emit(conn, "user.login", event_data={"method": "telepathy"})
    assert caught.value.sqlstate == "PE005"
    with pytest.raises(psycopg.Error) as caught:
        emit(conn, "review.posted", event_data={"review_id": "r", "project_id": "p", "rating": 4.5})
    assert caught.value.sqlstate == "PE005"
    emit(conn, "review.posted", event_data={"review_id": "r", "project_id": "p", "rating": 4.0})
    assert counts(conn) == (1, 1)


def test_an_inactive_event_type_is_rejected(conn: Conn) -> None:
    conn.execute("UPDATE event_schemas SET is_active = false WHERE event_type = 'mfa.enabled'")
    with pytest.raises(psycopg.Error) as caught:
        emit(conn, "mfa.enabled")
    assert caught.value.sqlstate == "PE002"
    assert counts(conn) == (0, 0)


def test_batch_emit_accepts_valid_events_and_reports_each_rejection(conn: Conn) -> None:
    known = str(uuid.uuid4())
    emit(conn, event_id=uuid.UUID(known))
    batch = [
        {"event_type": "user.login", "event_data": {"method": "sso"}, "user_id": "u1"},
        {"event_type": "user.login", "event_data": {}},
        {
            "event_type": "payment.completed",
            "event_id": known,
            "event_data": {"payment_id": "x", "amount": 1, "currency": "USD"},
        },
        "not an object",
        {"event_type": "user.login", "event_data": {"method": "sso"}, "event_id": "not-a-uuid"},
        {
            "event_type": "user.login",
            "event_data": {"method": "sso"},
            "occurred_at": "yesterday-ish",
        },
        {
            "event_type": "search.performed",
            "event_data": {"query": "q", "results_count": 1},
            "occurred_at": "2026-01-02T03:04:05Z",
        },
    ]
    rows = conn.execute("SELECT * FROM emit_platform_events(%s)", (Jsonb(batch),)).fetchall()
    assert [r["status"] for r in rows] == [
        "accepted",
        "rejected",
        "duplicate",
        "rejected",
        "rejected",
        "rejected",
        "accepted",
    ]
    assert [r["error_field"] for r in rows] == [
        None,
        "event_data.method",
        None,
        "events[4]",
        "event_id",
        "occurred_at",
        None,
    ]
    assert counts(conn) == (3, 3)
    occurred = conn.execute(
        "SELECT occurred_at FROM platform_events WHERE event_type = 'search.performed'"
    ).fetchone()
    assert occurred is not None
    assert occurred["occurred_at"] == datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def test_batch_emit_stores_an_id_repeated_within_the_batch_once(conn: Conn) -> None:
    same = str(uuid.uuid4())
    batch = [{"event_type": "user.login", "event_data": {"method": "sso"}, "event_id": same}] * 3
    rows = conn.execute("SELECT * FROM emit_platform_events(%s)", (Jsonb(batch),)).fetchall()
    assert [r["status"] for r in rows] == ["accepted", "duplicate", "duplicate"]
    assert counts(conn) == (1, 1)


def test_claim_returns_due_events_with_payload_and_marks_them_processing(conn: Conn) -> None:
    ids = emit_many(conn, 5)
    claimed = conn.execute("SELECT * FROM get_pending_events(3)").fetchall()
    assert len(claimed) == 3
    assert {r["event_id"] for r in claimed} <= set(ids)
    assert all(r["event_data"] == {"method": "password", "success": True} for r in claimed)
    statuses = conn.execute(
        "SELECT status, count(*) AS n FROM platform_event_delivery GROUP BY status ORDER BY status"
    ).fetchall()
    assert [(r["status"], r["n"]) for r in statuses] == [("pending", 2), ("processing", 3)]


def test_two_connections_claiming_concurrently_get_disjoint_batches(
    conn: Conn, database_url: str
) -> None:
    emit_many(conn, 10)
    with (
        psycopg.connect(database_url, row_factory=dict_row) as first,
        psycopg.connect(database_url, row_factory=dict_row) as second,
    ):
        # Both transactions stay open, so the first one's row locks are held while the second claims.
        a = {r["event_id"] for r in first.execute("SELECT * FROM get_pending_events(6)").fetchall()}
        b = {
            r["event_id"] for r in second.execute("SELECT * FROM get_pending_events(6)").fetchall()
        }
        assert len(a) == 6
        assert len(b) == 4
        assert a.isdisjoint(b)
        first.commit()
        second.commit()


def test_claim_honours_the_next_attempt_time(conn: Conn) -> None:
    later, now = emit(conn), emit(conn)
    set_delivery(conn, [later], next_attempt_at=datetime.now(UTC) + timedelta(minutes=5))
    claimed = [
        r["event_id"] for r in conn.execute("SELECT * FROM get_pending_events(10)").fetchall()
    ]
    assert claimed == [now]


def test_a_claim_stuck_past_the_visibility_timeout_is_reclaimed_as_a_new_attempt(
    conn: Conn,
) -> None:
    event_id = emit(conn)
    assert len(conn.execute("SELECT * FROM get_pending_events(10)").fetchall()) == 1
    assert conn.execute("SELECT * FROM get_pending_events(10)").fetchall() == []
    set_delivery(conn, [event_id], claimed_at=datetime.now(UTC) - timedelta(minutes=10))
    again = conn.execute("SELECT * FROM get_pending_events(10, interval '5 minutes', 3)").fetchall()
    assert [r["event_id"] for r in again] == [event_id]
    assert again[0]["retry_count"] == 1
    state = conn.execute("SELECT status, last_error FROM platform_event_delivery").fetchone()
    assert state is not None and state["status"] == "processing"
    assert "claim expired" in state["last_error"]


def test_success_marks_a_batch_delivered(conn: Conn) -> None:
    ids = emit_many(conn, 3)
    conn.execute("SELECT * FROM get_pending_events(10)")
    changed = conn.execute("SELECT mark_event_processed(%s::uuid[], true) AS n", (ids,)).fetchone()
    assert changed is not None and changed["n"] == 3
    rows = conn.execute("SELECT status, processed_at FROM platform_event_delivery").fetchall()
    assert all(r["status"] == "delivered" and r["processed_at"] is not None for r in rows)


def test_failures_back_off_then_end_failed_with_the_error_after_max_retries(conn: Conn) -> None:
    event_id = emit(conn)
    for attempt in range(1, 4):
        set_delivery(conn, [event_id], next_attempt_at=datetime.now(UTC) - timedelta(seconds=1))
        assert len(conn.execute("SELECT * FROM get_pending_events(10)").fetchall()) == 1
        status = conn.execute(
            "SELECT mark_event_processed(%s::uuid, false, 'warehouse said no', 3) AS s", (event_id,)
        ).fetchone()
        state = conn.execute("SELECT * FROM platform_event_delivery").fetchone()
        assert state is not None and status is not None
        assert state["retry_count"] == attempt
        assert state["last_error"] == "warehouse said no"
        if attempt < 3:
            assert status["s"] == "pending"
            assert state["next_attempt_at"] > datetime.now(UTC)
        else:
            assert status["s"] == "failed"
    assert conn.execute("SELECT * FROM get_pending_events(10)").fetchall() == []
    assert counts(conn) == (1, 1)


def test_a_late_failure_report_does_not_override_a_delivered_event(conn: Conn) -> None:
    event_id = emit(conn)
    conn.execute("SELECT * FROM get_pending_events(10)")
    conn.execute("SELECT mark_event_processed(%s::uuid, true)", (event_id,))
    conn.execute("SELECT mark_event_processed(%s::uuid, false, 'late')", (event_id,))
    state = conn.execute("SELECT status FROM platform_event_delivery").fetchone()
    assert state is not None and state["status"] == "delivered"


def test_claimed_at_is_set_exactly_while_an_event_is_processing(conn: Conn) -> None:
    # Expired claims are found by claimed_at alone (migration 0040): every way out of
    # 'processing' must clear it, every way in must set it.
    def broken() -> int:
        row = conn.execute(
            "SELECT count(*) AS n FROM platform_event_delivery "
            "WHERE (claimed_at IS NOT NULL) <> (status = 'processing')"
        ).fetchone()
        assert row is not None
        return int(row["n"])

    ids = emit_many(conn, 8)
    claimed = [r["event_id"] for r in conn.execute("SELECT * FROM get_pending_events(8)")]
    assert len(claimed) == 8 and broken() == 0
    conn.execute("SELECT mark_event_processed(%s::uuid[], true)", (claimed[:2],))
    conn.execute("SELECT mark_event_processed(%s::uuid[], false, 'no', 3)", (claimed[2:4],))
    conn.execute("SELECT mark_event_processed(%s::uuid[], false, 'no', 1)", (claimed[4:5],))
    assert broken() == 0
    set_delivery(conn, claimed[5:], claimed_at=datetime.now(UTC) - timedelta(hours=1))
    reclaimed = conn.execute("SELECT * FROM get_pending_events(8, interval '5 minutes', 1)")
    assert reclaimed.fetchall() == []  # the expired claims spent their only attempt: failed
    statuses = conn.execute(
        "SELECT status, count(*) AS n FROM platform_event_delivery GROUP BY status ORDER BY status"
    ).fetchall()
    assert [(r["status"], r["n"]) for r in statuses] == [
        ("delivered", 2),
        ("failed", 4),
        ("pending", 2),
    ]
    assert broken() == 0 and set(ids) == set(claimed)


def test_claim_rejects_a_nonsensical_batch_size(conn: Conn) -> None:
    with pytest.raises(psycopg.Error) as caught:
        conn.execute("SELECT * FROM get_pending_events(0)")
    assert caught.value.sqlstate == "22023"
    assert caught.value.diag.column_name == "batch_size"
