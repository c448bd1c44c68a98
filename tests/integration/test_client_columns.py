"""The client's batched write path (``emit_platform_events_columns``, migrations/0033) against a real
Postgres: it must answer exactly as the JSON-array ``emit_platform_events`` does, and keep
idempotency under retries and concurrent writers."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest
from psycopg.rows import dict_row

from platform_events.client import Event, EventResult, PostgresTransport, write_events
from platform_events.client.transport import _chunks
from platform_events.db import Conn
from platform_events.emit import write_json_events
from tests.builders import VALID_DATA, counts


def _mutations() -> list[tuple[str, dict[str, object]]]:
    """Valid payloads of every type and, for each declared field, values breaking each rule."""
    from platform_events.catalog import builtin

    cases: list[tuple[str, dict[str, object]]] = []
    breakers: list[object] = [
        None, "x" * 6000, "", -1, 0, 2.5, 10**6, 1e300, True, [], {}, "carrier pigeon", 7, "USD",
    ]  # fmt: skip
    for event_type, entry in builtin().current.items():
        base = dict(VALID_DATA.get(event_type, {}))
        cases.append((event_type, base))
        for spec in entry.fields:
            for value in breakers:
                cases.append((event_type, {**base, spec.name: value}))
            cases.append((event_type, {k: v for k, v in base.items() if k != spec.name}))
    return cases


def _edge_events() -> list[Event]:
    """Events breaking the row-level rules, one each."""
    login = {"method": "sso"}
    return [
        Event(event_type="user.login", event_data=login, metadata={"x": "y" * 20_000}),
        Event(event_type="user.login", event_data={"method": "sso", "blob": "z" * 40_000}),
        Event(event_type="user.login", event_data=login, user_id="u" * 300),
        Event(event_type="user.login", event_data=login, session_id="s" * 256),
        Event(event_type="user.login", event_data=login, occurred_at=datetime.now(UTC) + timedelta(days=3)),
        Event(event_type="no.such_type", event_data=login),
        Event(event_type="", event_data=login),
        Event(event_type="user.login", event_data=[1, 2]),  # type: ignore[arg-type]
        Event(event_type="user.login", event_data=login, metadata=["m"]),  # type: ignore[arg-type]
        Event(event_type="user.login", event_data={"method": "sso", "note": "café \u2603 \"quoted\""}),
    ]  # fmt: skip


def _json_path(conn: Conn, events: Sequence[Event]) -> list[EventResult]:
    """What the JSON-array emit_platform_events answers for the same events, rolled back."""
    with conn.transaction(force_rollback=True):
        return write_json_events(conn, [e.as_json() for e in events])


def _columns_path(conn: Conn, events: Sequence[Event]) -> list[EventResult]:
    with conn.transaction(force_rollback=True):
        return write_events(conn, events)


def test_columns_path_answers_exactly_as_the_json_path_on_every_rule(conn: Conn) -> None:
    events = [
        Event(event_type=t, event_data=d, user_id="u", session_id="s") for t, d in _mutations()
    ] + _edge_events()
    expected = _json_path(conn, events)
    assert {r.status for r in expected} == {"accepted", "rejected"}
    assert _columns_path(conn, events) == expected


def test_columns_path_agrees_with_the_single_event_check(conn: Conn) -> None:
    events = [Event(event_type=t, event_data=d) for t, d in _mutations()] + _edge_events()
    results = write_events(conn, events)
    for event, result in zip(events, results, strict=True):
        single = conn.execute(
            "SELECT (platform_event_check(%s, %s::jsonb, %s::jsonb, %s, %s, %s)).* ",
            (
                event.event_type,
                json.dumps(event.event_data),
                json.dumps(event.metadata),
                event.occurred_at,
                event.user_id,
                event.session_id,
            ),
        ).fetchone()
        assert single is not None
        assert (result.error_code, result.error_field, result.error_message) == (
            single["error_code"],
            single["error_field"],
            single["error_message"],
        ), (event.event_type, event.event_data)
    accepted = sum(r.status == "accepted" for r in results)
    assert counts(conn) == (accepted, accepted)


def test_stored_rows_are_the_rows_the_json_path_stores(conn: Conn) -> None:
    events = [
        Event(
            event_type="search.performed",
            event_data={"query": "python developer", "results_count": n, "when": datetime(2026, 1, 1, tzinfo=UTC)},
            user_id=f"user_{n}",
            session_id="s1",
            metadata={"device_type": "mobile", "n": n},
            occurred_at=datetime(2026, 1, 1, 12, n, tzinfo=UTC),
        )
        for n in range(3)
    ]  # fmt: skip
    columns = "event_id, event_type, event_category, schema_version, user_id, session_id, occurred_at, event_data, metadata"  # fmt: skip
    with conn.transaction(force_rollback=True):
        write_json_events(conn, [e.as_json() for e in events])
        expected = conn.execute(
            f"SELECT {columns} FROM platform_events ORDER BY occurred_at"
        ).fetchall()
    write_events(conn, events)
    stored = conn.execute(f"SELECT {columns} FROM platform_events ORDER BY occurred_at").fetchall()
    assert stored == expected
    assert stored[0]["event_data"]["when"] == "2026-01-01 00:00:00+00:00"


def test_first_occurrence_in_a_batch_wins_and_retries_are_duplicates(conn: Conn) -> None:
    good = Event(event_type="user.login", event_data={"method": "sso"}, user_id="u1")
    bad_same_id = Event(**{**good.__dict__, "event_data": {"method": "carrier pigeon"}})
    other = Event(event_type="user.logout", event_data={"reason": "user"})
    batch = [bad_same_id, good, good, other]
    expected = _json_path(conn, batch)
    results = write_events(conn, batch)
    assert results == expected
    assert [r.status for r in results] == ["rejected", "accepted", "duplicate", "accepted"]
    # The retry of a whole batch: every event already stored.
    assert [r.status for r in write_events(conn, batch)] == ["rejected", "duplicate", "duplicate", "duplicate"]  # fmt: skip
    assert counts(conn) == (2, 2)


def test_a_batch_mixing_stored_and_new_events_stores_only_the_new_ones(conn: Conn) -> None:
    stored = [Event(event_type="user.login", event_data={"method": "sso"}) for _ in range(5)]
    write_events(conn, stored[:2])
    fresh = [Event(event_type="user.logout", event_data={"reason": "user"}) for _ in range(3)]
    batch = [fresh[0], stored[0], fresh[1], stored[1], stored[2], fresh[2]]
    results = write_events(conn, batch)
    assert [r.status for r in results] == ["accepted", "duplicate", "accepted", "duplicate", "accepted", "accepted"]  # fmt: skip
    assert [r.event_id for r in results] == [e.event_id for e in batch]
    assert counts(conn) == (6, 6)
    types = conn.execute(
        "SELECT e.event_type, d.event_type AS ledger_type FROM platform_events e "
        "JOIN platform_event_delivery d USING (event_id, received_at) WHERE e.event_id = %s",
        (stored[0].event_id,),
    ).fetchone()
    assert types == {"event_type": "user.login", "ledger_type": "user.login"}


def test_concurrent_writers_of_the_same_events_store_each_once(
    database_url: str, conn: Conn
) -> None:
    events = [Event(event_type="user.login", event_data={"method": "sso"}) for _ in range(3000)]
    answers: list[list[EventResult]] = []
    barrier = threading.Barrier(3)

    def writer(batch: list[Event]) -> None:
        with psycopg.connect(database_url, autocommit=True, row_factory=dict_row) as own:
            barrier.wait(timeout=30)
            answers.append(write_events(own, batch))

    threads = [
        threading.Thread(target=writer, args=(events,)),
        threading.Thread(target=writer, args=(events,)),
        threading.Thread(target=writer, args=(list(reversed(events)),)),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert len(answers) == 3
    accepted: dict[uuid.UUID, int] = {}
    for answer in answers:
        assert {r.status for r in answer} <= {"accepted", "duplicate"}
        for r in answer:
            assert r.event_id is not None
            accepted[r.event_id] = accepted.get(r.event_id, 0) + (r.status == "accepted")
    assert set(accepted.values()) == {1}  # each event accepted by exactly one writer
    assert counts(conn) == (3000, 3000)


@pytest.fixture
def as_role(database_url: str) -> Iterator[Any]:
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


def test_app_role_answers_as_on_the_json_path_and_emits_as_its_session_user(
    conn: Conn, as_role: Any
) -> None:
    alice = as_role("platform_events_app", "alice")
    batch = [
        Event(event_type="user.login", event_data={"method": "sso"}, user_id=None),
        Event(event_type="user.login", event_data={"method": "sso"}, user_id="alice"),
        Event(event_type="user.login", event_data={"method": "sso"}, user_id="bob"),
    ]
    expected = _json_path(alice, batch)
    results = write_events(alice, batch)
    assert results == expected
    assert [r.status for r in results] == ["accepted", "accepted", "rejected"]
    assert (results[2].error_code, results[2].error_field) == ("42501", "user_id")
    users = conn.execute("SELECT user_id FROM platform_events").fetchall()
    assert [u["user_id"] for u in users] == ["alice", "alice"]


def test_ingest_role_writes_through_the_function_but_reads_nothing(
    conn: Conn, as_role: Any
) -> None:
    ingest = as_role("platform_events_ingest")
    results = write_events(ingest, [Event(event_type="user.login", event_data={"method": "sso"}, user_id="bob")])  # fmt: skip
    assert [r.status for r in results] == ["accepted"]
    for statement in (
        "SELECT * FROM platform_events",
        "SELECT * FROM platform_event_delivery",
        "UPDATE platform_event_delivery SET status = 'delivered'",
        "INSERT INTO platform_event_delivery (event_id, received_at, event_type) VALUES (gen_random_uuid(), now(), 'user.login')",
    ):
        with pytest.raises(psycopg.Error) as caught:
            ingest.execute(statement)
        assert caught.value.sqlstate == "42501"
    assert counts(conn) == (1, 1)


def test_no_role_outside_the_emitters_may_call_the_function(conn: Conn) -> None:
    rows = conn.execute(
        "SELECT r.rolname FROM pg_roles r WHERE r.rolname LIKE 'platform_events_%%' AND "
        "has_function_privilege(r.rolname, 'emit_platform_events_columns(uuid[], text[], text[], "
        "text[], timestamptz[], jsonb, jsonb)', 'EXECUTE') ORDER BY 1"
    ).fetchall()
    assert [r["rolname"] for r in rows] == ["platform_events_app", "platform_events_ingest"]
    public = conn.execute(
        "SELECT has_function_privilege('public', 'emit_platform_events_columns(uuid[], text[], "
        "text[], text[], timestamptz[], jsonb, jsonb)', 'EXECUTE') AS ok"
    ).fetchone()
    assert public == {"ok": False}


def test_missing_ids_and_times_are_filled_and_mismatched_arrays_refused(conn: Conn) -> None:
    row = conn.execute(
        "SELECT * FROM emit_platform_events_columns(ARRAY[NULL]::uuid[], ARRAY['user.login'], "
        "ARRAY[NULL]::text[], ARRAY[NULL]::text[], ARRAY[NULL]::timestamptz[], "
        "'[{\"method\": \"sso\"}]', '[{}]')"
    ).fetchone()
    assert row is not None and row["status"] == "accepted" and row["event_id"] is not None
    stored = conn.execute("SELECT occurred_at <= now() AS ok FROM platform_events").fetchone()
    assert stored == {"ok": True}
    with pytest.raises(psycopg.Error) as caught:
        conn.execute(
            "SELECT * FROM emit_platform_events_columns(ARRAY[NULL]::uuid[], ARRAY['user.login'], "
            "ARRAY[NULL]::text[], ARRAY[NULL]::text[], ARRAY[NULL]::timestamptz[], '[{}, {}]', '[{}]')"
        )
    assert (caught.value.sqlstate, caught.value.diag.column_name) == ("22023", "events")


def test_transport_splits_into_equal_chunks_and_numbers_results_in_order(
    database_url: str, conn: Conn
) -> None:
    assert [len(c) for c in _chunks(list(range(10_000)), 2_000, 2)] == [1667] * 5 + [1665]
    assert [len(c) for c in _chunks(list(range(3_000)), 2_000, 1)] == [1500, 1500]
    assert _chunks([], 2_000, 2) == []
    events = [Event(event_type="user.login", event_data={"method": "sso"}) for _ in range(5000)]
    broken = {7, 2500, 4999}
    for i in broken:
        events[i] = Event(event_type="user.login", event_data={"method": "pigeon"})
    transport = PostgresTransport(database_url, parallel=2, chunk_size=1000)
    try:
        results = transport.send(events)
    finally:
        transport.close()
    assert [r.ordinal for r in results] == list(range(1, 5001))
    assert [r.event_id for r in results] == [e.event_id for e in events]
    assert {i for i, r in enumerate(results) if r.status == "rejected"} == broken
    assert counts(conn) == (4997, 4997)
