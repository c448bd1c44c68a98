"""apply_retention through the HTTP layer: exactly the expired, delivered rows go; whole leaves
(a month of one retention class) are dropped, the rest row by row."""

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
    conn: Conn,
    received_at: datetime,
    event_type: str,
    occurred_at: datetime,
    status: str | None,
) -> uuid.UUID:
    """As the table owner: an event stored long ago (received_at is otherwise always now()), in
    its type's class; ``status`` None: no ledger row (delivered, aged out of the window)."""
    event_id = uuid.uuid4()
    conn.execute(
        "INSERT INTO platform_events (event_id, event_type, event_category, schema_version, "
        "user_id, occurred_at, received_at, retention_class) "
        "SELECT %s, s.event_type, s.category, 1, 'u', %s, %s, s.retention::text "
        "FROM event_schemas s WHERE s.event_type = %s",
        (event_id, occurred_at, received_at, event_type),
    )
    if status is not None:
        conn.execute(
            "INSERT INTO platform_event_delivery (event_id, received_at, event_type, status) "
            "VALUES (%s, %s, %s, %s)",
            (event_id, received_at, event_type, status),
        )
    return event_id


def _leaf(months_back: int, label: str) -> str:
    return f"platform_events_{_month_start(months_back):%Y_%m}_r{label}"


def _leaves(conn: Conn) -> set[str]:
    return {
        str(r["partition_name"])
        for r in conn.execute("SELECT partition_name FROM platform_event_partitions")
    }


def _stored(conn: Conn) -> dict[uuid.UUID, str]:
    """Each event and the leaf holding it."""
    rows = conn.execute("SELECT event_id, tableoid::regclass::text AS leaf FROM platform_events")
    return {r["event_id"]: str(r["leaf"]) for r in rows}  # type: ignore[misc]


def test_an_expired_delivered_leaf_is_dropped_whole_and_the_rest_of_its_month_is_kept(
    settings: Settings, conn: Conn
) -> None:
    conn.execute("SELECT ensure_platform_event_partitions(0, 30)")
    month = _month_start(20)  # past a 1-year class (and its month and a day), within 2 years
    dropped = {
        _insert_old(conn, month + timedelta(hours=i), "search.performed", month, "delivered")
        for i in range(20)
    }
    dropped.add(_insert_old(conn, month, "filter.applied", month, None))  # aged-out ledger row
    kept = {
        _insert_old(conn, month, "user.login", month - timedelta(days=1), "delivered"),
        _insert_old(conn, month, "payment.completed", month, None),
    }
    # The month after: an undelivered event keeps the whole 1-year leaf, its delivered sibling too.
    later = _month_start(19)
    kept |= {
        _insert_old(conn, later, "search.performed", later, "delivered"),
        _insert_old(conn, later + timedelta(hours=1), "search.performed", later, "pending"),
    }
    before = _stored(conn)
    http = client(settings)

    status, dry = call(http, "apply_retention", {"dry_run": True, "warehouse": False})
    assert status == 200, dry
    planned = {p["partition"]: p for p in dry["partitions"]}
    assert planned[_leaf(20, "1y")] == {
        "partition": _leaf(20, "1y"),
        "events": 21,
        "action": "would_retire",
    }
    assert planned[_leaf(19, "1y")]["action"] == "undelivered"
    assert _leaf(20, "2y") not in planned and _leaf(20, "7y") not in planned
    assert _stored(conn) == before

    status, answer = call(http, "apply_retention", {"warehouse": False})
    assert status == 200, answer
    assert {"partition": _leaf(20, "1y"), "events": 21, "action": "detached"} in answer[
        "partitions"
    ]
    assert answer["partition_events_deleted"] == 21
    assert answer["deleted_total"] == 0  # nothing went row by row
    assert _leaf(20, "1y") not in _leaves(conn)
    assert {_leaf(20, "2y"), _leaf(20, "7y"), _leaf(19, "1y")} <= _leaves(conn)
    assert conn.execute(
        "SELECT count(*) AS n FROM platform_events_retired_partitions"
    ).fetchone() == {"n": 0}
    assert set(_stored(conn)) == kept
    assert {before[k] for k in dropped} == {_leaf(20, "1y")}


