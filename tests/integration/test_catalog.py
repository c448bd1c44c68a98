"""The Python catalogue and the event_schemas table can never drift."""

from __future__ import annotations

import psycopg
import pytest
from psycopg.types.json import Jsonb

from platform_events import catalog_files
from platform_events.catalog import builtin
from platform_events.db import Conn
from platform_events.errors import InvalidEvent
from tests.builders import VALID_DATA


def test_every_schema_file_is_its_event_schemas_row(conn: Conn) -> None:
    # The test database is built by the migration step: migrations, then the built-in catalogue.
    rows = conn.execute(
        "SELECT event_type, version, category, json_schema, retention::text AS retention, "
        "is_active, description, owner, revision FROM event_schemas ORDER BY event_type, version"
    ).fetchall()
    files = catalog_files.load(catalog_files.builtin_dir())
    assert [(r["event_type"], r["version"]) for r in rows] == [
        (f.event_type, f.version) for f in files
    ]
    for row, schema_file in zip(rows, files, strict=True):
        assert row["json_schema"] == schema_file.json_schema, schema_file.path
        assert row["category"] == schema_file.category
        assert row["retention"] == schema_file.retention
        assert (row["description"], row["owner"]) == (schema_file.description, schema_file.owner)
        assert row["is_active"] == schema_file.active
        # The seeded rows already matched the files: applying them edited nothing.
        assert row["revision"] == 0
    for name, entry in builtin().current.items():
        assert entry.json_schema() == next(
            f.json_schema for f in files if f.event_type == name and f.version == entry.version
        )


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
        builtin().current[event_type].validate(data)
        python_field = None
    except InvalidEvent as exc:
        python_field = exc.field
    try:
        conn.execute("SELECT emit_platform_event(%s, %s)", (event_type, Jsonb(data)))
        database_field = None
    except psycopg.Error as exc:
        database_field = exc.diag.column_name
    assert python_field == database_field
