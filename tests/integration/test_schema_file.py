"""migrations/schema.sql builds the database the migrations build, and is current.

The first test is procrastinate's tests/migration: the catalog of a migrated database against the
catalog of one loaded from the schema file. tests/pg15.py runs this file on PostgreSQL 15 too.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import psycopg
import psycopg.sql
import pytest
from psycopg.rows import dict_row

from platform_events import migrate
from tests import schema_catalog, schema_file


def _load_schema_file(url: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(schema_file.SCHEMA_FILE.read_bytes())


def _catalog(url: str) -> schema_catalog.Catalog:
    with psycopg.connect(url, autocommit=True, row_factory=dict_row) as conn:
        return schema_catalog.read(conn)


def test_schema_file_builds_the_catalog_the_migrations_build(
    database_url: str, empty_database_url: str
) -> None:
    _load_schema_file(empty_database_url)

    migrated, loaded = _catalog(database_url), _catalog(empty_database_url)

    assert migrated["functions"] and migrated["policies"] and migrated["rows of event_schemas"]
    assert any(row[9] for row in migrated["relations"]), "the monthly partitions are compared"
    difference = schema_catalog.differences(migrated, loaded)
    assert not difference, (
        "first = migrated, second = loaded from migrations/schema.sql; "
        f"run `{schema_file.REGENERATE}` if a migration changed:\n" + "\n".join(difference)
    )


def test_schema_file_is_current(database_url: str) -> None:
    pg_dump = schema_file.pg_dump_binary()
    with psycopg.connect(database_url) as conn:
        server_major = conn.info.server_version // 10000
    if server_major != schema_file.dump_major(pg_dump):
        pytest.skip(
            f"the file is generated on the embedded server's major; this is PostgreSQL "
            f"{server_major} (the catalog comparison above covers it)"
        )

    rendered = schema_file.render(database_url, pg_dump)

    assert rendered == schema_file.SCHEMA_FILE.read_text(encoding="utf-8"), (
        f"migrations/schema.sql is stale: run `{schema_file.REGENERATE}` and commit it"
    )


def test_schema_file_holds_one_live_body_per_function() -> None:
    text = schema_file.SCHEMA_FILE.read_text(encoding="utf-8")

    for name in (
        "get_pending_events",
        "emit_platform_events",
        "apply_data_retention_policy",
        "anonymize_user_events",
    ):
        assert text.count(f"CREATE FUNCTION public.{name}(") == 1, name


def test_database_loaded_from_schema_file_takes_the_next_migration(
    empty_database_url: str, tmp_path: Path
) -> None:
    _load_schema_file(empty_database_url)
    folder = tmp_path / "migrations"
    shutil.copytree(migrate.migrations_dir(), folder)
    (folder / "9999_next.sql").write_text("CREATE TABLE schema_file_next (id int);\n")

    with psycopg.connect(empty_database_url, autocommit=True, row_factory=dict_row) as conn:
        migrate.check_up_to_date(conn)
        applied = migrate.migrate(conn, folder)
        present = conn.execute("SELECT to_regclass('schema_file_next') AS t").fetchone()

    assert [m.version for m in applied] == ["9999"]
    assert present and present["t"] == "schema_file_next"


def _roles_block() -> str:
    text = schema_file.SCHEMA_FILE.read_text(encoding="utf-8")
    start = text.index("DO $$")
    return text[start : text.index("$$;", text.index("$$", start + 2) + 2) + 3]


def test_schema_file_creates_the_group_roles_of_0006_when_missing_and_again_is_a_no_op(
    empty_database_url: str,
) -> None:
    block = _roles_block()
    created_by_0006 = (migrate.migrations_dir() / "0006_roles_and_security.sql").read_text()
    roles = sorted(set(re.findall(r"'(platform_events_[a-z]+)'", block)))
    assert roles == sorted(set(re.findall(r"'(platform_events_[a-z]+)'", created_by_0006)))
    # The cluster's real roles exist already; the same block under names no one uses shows
    # that it creates what is missing (NOLOGIN) and leaves what exists.
    probe = f"pe_probe_{os.getpid()}_"
    renamed = block.replace("'platform_events_", f"'{probe}")
    with psycopg.connect(empty_database_url, autocommit=True, row_factory=dict_row) as conn:
        try:
            conn.execute(renamed.encode())
            conn.execute(renamed.encode())
            rows = conn.execute(
                "SELECT rolname, rolcanlogin FROM pg_roles WHERE rolname LIKE %s ORDER BY 1",
                [probe + "%"],
            ).fetchall()
        finally:
            for role in roles:
                conn.execute(
                    psycopg.sql.SQL("DROP ROLE IF EXISTS {}").format(
                        psycopg.sql.Identifier(role.replace("platform_events_", probe))
                    )
                )

    assert rows == [
        {"rolname": role.replace("platform_events_", probe), "rolcanlogin": False} for role in roles
    ]
