"""apply_retention through the HTTP layer: exactly the expired, delivered rows go; whole months too."""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime, timedelta

import duckdb
import psycopg
import pytest

from platform_events.config import Settings
from platform_events.db import Conn
from tests.builders import counts, emit, set_delivery
from tests.integration.jobs_http import call, client, field_of


def _old(conn: Conn, event_type: str, days: int, status: str = "delivered") -> uuid.UUID:
    event_id = emit(conn, event_type, occurred_at=datetime.now(UTC) - timedelta(days=days))
    if status != "pending":
        set_delivery(conn, [event_id], status=status)
    return event_id


def _ids(conn: Conn) -> set[uuid.UUID]:
    return {r["event_id"] for r in conn.execute("SELECT event_id FROM platform_events")}  # type: ignore[misc]


def test_retention_deletes_exactly_the_expired_delivered_events_of_each_category(
    settings: Settings, conn: Conn
) -> None:
    gone = {
        _old(conn, "search.performed", 400),  # interaction, 1 year
        _old(conn, "filter.applied", 366),
        _old(conn, "user.login", 800),  # user activity, 2 years
        _old(conn, "payment.completed", 2600),  # transaction, 7 years
        _old(conn, "review.posted", 2600),  # content, 7 years
    }
    kept = {
        _old(conn, "search.performed", 300),
        _old(conn, "user.login", 700),
        _old(conn, "payment.completed", 2000),
        _old(conn, "review.posted", 1000),
        _old(conn, "profile.viewed", 500, status="pending"),
        _old(conn, "profile.viewed", 500, status="processing"),
        _old(conn, "search.performed", 500, status="failed"),
        _old(conn, "user.login", 1),
    }
    http = client(settings)

    status, preview = call(http, "apply_retention", {"dry_run": True, "warehouse": False})
    assert status == 200, preview
    assert sum(preview["expired"].values()) == len(gone)
    assert _ids(conn) == gone | kept

    status, answer = call(
        http, "apply_retention", {"batch_size": 1, "warehouse": False, "partitions": "off"}
    )
    assert status == 200, answer
    assert answer["deleted_total"] == len(gone) and answer["complete"] is True
    assert _ids(conn) == kept
    assert counts(conn) == (len(kept), len(kept))


def test_one_retention_call_deletes_at_most_the_batch_size_per_type(conn: Conn) -> None:
    for _ in range(5):
        _old(conn, "search.performed", 400)
    rows = conn.execute("SELECT * FROM apply_data_retention_policy(2) WHERE deleted > 0").fetchall()
    assert [(r["event_type"], r["deleted"]) for r in rows] == [("search.performed", 2)]
    assert counts(conn) == (3, 3)


