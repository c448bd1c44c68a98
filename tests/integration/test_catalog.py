"""The Python catalogue and the event_schemas table can never drift."""

from __future__ import annotations

import psycopg
import pytest
from psycopg.types.json import Jsonb

from platform_events.catalog import CATALOG, RETENTION
from platform_events.db import Conn
from platform_events.errors import InvalidEvent
from tests.builders import VALID_DATA


def test_every_catalogue_entry_matches_its_event_schemas_row(conn: Conn) -> None:
    rows = conn.execute(
        "SELECT event_type, version, category, json_schema, retention::text AS retention, is_active "
        "FROM event_schemas ORDER BY event_type"
    ).fetchall()
    assert sorted(CATALOG) == [r["event_type"] for r in rows]
    for row in rows:
        entry = CATALOG[row["event_type"]]
        assert row["version"] == entry.version
        assert row["category"] == entry.category
        assert row["json_schema"] == entry.json_schema(), row["event_type"]
        assert row["is_active"]


def test_retention_per_category_is_the_seeds(conn: Conn) -> None:
    rows = conn.execute(
        "SELECT DISTINCT category, retention::text AS retention FROM event_schemas ORDER BY category"
    ).fetchall()
    assert {r["category"]: r["retention"] for r in rows} == {
        "content": "7 years",
        "interaction": "1 year",
        "transaction": "7 years",
        "user_activity": "2 years",
    }
    assert set(RETENTION) == {r["category"] for r in rows}


# Payloads on which the Python validation and the database's must agree.
_CASES = [
    ("payment.completed", {"payment_id": "p", "amount": 1, "currency": "USD"}),
    ("payment.completed", {"payment_id": "p", "amount": True, "currency": "USD"}),
    ("payment.completed", {"payment_id": "p", "amount": "1", "currency": "USD"}),
    ("payment.completed", {"amount": 1, "currency": "USD"}),
    ("review.posted", {"review_id": "r", "project_id": "p", "rating": 6}),
    ("review.posted", {"review_id": "r", "project_id": "p", "rating": 0}),
    ("review.posted", {"review_id": "r", "project_id": "p", "rating": 2.5}),
    ("user.login", {"method": "carrier pigeon"}),
    ("user.login", {"method": "sso", "extra": {"nested": 1}}),
    ("profile.updated", {"fields_changed": "bio"}),
    ("search.performed", {"query": "x", "results_count": -1}),
    ("search.performed", {"query": None, "results_count": 1}),
    *[(name, data) for name, data in VALID_DATA.items()],
]


@pytest.mark.parametrize(("event_type", "data"), _CASES)
def test_python_and_database_validation_agree(
    conn: Conn, event_type: str, data: dict[str, object]
) -> None:
    try:
        CATALOG[event_type].validate(data)
        python_field = None
    except InvalidEvent as exc:
        python_field = exc.field
    try:
        conn.execute("SELECT emit_platform_event(%s, %s)", (event_type, Jsonb(data)))
        database_field = None
    except psycopg.Error as exc:
        database_field = exc.diag.column_name
    assert python_field == database_field
