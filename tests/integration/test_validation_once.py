"""Event validation is written once (migrations/0060) and every emit path uses it.

Three kinds of check: the catalog (each rule has one home, every emit function reaches the one
validator, the planner inlines it), behaviour (one event, every path, the same answer), and the
limits (Python's copy is the database's).
"""

from __future__ import annotations

import json
import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest
from psycopg.types.json import Jsonb

from platform_events import limits
from platform_events.db import Conn

EMIT_PATHS = (
    "platform_event_check",
    "emit_platform_event",
    "emit_platform_events",
    "emit_platform_events_columns",
    "promote_quarantined_events",
)


def _bodies(conn: Conn) -> dict[str, str]:
    rows = conn.execute(
        "SELECT p.proname, CASE WHEN p.prosqlbody IS NULL THEN p.prosrc"
        " ELSE pg_get_function_sqlbody(p.oid) END AS body FROM pg_proc p"
        " JOIN pg_namespace n ON n.oid = p.pronamespace"
        " WHERE n.nspname = 'public' AND p.prokind = 'f'"
    ).fetchall()
    bodies: dict[str, str] = {}
    for row in rows:  # overloads (mark_event_processed) share a name: their bodies together
        bodies[row["proname"]] = bodies.get(row["proname"], "") + "\n" + row["body"]
    return bodies


def _callers_of(bodies: dict[str, str], name: str) -> set[str]:
    call = re.compile(rf"\b{re.escape(name)}\(")
    return {caller for caller, body in bodies.items() if caller != name and call.search(body)}


def _reaches(bodies: dict[str, str], start: str, target: str) -> bool:
    seen, todo = {start}, [start]
    while todo:
        current = todo.pop()
        for callee in bodies:
            if callee not in seen and re.search(rf"\b{re.escape(callee)}\(", bodies[current]):
                if callee == target:
                    return True
                seen.add(callee)
                todo.append(callee)
    return False


def test_each_rule_has_one_home_in_sql(conn: Conn) -> None:
    bodies = _bodies(conn)
    assert _callers_of(bodies, "platform_events_storable_timestamp") == {
        "platform_events_row_error"
    }
    assert _callers_of(bodies, "platform_events_json_problem") == {"platform_events_row_error"}
    assert _callers_of(bodies, "platform_events_row_error") == {
        "platform_events_check_rows",
        "platform_event_check",
    }
    assert _callers_of(bodies, "platform_events_rule_broken") == {
        "platform_events_check_rows",
        "platform_event_check",
    }
    # JSON Schemas are taken apart in one place, into platform_event_rules.
    assert _callers_of(bodies, "platform_event_schema_rules") == {"platform_events_keep_rules"}
    # The limits are numbers in one function; no other body spells them (the dead letter's
    # truncation of a stored error message to 32768 characters is its own bound, not an event's).
    spelling = {name for name, body in bodies.items() if re.search(r"\b(32768|16384)\b", body)}
    assert spelling == {"platform_events_limits", "dead_letter_platform_events"}


@pytest.mark.parametrize("path", EMIT_PATHS)
def test_every_emit_path_reaches_the_one_set_of_rules(conn: Conn, path: str) -> None:
    bodies = _bodies(conn)
    assert _reaches(bodies, path, "platform_events_row_error")
    assert _reaches(bodies, path, "platform_events_rule_broken")


@pytest.mark.parametrize("path", EMIT_PATHS[2:])
def test_every_batch_path_reaches_the_one_batch_validator_and_writer(conn: Conn, path: str) -> None:
    bodies = _bodies(conn)
    assert _reaches(bodies, path, "platform_events_check_rows")
    assert _reaches(bodies, path, "platform_events_emit_rows")


def test_the_planner_inlines_the_validator_and_its_rules(conn: Conn) -> None:
    plan = conn.execute(
        "EXPLAIN (VERBOSE, FORMAT JSON) SELECT * FROM platform_events_check_rows("
        " %s::text[], %s::jsonb[], %s::jsonb[], %s::timestamptz[], %s::text[], %s::text[],"
        " true, NULL)",
        (["page.viewed"], [Jsonb({})], [Jsonb({})], [datetime.now(UTC)], [None], [None]),
    ).fetchone()
    text = json.dumps(plan)
    # An inlined SQL function leaves no call of itself in the plan, only its expressions.
    for name in (
        "platform_events_check_rows",
        "platform_events_row_error",
        "platform_events_rule_broken",
        "platform_event_current_schema",
    ):
        assert name not in text, name