def _month_start(months_back: int) -> datetime:
    now = datetime.now(UTC)
    index = now.year * 12 + now.month - 1 - months_back
    return datetime(index // 12, index % 12 + 1, 1, tzinfo=UTC)


def _insert_old(
    conn: Conn, received_at: datetime, event_type: str, occurred_at: datetime, status: str
) -> None:
    """As the table owner: an event stored long ago (received_at is otherwise always now())."""
    event_id = uuid.uuid4()
    category = conn.execute(
        "SELECT category FROM event_schemas WHERE event_type = %s", (event_type,)
    ).fetchone()
    assert category is not None
    conn.execute(
        "INSERT INTO platform_events (event_id, event_type, event_category, schema_version, "
        "user_id, occurred_at, received_at) VALUES (%s, %s, %s, 1, 'u', %s, %s)",
        (event_id, event_type, category["category"], occurred_at, received_at),
    )
    conn.execute(
        "INSERT INTO platform_event_delivery (event_id, received_at, event_type, status) "
        "VALUES (%s, %s, %s, %s)",
        (event_id, received_at, event_type, status),
    )


def _partition(months_back: int) -> str:
    return f"platform_events_{_month_start(months_back):%Y_%m}"


def test_a_wholly_expired_delivered_month_is_dropped_and_others_are_kept(
    settings: Settings, conn: Conn
) -> None:
    conn.execute("SELECT ensure_platform_event_partitions(0, 30)")
    expired, with_pending, with_young = (_month_start(n) for n in (28, 27, 26))
    for i in range(20):
        at = expired + timedelta(hours=i)
        _insert_old(conn, at, "search.performed", at, "delivered")
        _insert_old(conn, at, "user.login", at - timedelta(days=1), "delivered")
    _insert_old(conn, with_pending, "search.performed", with_pending, "delivered")
    _insert_old(
        conn, with_pending + timedelta(hours=1), "search.performed", with_pending, "pending"
    )
    _insert_old(conn, with_young, "search.performed", with_young, "delivered")
    _insert_old(conn, with_young, "payment.completed", with_young, "delivered")  # 7 years
    before = counts(conn)
    http = client(settings)

    status, dry = call(http, "apply_retention", {"dry_run": True, "warehouse": False})
    assert status == 200
    planned = {p["partition"]: p for p in dry["partitions"]}
    assert planned[_partition(28)] == {
        "partition": _partition(28),
        "events": 40,
        "action": "would_retire",
    }
    assert _partition(27) not in planned and _partition(26) not in planned
    assert counts(conn) == before

    status, answer = call(http, "apply_retention", {"warehouse": False})
    assert status == 200, answer
    assert {"partition": _partition(28), "events": 40, "action": "detached"} in answer["partitions"]
    assert answer["partition_events_deleted"] == 40
    names = {
        r["partition_name"]
        for r in conn.execute("SELECT partition_name FROM platform_event_partitions")
    }
    assert _partition(28) not in names
    assert {_partition(27), _partition(26)} <= names
    leftovers = conn.execute(
        "SELECT count(*) AS n FROM platform_events_retired_partitions"
    ).fetchone()
    assert leftovers == {"n": 0}
    # The month with a pending event keeps it (its delivered expired sibling goes by batch); the
    # month with a 7-year event keeps that one.
    remaining = conn.execute(
        "SELECT e.event_type, d.status FROM platform_events e "
        "JOIN platform_event_delivery d USING (event_id) ORDER BY 1, 2"
    ).fetchall()
    assert [(r["event_type"], r["status"]) for r in remaining] == [
        ("payment.completed", "delivered"),
        ("search.performed", "pending"),
    ]
    assert counts(conn) == (2, 2)


def test_partitions_can_be_detached_and_kept_for_archiving(settings: Settings, conn: Conn) -> None:
    conn.execute("SELECT ensure_platform_event_partitions(0, 30)")
    month = _month_start(29)
    _insert_old(conn, month, "user.login", month, "delivered")
    status, answer = call(
        client(settings), "apply_retention", {"partitions": "detach", "warehouse": False}
    )
    assert status == 200, answer
    kept = f"platform_events_retired_{month:%Y_%m}"
    assert conn.execute("SELECT count(*) AS n FROM " + kept).fetchone() == {"n": 1}
    assert counts(conn) == (0, 0)


def test_the_pipeline_role_can_retire_a_partition_only_through_the_definer_function(
    conn: Conn,
) -> None:
    conn.execute("SELECT ensure_platform_event_partitions(0, 30)")
    conn.execute("SET ROLE platform_events_pipeline")
    try:
        outcome = conn.execute(
            "SELECT platform_events_detach_partition(%s) AS o", (_partition(25),)
        ).fetchone()
        assert outcome == {"o": "detached"}
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute(f"ALTER TABLE platform_events DETACH PARTITION {_partition(24)}")
        current = f"platform_events_{datetime.now(UTC):%Y_%m}"
        with pytest.raises(psycopg.errors.InvalidParameterValue) as caught:
            conn.execute("SELECT platform_events_detach_partition(%s)", (current,))
        assert caught.value.diag.column_name == "partition"
    finally:
        conn.execute("RESET ROLE")


def test_invalid_retention_bodies_get_400_naming_the_field(settings: Settings) -> None:
    http = client(settings)
    for body, field in [
        ({"batch_size": 0}, "batch_size"),
        ({"partitions": "shred"}, "partitions"),
        ({"dry_run": "perhaps"}, "dry_run"),
        ({"lock_timeout_ms": 60_000}, "lock_timeout_ms"),
        ({"max_seconds": -1}, "max_seconds"),
        ({"dryrun": True}, "dryrun"),
    ]:
        status, answer = call(http, "apply_retention", body)
        assert (status, field_of(answer)) == (400, field), body


def test_retention_applies_the_same_policies_in_the_duckdb_warehouse_and_purges_quarantine(
    settings: Settings, conn: Conn, caplog: pytest.LogCaptureFixture
) -> None:
    old_login = emit(conn, "user.login", occurred_at=datetime.now(UTC) - timedelta(days=800))
    old_search = emit(conn, "search.performed", occurred_at=datetime.now(UTC) - timedelta(days=400))
    kept = emit(conn, "user.login", occurred_at=datetime.now(UTC) - timedelta(days=10))
    conn.execute(
        "INSERT INTO platform_events_quarantine (event_id, event_type, reason, received_at) "
        "VALUES (gen_random_uuid(), 'old.thing', 'unknown event type', now() - interval '31 days'),"
        "       (gen_random_uuid(), 'new.thing', 'unknown event type', now() - interval '29 days')"
    )
    http = client(settings)
    status, streamed = call(http, "stream_platform_events", {})
    assert (status, streamed["delivered"]) == (200, 3), streamed

    with caplog.at_level(logging.INFO, logger="platform_events.jobs.retention"):
        status, answer = call(http, "apply_retention", {})
    assert status == 200, answer
    summaries = [
        r.fields  # type: ignore[attr-defined]
        for r in caplog.records
        if r.name == "platform_events.jobs.retention" and r.getMessage() == "retention finished"
    ]
    assert len(summaries) == 1
    assert summaries[0]["quarantine_purged"] == 1 and summaries[0]["warehouse_deleted"] == 2
    assert answer["deleted"] == {"user.login": 1, "search.performed": 1}
    assert (answer["warehouse"], answer["warehouse_deleted"]) == ("duckdb", 2)
    assert answer["quarantine_purged"] == 1
    assert conn.execute("SELECT event_type FROM platform_events_quarantine").fetchall() == [
        {"event_type": "new.thing"}
    ]
    assert _ids(conn) == {kept}
    assert settings.duckdb_path is not None
    with duckdb.connect(str(settings.duckdb_path), read_only=True) as warehouse:
        left = {
            uuid.UUID(str(r[0]))
            for r in warehouse.execute("SELECT event_id FROM events").fetchall()
        }
    assert left == {kept}
    assert old_login not in left and old_search not in left