def test_late_arrivals_and_a_shortened_retention_go_row_by_row_in_bounded_batches(
    settings: Settings, conn: Conn
) -> None:
    conn.execute("SELECT ensure_platform_event_partitions(0, 30)")
    now = datetime.now(UTC)
    recent = _month_start(2)
    late = {  # received two months ago, occurred over a year before: expired, its leaf is not
        _insert_old(conn, recent, "search.performed", now - timedelta(days=400), "delivered")
        for _ in range(3)
    }
    late_pending = _insert_old(
        conn, recent, "search.performed", now - timedelta(days=400), "pending"
    )
    on_time = _insert_old(conn, recent, "search.performed", recent, "delivered")
    # user.login was kept 2 years; it is now kept 1 year: its events of 14 months ago expire,
    # though the 2-year leaf holding them does not.
    old_login = _insert_old(conn, _month_start(14), "user.login", _month_start(14), None)
    young_login = _insert_old(conn, _month_start(6), "user.login", _month_start(6), None)
    conn.execute("UPDATE event_schemas SET retention = '1 year' WHERE event_type = 'user.login'")

    status, answer = call(
        client(settings), "apply_retention", {"batch_size": 2, "warehouse": False}
    )
    assert status == 200, answer
    assert answer["deleted"] == {"search.performed": 3, "user.login": 1}
    assert answer["batches"] >= 2 and answer["complete"] is True
    assert set(_stored(conn)) == {late_pending, on_time, young_login}
    assert old_login not in _stored(conn) and not late & set(_stored(conn))


def test_a_lengthened_retention_moves_its_events_to_the_longer_class_before_the_leaf_goes(
    settings: Settings, conn: Conn
) -> None:
    conn.execute("SELECT ensure_platform_event_partitions(0, 30)")
    month = _month_start(20)
    moved = {_insert_old(conn, month, "search.performed", month, None) for _ in range(3)}
    gone = _insert_old(conn, month, "filter.applied", month, None)
    conn.execute(
        "UPDATE event_schemas SET retention = '3 years' WHERE event_type = 'search.performed'"
    )
    # The new class has its leaves from last month on, created with the change.
    assert f"platform_events_{_month_start(0):%Y_%m}_r3y" in _leaves(conn)

    status, answer = call(client(settings), "apply_retention", {"warehouse": False})
    assert status == 200, answer
    assert {"partition": _leaf(20, "1y"), "events": 4, "action": "detached"} in answer["partitions"]
    stored = _stored(conn)
    assert gone not in stored
    assert {stored[k] for k in moved} == {_leaf(20, "3y")}


def test_months_left_without_leaves_are_dropped(settings: Settings, conn: Conn) -> None:
    month = _month_start(90).date()  # past every class, 7 years included
    for retention in ("1 year", "2 years", "7 years"):
        conn.execute("SELECT platform_events_ensure_leaf(%s, %s::interval)", (month, retention))
    name = f"platform_events_{month:%Y_%m}"
    status, answer = call(client(settings), "apply_retention", {"warehouse": False})
    assert status == 200, answer
    assert name in answer["months_dropped"]
    assert conn.execute("SELECT to_regclass(%s) AS t", (name,)).fetchone() == {"t": None}


def test_partitions_can_be_detached_and_kept_for_archiving(settings: Settings, conn: Conn) -> None:
    conn.execute("SELECT ensure_platform_event_partitions(0, 30)")
    month = _month_start(29)
    _insert_old(conn, month, "user.login", month, "delivered")
    status, answer = call(
        client(settings), "apply_retention", {"partitions": "detach", "warehouse": False}
    )
    assert status == 200, answer
    kept = f"platform_events_retired_{month:%Y_%m}_r2y"
    assert conn.execute("SELECT count(*) AS n FROM " + kept).fetchone() == {"n": 1}
    assert {"table": kept, "action": "detached"} in answer["retired_tables"]
    assert counts(conn)[0] == 0


def test_the_pipeline_role_can_retire_a_partition_only_through_the_definer_function(
    conn: Conn,
) -> None:
    conn.execute("SELECT ensure_platform_event_partitions(0, 30)")
    conn.execute("SET ROLE platform_events_pipeline")
    try:
        outcome = conn.execute(
            "SELECT platform_events_detach_partition(%s) AS o", (_leaf(25, "1y"),)
        ).fetchone()
        assert outcome == {"o": "detached"}
        month = f"platform_events_{_month_start(24):%Y_%m}"
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute(f"ALTER TABLE {month} DETACH PARTITION {_leaf(24, '1y')}")
        current = _leaf(0, "1y")
        assert conn.execute(
            "SELECT platform_events_detach_partition(%s) AS o", (current,)
        ).fetchone() == {"o": "not_expired"}
        with pytest.raises(psycopg.errors.InvalidParameterValue) as caught:
            conn.execute("SELECT platform_events_detach_partition(%s)", (month,))
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
