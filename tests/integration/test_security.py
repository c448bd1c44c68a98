"""Roles and row-level security: what each role can and cannot do, checked as that role."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from platform_events.db import Conn
from tests.builders import counts, emit


@pytest.fixture
def as_role(database_url: str) -> Iterator[object]:
    """Connections acting as a given role (SET ROLE) with an optional session user."""
    opened: list[Conn] = []

    def connect(role: str, user_id: str | None = None) -> Conn:
        connection = psycopg.connect(database_url, autocommit=True, row_factory=dict_row)
        opened.append(connection)
        connection.execute(f"SET ROLE {role}")
        if user_id is not None:
            connection.execute(
                "SELECT set_config('platform_events.user_id', %s, false)", (user_id,)
            )
        return connection

    yield connect
    for connection in opened:
        connection.close()


def test_app_role_reads_only_its_session_users_events(conn: Conn, as_role) -> None:  # type: ignore[no-untyped-def]
    emit(conn, user_id="alice")
    emit(conn, user_id="alice")
    emit(conn, user_id="bob")
    alice = as_role("platform_events_app", "alice")
    rows = alice.execute("SELECT user_id FROM platform_events").fetchall()
    assert [r["user_id"] for r in rows] == ["alice", "alice"]
    nobody = as_role("platform_events_app")
    assert nobody.execute("SELECT count(*) AS n FROM platform_events").fetchone() == {"n": 0}


def test_app_role_emits_as_its_session_user(conn: Conn, as_role) -> None:  # type: ignore[no-untyped-def]
    alice = as_role("platform_events_app", "alice")
    emit(alice, user_id=None)
    emit(alice, user_id="alice")
    rows = conn.execute("SELECT user_id FROM platform_events").fetchall()
    assert [r["user_id"] for r in rows] == ["alice", "alice"]


def test_app_role_cannot_forge_another_users_id(conn: Conn, as_role) -> None:  # type: ignore[no-untyped-def]
    alice = as_role("platform_events_app", "alice")
    with pytest.raises(psycopg.Error) as caught:
        emit(alice, user_id="bob")
    assert caught.value.sqlstate == "42501"
    assert caught.value.diag.column_name == "user_id"
    rows = alice.execute(
        "SELECT * FROM emit_platform_events(%s)",
        (Jsonb([{"event_type": "user.login", "event_data": {"method": "sso"}, "user_id": "bob"}]),),
    ).fetchall()
    assert rows[0]["status"] == "rejected" and rows[0]["error_code"] == "42501"
    assert counts(conn) == (0, 0)


@pytest.mark.parametrize(
    "statement",
    [
        "SELECT * FROM platform_event_delivery",
        "SELECT * FROM get_pending_events(10)",
        "SELECT mark_event_processed(gen_random_uuid(), true)",
        "UPDATE platform_events SET user_id = 'x'",
        "DELETE FROM platform_events",
        "INSERT INTO platform_events (event_type, event_category, schema_version) VALUES ('a.b', 'content', 1)",
        "SELECT * FROM warehouse_sync_status",
        "SELECT * FROM platform_metrics_realtime",
        "SELECT * FROM platform_events_with_status",
        "SELECT * FROM {partition}",
        "SELECT * FROM platform_events_default",
        "SELECT anonymize_user_events('alice')",
        "SELECT platform_events_store('user.login', '{{}}', 'bob', NULL, '{{}}', NULL, NULL)",
        "SELECT * FROM quarantine_platform_events('[]')",
        "SELECT ensure_platform_event_partitions(1, 1)",
    ],
)
def test_app_role_cannot_touch_processing_state_or_other_tables(  # type: ignore[no-untyped-def]
    conn: Conn, as_role, statement: str
) -> None:
    # A partition that exists now, whatever today's date: the test must fail only on 42501,
    # never pass because the object is missing.
    partition = conn.execute(
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
        "WHERE i.inhparent = 'platform_events'::regclass AND c.relname <> 'platform_events_default' "
        "ORDER BY c.relname DESC LIMIT 1"
    ).fetchone()
    assert partition is not None
    alice = as_role("platform_events_app", "alice")
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        alice.execute(statement.format(partition=partition["relname"]))


def test_ingest_role_emits_for_any_user_but_reads_nothing(conn: Conn, as_role) -> None:  # type: ignore[no-untyped-def]
    ingest = as_role("platform_events_ingest")
    emit(ingest, user_id="bob")
    emit(ingest, user_id="carol")
    assert counts(conn) == (2, 2)
    with pytest.raises(psycopg.Error) as caught:
        ingest.execute("SELECT * FROM platform_events")
    assert caught.value.sqlstate == "42501"


def test_analyst_reads_metrics_and_aggregations_only(conn: Conn, as_role) -> None:  # type: ignore[no-untyped-def]
    emit(conn)
    conn.execute("SELECT update_realtime_metric('events_total', 1)")
    analyst = as_role("platform_events_analyst")
    assert analyst.execute("SELECT count(*) AS n FROM platform_metrics_realtime").fetchone() == {
        "n": 1
    }
    analyst.execute("SELECT count(*) FROM event_aggregations")
    for statement in (
        "SELECT * FROM platform_events",
        "SELECT * FROM platform_event_delivery",
        "SELECT emit_platform_event('user.login', '{\"method\": \"sso\"}')",
    ):
        with pytest.raises(psycopg.Error) as caught:
            analyst.execute(statement)
        assert caught.value.sqlstate == "42501"


def test_pipeline_role_claims_and_acknowledges(conn: Conn, as_role) -> None:  # type: ignore[no-untyped-def]
    event_id = emit(conn)
    pipeline = as_role("platform_events_pipeline")
    claimed = pipeline.execute("SELECT * FROM get_pending_events(10)").fetchall()
    assert [r["event_id"] for r in claimed] == [event_id]
    pipeline.execute("SELECT mark_event_processed(%s::uuid, true)", (event_id,))
    pipeline.execute("SELECT count(*) FROM ensure_platform_event_partitions(4, 1)")
    state = conn.execute("SELECT status FROM platform_event_delivery").fetchone()
    assert state == {"status": "delivered"}


def test_example_triggers_emit_project_created_and_review_posted_for_the_row_owner(
    conn: Conn,
    as_role,  # type: ignore[no-untyped-def]
) -> None:
    from platform_events import migrate

    migrate.migrate(conn, include_examples=True)
    alice = as_role("platform_events_app", "alice")
    project = alice.execute(
        "INSERT INTO projects (client_id, title, budget) VALUES ('alice', 'Logo', 250) RETURNING id"
    ).fetchone()
    assert project is not None
    alice.execute(
        "INSERT INTO reviews (project_id, reviewer_id, reviewee_id, rating, comment) "
        "VALUES (%s, 'alice', 'bob', 5, 'Lovely')",
        (project["id"],),
    )
    rows = conn.execute(
        "SELECT event_type, user_id, event_data FROM platform_events ORDER BY event_type"
    ).fetchall()
    assert [(r["event_type"], r["user_id"]) for r in rows] == [
        ("project.created", "alice"),
        ("review.posted", "alice"),
    ]
    assert rows[0]["event_data"]["project_id"] == str(project["id"])
    with pytest.raises(psycopg.Error):
        alice.execute(
            "INSERT INTO reviews (project_id, reviewer_id, rating) VALUES (%s, 'alice', 9)",
            (project["id"],),
        )
    assert counts(conn) == (2, 2)


def test_example_triggers_refuse_a_row_user_other_than_the_session_user(
    conn: Conn,
    as_role,  # type: ignore[no-untyped-def]
) -> None:
    from platform_events import migrate

    migrate.migrate(conn, include_examples=True)
    alice = as_role("platform_events_app", "alice")
    with pytest.raises(psycopg.errors.InsufficientPrivilege) as caught:
        alice.execute("INSERT INTO projects (client_id, title, budget) VALUES ('bob', 'Logo', 250)")
    assert caught.value.diag.column_name == "client_id"
    assert "bob" not in str(caught.value)
    assert conn.execute("SELECT count(*) AS n FROM projects").fetchone() == {"n": 0}
    # With no session user, the row's own user is the event's; trusted roles attribute freely.
    as_role("platform_events_app").execute(
        "INSERT INTO projects (client_id, title, budget) VALUES ('bob', 'Logo', 250)"
    )
    conn.execute("SELECT set_config('platform_events.user_id', 'alice', false)")
    conn.execute("INSERT INTO projects (client_id, title, budget) VALUES ('carol', 'Logo', 9)")
    rows = conn.execute("SELECT user_id FROM platform_events ORDER BY user_id").fetchall()
    assert [r["user_id"] for r in rows] == ["bob", "carol"]
