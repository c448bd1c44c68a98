"""queries.py: SQL statements are loaded by name from the package's .sql files."""

from __future__ import annotations

import pytest

from platform_events import queries


def test_queries_are_loaded_by_name_and_a_missing_one_is_named() -> None:
    assert queries.sql("migration_lock").startswith("SELECT pg_advisory_lock")
    with pytest.raises(KeyError, match="no_such_query"):
        queries.sql("no_such_query")


def test_a_query_defined_twice_is_refused() -> None:
    with pytest.raises(ValueError, match="twice"):
        queries._parse("-- name: a\nSELECT 1;\n-- name: a\nSELECT 2;\n", "x.sql")
