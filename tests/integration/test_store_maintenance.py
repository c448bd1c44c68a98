"""Partitions, retention, anonymization, aggregation and metrics functions of the event store."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from platform_events.db import Conn
from tests.builders import counts, emit, set_delivery


def _partitions(conn: Conn) -> set[str]:
    return {
        r["partition_name"]
        for r in conn.execute("SELECT partition_name FROM platform_event_partitions")
    }


def test_partitions_exist_for_the_coming_months_with_a_leaf_per_retention_class(
    conn: Conn,
) -> None:
    months = {
        r["partition_name"]
        for r in conn.execute("SELECT partition_name FROM platform_event_months")
    }
    assert "platform_events_default" in months
    classes = {
        r["label"]
        for r in conn.execute(
            "SELECT DISTINCT platform_events_retention_label(retention) AS label FROM event_schemas"
        )
    }
    assert classes == {"1y", "2y", "7y"}
    leaves = _partitions(conn)
    month = datetime.now(UTC).replace(day=1)
    for _ in range(4):
        assert f"platform_events_{month:%Y_%m}" in months
        assert {f"platform_events_{month:%Y_%m}_r{c}" for c in classes} <= leaves
        month = (month + timedelta(days=32)).replace(day=1)


def test_each_event_is_stored_in_the_leaf_of_its_month_and_its_types_retention(
    conn: Conn,
) -> None:
    ids = {t: emit(conn, t) for t in ("search.performed", "user.login", "payment.completed")}
    month = datetime.now(UTC)
    rows = conn.execute(
        "SELECT event_id, retention_class AS retention, tableoid::regclass::text AS leaf "
        "FROM platform_events"
    ).fetchall()
    where = {r["event_id"]: (r["retention"], r["leaf"]) for r in rows}
    assert where[ids["search.performed"]] == ("1 year", f"platform_events_{month:%Y_%m}_r1y")
    assert where[ids["user.login"]] == ("2 years", f"platform_events_{month:%Y_%m}_r2y")
    assert where[ids["payment.completed"]] == ("7 years", f"platform_events_{month:%Y_%m}_r7y")


def test_a_row_outside_every_partition_lands_in_the_default_and_moves_when_its_month_is_created(
    conn: Conn,
) -> None:
    # Five years ahead of today, whatever today is: beyond the months the migrations create.
    today = datetime.now(UTC)
    far = datetime(today.year + 5, today.month, 15, tzinfo=UTC)
    name = f"platform_events_{far:%Y_%m}"
    conn.execute(
        "INSERT INTO platform_events (event_type, event_category, schema_version, received_at, "
        "retention_class) VALUES ('user.login', 'user_activity', 1, %s, '2 years')",
        (far,),
    )
    assert conn.execute("SELECT count(*) AS n FROM platform_events_default").fetchone() == {"n": 1}
    months_back = (far.year - datetime.now(UTC).year) * 12 + far.month - datetime.now(UTC).month
    created = conn.execute(
        "SELECT * FROM ensure_platform_event_partitions(%s, 0)", (months_back,)
    ).fetchall()
    assert name in {r["ensure_platform_event_partitions"] for r in created}
    assert conn.execute("SELECT count(*) AS n FROM platform_events_default").fetchone() == {"n": 0}
    assert conn.execute(f"SELECT count(*) AS n FROM {name}").fetchone() == {"n": 1}
    again = conn.execute(
        "SELECT * FROM ensure_platform_event_partitions(%s, 0)", (months_back,)
    ).fetchall()
    assert again == []


def _old(conn: Conn, event_type: str, days: int, delivered: bool, **overrides: object) -> uuid.UUID:
    event_id = emit(
        conn, event_type, occurred_at=datetime.now(UTC) - timedelta(days=days), **overrides
    )  # type: ignore[arg-type]
    if delivered:
        set_delivery(conn, [event_id], status="delivered", processed_at=datetime.now(UTC))
    return event_id


def test_retention_deletes_exactly_the_expired_delivered_events_per_category(conn: Conn) -> None:
    expired_interaction = _old(conn, "search.performed", 400, delivered=True)
    _old(conn, "search.performed", 300, delivered=True)  # within 1 year
    pending_expired = _old(conn, "profile.viewed", 500, delivered=False)
    failed_expired = _old(conn, "profile.viewed", 500, delivered=False)
    set_delivery(conn, [failed_expired], status="failed")
    expired_activity = _old(conn, "user.login", 800, delivered=True)
    _old(conn, "user.login", 700, delivered=True)  # within 2 years
    _old(conn, "payment.completed", 2000, delivered=True)  # within 7 years
    expired_payment = _old(conn, "payment.completed", 2600, delivered=True)

    preview = {
        r["event_type"]: r["expired"]
        for r in conn.execute("SELECT * FROM platform_events_retention_preview()")
    }
    assert preview["search.performed"] == 1
    assert preview["profile.viewed"] == 0
    assert preview["user.login"] == 1
    assert preview["payment.completed"] == 1
    assert counts(conn) == (8, 8)

    deleted = 0
    while True:
        batch = sum(
            r["deleted"] for r in conn.execute("SELECT * FROM apply_data_retention_policy(1)")
        )
        if batch == 0:
            break
        deleted += batch
    assert deleted == 3
    remaining = {r["event_id"] for r in conn.execute("SELECT event_id FROM platform_events")}
    assert remaining.isdisjoint({expired_interaction, expired_activity, expired_payment})
    assert {pending_expired, failed_expired} <= remaining
    assert counts(conn) == (5, 5)


def test_anonymization_removes_identity_and_personal_fields(conn: Conn) -> None:
    emit(
        conn,
        "search.performed",
        user_id="alice",
        metadata={"ip": "203.0.113.9", "user_agent": "UA", "source": "x"},
    )
    emit(conn, "review.posted", user_id="alice", session_id="s-alice")
    emit(
        conn,
        "profile.viewed",
        user_id="bob",
        event_data={"profile_id": "alice", "source": "search"},
    )
    emit(conn, "user.login", user_id="bob")
    changed = conn.execute("SELECT anonymize_user_events('alice') AS n").fetchone()
    assert changed == {"n": 3}
    text = conn.execute("SELECT string_agg(t::text, ' ') AS all FROM platform_events t").fetchone()
    assert text is not None
    for personal in ("alice", "s-alice", "203.0.113.9", "python developer", "Great work, Jane"):
        assert personal not in text["all"]
    bob = conn.execute("SELECT count(*) AS n FROM platform_events WHERE user_id = 'bob'").fetchone()
    assert bob == {"n": 2}
    assert counts(conn) == (4, 4)


def test_hourly_aggregation_counts_events_users_and_sessions_and_is_idempotent(conn: Conn) -> None:
    hour = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=2)
    for minute, user, session in [(1, "a", "s1"), (5, "a", "s1"), (30, "b", "s2"), (59, "c", None)]:
        emit(
            conn,
            "user.login",
            user_id=user,
            session_id=session,
            occurred_at=hour + timedelta(minutes=minute),
        )
    emit(conn, "user.login", occurred_at=hour + timedelta(hours=1, minutes=1))
    for _ in range(2):
        conn.execute("SELECT aggregate_events_hourly(%s, %s)", (hour, hour + timedelta(hours=2)))
    rows = conn.execute(
        "SELECT bucket_start, event_count, unique_users, unique_sessions FROM event_aggregations "
        "WHERE granularity = 'hour' ORDER BY bucket_start"
    ).fetchall()
    assert [
        (r["bucket_start"], r["event_count"], r["unique_users"], r["unique_sessions"]) for r in rows
    ] == [
        (hour, 4, 3, 2),
        (hour + timedelta(hours=1), 1, 1, 1),
    ]
    # A late event is counted when its bucket is recomputed.
    emit(conn, "user.login", user_id="d", occurred_at=hour + timedelta(minutes=10))
    conn.execute("SELECT aggregate_events_hourly(%s, %s)", (hour, hour + timedelta(hours=1)))
    row = conn.execute(
        "SELECT event_count FROM event_aggregations WHERE granularity = 'hour' AND bucket_start = %s",
        (hour,),
    ).fetchone()
    assert row == {"event_count": 5}


def test_daily_and_weekly_buckets_sum_amounts(conn: Conn) -> None:
    day = datetime(2026, 11, 2, tzinfo=UTC)  # a Monday
    emit(
        conn,
        "payment.completed",
        occurred_at=day + timedelta(hours=3),
        event_data={"payment_id": "a", "amount": 10.5, "currency": "USD"},
    )
    emit(
        conn,
        "payment.completed",
        occurred_at=day + timedelta(days=2),
        event_data={"payment_id": "b", "amount": 4.5, "currency": "USD"},
    )
    conn.execute("SELECT aggregate_events('day', %s, %s)", (day, day + timedelta(days=7)))
    conn.execute("SELECT aggregate_events('week', %s, %s)", (day, day + timedelta(days=7)))
    week = conn.execute(
        "SELECT bucket_start, event_count, metrics FROM event_aggregations WHERE granularity = 'week'"
    ).fetchone()
    assert week is not None
    assert week["bucket_start"] == day and week["event_count"] == 2
    assert float(week["metrics"]["amount_sum"]) == 15.0
    days = conn.execute(
        "SELECT count(*) AS n FROM event_aggregations WHERE granularity = 'day'"
    ).fetchone()
    assert days == {"n": 2}


def test_aggregation_rejects_a_bad_granularity_and_a_reversed_range(conn: Conn) -> None:
    now = datetime.now(UTC)
    with pytest.raises(psycopg.Error) as caught:
        conn.execute("SELECT aggregate_events('minute', %s, %s)", (now - timedelta(hours=1), now))
    assert caught.value.sqlstate == "22023" and caught.value.diag.column_name == "granularity"
    with pytest.raises(psycopg.Error) as caught:
        conn.execute("SELECT aggregate_events('hour', %s, %s)", (now, now - timedelta(hours=1)))
    assert caught.value.sqlstate == "22023"


def test_realtime_metrics_set_increment_expire_and_clean_up(conn: Conn) -> None:
    dims = '{"event_type": "user.login"}'
    conn.execute(
        "SELECT update_realtime_metric('events', 2, %s::jsonb, interval '1 hour', true)", (dims,)
    )
    value = conn.execute(
        "SELECT update_realtime_metric('events', 3, %s::jsonb, interval '1 hour', true) AS v",
        (dims,),
    ).fetchone()
    assert value == {"v": 5.0}
    conn.execute(
        "SELECT update_realtime_metrics(ARRAY['events', 'events', 'lag'], ARRAY[1, 1, 7]::float8[], "
        "ARRAY[%s::jsonb, %s::jsonb, '{}'::jsonb], interval '1 hour', true)",
        (dims, dims),
    )
    rows = {
        r["metric_name"]: r["metric_value"]
        for r in conn.execute("SELECT * FROM platform_metrics_realtime")
    }
    assert rows == {"events": 7.0, "lag": 7.0}
    conn.execute("SELECT update_realtime_metric('old', 1, '{}', interval '-1 second')")
    removed = conn.execute("SELECT cleanup_expired_metrics() AS n").fetchone()
    assert removed == {"n": 1}
    assert {
        r["metric_name"] for r in conn.execute("SELECT metric_name FROM platform_metrics_realtime")
    } == {
        "events",
        "lag",
    }
