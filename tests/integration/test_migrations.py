"""The migration runner: order, checksums, idempotency, concurrency, refusal of edited files."""

from __future__ import annotations

import shutil
import threading
from pathlib import Path

import psycopg
import pytest
from psycopg.rows import dict_row

from platform_events import errors, migrate
from platform_events.db import Conn


def _connect(url: str) -> Conn:
    return psycopg.connect(url, autocommit=True, row_factory=dict_row)


def test_migrate_applies_every_file_in_order_and_records_checksums(empty_database_url: str) -> None:
    with _connect(empty_database_url) as conn:
        applied = migrate.migrate(conn)
        expected = migrate.discover()
        assert [m.version for m in applied] == [m.version for m in expected]
        rows = conn.execute(
            "SELECT version, checksum FROM schema_migrations ORDER BY version"
        ).fetchall()
        assert [(r["version"], r["checksum"]) for r in rows] == [
            (m.version, m.checksum) for m in expected
        ]
        migrate.check_up_to_date(conn)


def test_migrate_is_a_no_op_when_up_to_date(database_url: str) -> None:
    with _connect(database_url) as conn:
        before = conn.execute("SELECT count(*) AS n FROM schema_migrations").fetchone()
        assert migrate.migrate(conn) == []
        assert conn.execute("SELECT count(*) AS n FROM schema_migrations").fetchone() == before


def test_two_concurrent_runs_apply_each_migration_once(empty_database_url: str) -> None:
    results: list[list[migrate.Migration]] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(2)

    def run() -> None:
        try:
            with _connect(empty_database_url) as conn:
                barrier.wait(timeout=30)
                results.append(migrate.migrate(conn))
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    assert sorted(len(r) for r in results) == [0, len(migrate.discover())]
    with _connect(empty_database_url) as conn:
        row = conn.execute("SELECT count(*) AS n FROM schema_migrations").fetchone()
        assert row == {"n": len(migrate.discover())}


def _copy_migrations(tmp_path: Path) -> Path:
    folder = tmp_path / "migrations"
    shutil.copytree(migrate.migrations_dir(), folder)
    return folder


def test_an_applied_migration_that_was_edited_is_refused(
    empty_database_url: str, tmp_path: Path
) -> None:
    folder = _copy_migrations(tmp_path)
    with _connect(empty_database_url) as conn:
        migrate.migrate(conn, folder)
        first = sorted(folder.glob("0001_*.sql"))[0]
        first.write_text(first.read_text() + "\n-- an innocent-looking edit\n")
        with pytest.raises(errors.MigrationError, match="edited after it was applied"):
            migrate.migrate(conn, folder)


def test_a_failing_migration_leaves_nothing_behind_and_names_itself(
    empty_database_url: str, tmp_path: Path
) -> None:
    folder = _copy_migrations(tmp_path)
    (folder / "0999_broken.sql").write_text(
        "-- 0999: broken on purpose\nCREATE TABLE half_done (id int);\nSELECT 1/0;\n"
    )
    with _connect(empty_database_url) as conn:
        with pytest.raises(errors.MigrationError, match="0999_broken"):
            migrate.migrate(conn, folder)
        assert conn.execute("SELECT to_regclass('half_done') AS t").fetchone() == {"t": None}
        assert conn.execute(
            "SELECT count(*) AS n FROM schema_migrations WHERE version = '0999'"
        ).fetchone() == {"n": 0}


def test_a_missing_migration_is_reported_by_name(empty_database_url: str, tmp_path: Path) -> None:
    folder = _copy_migrations(tmp_path)
    with _connect(empty_database_url) as conn:
        migrate.migrate(conn, folder)
        (folder / "0998_later.sql").write_text("-- 0998: later\nSELECT 1;\n")
        with pytest.raises(errors.SchemaOutOfDate, match="0998_later"):
            migrate.check_up_to_date(conn, folder)


def test_migration_files_are_named_and_start_with_a_header_comment() -> None:
    for migration in migrate.discover(include_examples=True):
        first_line = migration.text.splitlines()[0]
        assert first_line.startswith("-- "), migration.path.name