def test_the_rules_table_follows_every_change_of_a_schema(conn: Conn) -> None:
    def rules() -> dict[str, Any]:
        rows = conn.execute(
            "SELECT key, required_at, want_type, max_length FROM platform_event_rules"
            " WHERE event_type = 'test.thing' ORDER BY key"
        ).fetchall()
        return {r["key"]: (r["required_at"], r["want_type"], r["max_length"]) for r in rows}

    conn.execute(
        "INSERT INTO event_schemas (event_type, version, category, json_schema, retention)"
        " VALUES ('test.thing', 1, 'interaction', %s, '1 year')",
        (Jsonb({"required": ["a"], "properties": {"a": {"type": "string", "maxLength": 3}}}),),
    )
    assert rules() == {"a": (1, "string", 3)}
    conn.execute(
        "UPDATE event_schemas SET json_schema = %s WHERE event_type = 'test.thing'",
        (Jsonb({"properties": {"a": {"type": "string"}, "b": {"type": "integer"}}}),),
    )
    assert rules() == {"a": (None, "string", None), "b": (None, "integer", None)}
    conn.execute("DELETE FROM event_schemas WHERE event_type = 'test.thing'")
    assert rules() == {}


def test_the_python_limits_are_the_databases(conn: Conn) -> None:
    row = conn.execute("SELECT platform_events_limits() AS l").fetchone()
    assert row is not None
    assert row["l"] == limits.as_json()


# One event per way of being wrong (and two right ones), as (event_type, event_data, user_id,
# metadata, occurred_at offset from now).
_CASES: list[tuple[str, dict[str, Any], str | None, dict[str, Any], timedelta]] = [
    ("page.viewed", {"path": "/"}, "u1", {}, timedelta(0)),
    (
        "payment.completed",
        {"payment_id": "p", "amount": 12.5, "currency": "EUR"},
        "u1",
        {},
        -timedelta(days=3),
    ),
    ("", {}, None, {}, timedelta(0)),
    ("no.such_type", {}, None, {}, timedelta(0)),
    ("page.viewed", {"path": "x" * 40_000}, None, {}, timedelta(0)),
    ("page.viewed", {"path": "/"}, None, {"k": "v" * 20_000}, timedelta(0)),
    ("page.viewed", {"path": "/"}, None, {}, timedelta(days=2)),
    ("page.viewed", {"path": "/"}, "u" * 300, {}, timedelta(0)),
    ("payment.completed", {"payment_id": "p", "currency": "EUR"}, None, {}, timedelta(0)),
    (
        "payment.completed",
        {"payment_id": "p", "amount": "1", "currency": "EUR"},
        None,
        {},
        timedelta(0),
    ),
    (
        "payment.completed",
        {"payment_id": "p", "amount": 1, "currency": "EURO"},
        None,
        {},
        timedelta(0),
    ),
    (
        "payment.completed",
        {"payment_id": "p", "amount": -1, "currency": "EUR"},
        None,
        {},
        timedelta(0),
    ),
    ("page.viewed", {}, None, {}, timedelta(0)),
    ("page.viewed", {"path": 5}, None, {}, timedelta(0)),
]


def _single(conn: Conn, case: tuple[Any, ...], now: datetime) -> tuple[Any, ...]:
    event_type, data, user, meta, offset = case
    try:
        with conn.transaction():
            conn.execute(
                "SELECT emit_platform_event(%s, %s, %s, NULL, %s, %s, %s)",
                (event_type, Jsonb(data), user, Jsonb(meta), now + offset, uuid.uuid4()),
            )
    except psycopg.Error as exc:
        return (exc.sqlstate, exc.diag.column_name, exc.diag.message_primary)
    return (None, None, None)


def test_every_path_gives_an_event_the_same_answer(conn: Conn) -> None:
    now = datetime.now(UTC)
    single = [_single(conn, case, now) for case in _CASES]

    as_json = [
        {
            "event_id": str(uuid.uuid4()),
            "event_type": t,
            "event_data": d,
            "user_id": u,
            "metadata": m,
            "occurred_at": (now + o).isoformat(),
        }
        for t, d, u, m, o in _CASES
    ]
    rows = conn.execute(
        "SELECT error_code, error_field, error_message FROM emit_platform_events(%s)",
        (Jsonb(as_json),),
    ).fetchall()
    batch = [(r["error_code"], r["error_field"], r["error_message"]) for r in rows]

    rows = conn.execute(
        "SELECT error_code, error_field, error_message FROM emit_platform_events_columns("
        "%s, %s, %s, %s, %s, %s, %s)",
        (
            [uuid.uuid4() for _ in _CASES],
            [c[0] for c in _CASES],
            [c[2] for c in _CASES],
            [None for _ in _CASES],
            [now + c[4] for c in _CASES],
            Jsonb([c[1] for c in _CASES]),
            Jsonb([c[3] for c in _CASES]),
        ),
    ).fetchall()
    columns = [(r["error_code"], r["error_field"], r["error_message"]) for r in rows]

    assert single == batch == columns
    assert single[0] == single[1] == (None, None, None)
    codes = [answer[0] for answer in single[2:]]
    assert None not in codes  # every wrong event is refused, each for its own reason
    assert len({answer[2] for answer in single[2:]}) == len(codes)
