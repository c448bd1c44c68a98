"""Apply ``migrations/NNNN_name.sql`` in order: one transaction each, under an advisory lock.

Applied files are recorded with a SHA-256 checksum; an applied file that was edited afterwards is
refused (migrations are immutable once released), so a deployment never silently diverges.
The optional example schema (``migrations/examples/``) is applied only when asked for.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

import psycopg

from platform_events import catalog_apply, catalog_files
from platform_events.catalog_changes import Plan
from platform_events.errors import MigrationError, SchemaOutOfDate
from platform_events.stores import migrations as store

MIGRATION_LOCK_ID = store.MIGRATION_LOCK_ID
_FILE = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")
# The current schema in one file, generated from the migrations (tests/schema_file.py); read by
# people and tests, never applied by migrate.
SCHEMA_FILE_NAME = "schema.sql"


@dataclass(frozen=True)
class Migration:
    version: str
    name: str
    path: Path

    @property
    def text(self) -> str:
        return self.path.read_text(encoding="utf-8")

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.path.read_bytes()).hexdigest()


def migrations_dir() -> Path:
    """The migrations folder: beside ``functions/`` in a checkout, inside it when deployed."""
    here = Path(__file__).resolve()
    for candidate in (here.parents[2] / "migrations", here.parents[1] / "migrations"):
        if candidate.is_dir():
            return candidate
    raise MigrationError(f"no migrations folder found near {here.parents[1]}")


def discover(folder: Path | None = None, *, include_examples: bool = False) -> list[Migration]:
    """Every migration file in order; example migrations come last, versioned ``examples/NNNN``."""
    root = folder or migrations_dir()
    found: list[Migration] = []
    sources = [(root, "")]
    if include_examples:
        sources.append((root / "examples", "examples/"))
    for directory, prefix in sources:
        versions: set[str] = set()
        for path in sorted(directory.glob("*.sql")):
            if path.name == SCHEMA_FILE_NAME:
                continue
            match = _FILE.match(path.name)
            if not match:
                raise MigrationError(f"{path.name}: migration files are named NNNN_name.sql")
            if match.group(1) in versions:
                raise MigrationError(f"{path.name}: version {match.group(1)} is used twice")
            versions.add(match.group(1))
            found.append(Migration(prefix + match.group(1), match.group(2), path))
    return found


def applied(conn: psycopg.Connection[dict[str, object]]) -> dict[str, str]:
    """Version -> checksum of every applied migration (empty on a fresh database)."""
    return store.applied(conn)


def migrate(
    conn: psycopg.Connection[dict[str, object]],
    folder: Path | None = None,
    *,
    include_examples: bool = False,
) -> list[Migration]:
    """Apply what is pending and return it; a no-op when up to date. ``conn`` must be autocommit."""
    return deploy(conn, folder, include_examples=include_examples)[0]


def deploy(
    conn: psycopg.Connection[dict[str, object]],
    folder: Path | None = None,
    *,
    include_examples: bool = False,
    catalog: Path | None = None,
) -> tuple[list[Migration], Plan | None]:
    """The migration step: pending migrations, then the tracking plan in ``catalog`` (when given).

    Both under one hold of the migration lock. The catalogue's files are validated before any
    migration runs, so a broken file changes nothing; a change the compatibility rules refuse
    raises CatalogRefused after the migrations, with the catalogue left as it was.
    """
    if not conn.autocommit:
        raise MigrationError("migrate needs an autocommit connection (it manages transactions)")
    wanted = discover(folder, include_examples=include_examples)
    files = catalog_files.load(catalog) if catalog is not None else None
    store.lock(conn, MIGRATION_LOCK_ID)
    try:
        done = _apply_pending(conn, wanted)
        plan = catalog_apply.apply(conn, files, locked=True) if files is not None else None
    finally:
        store.unlock(conn, MIGRATION_LOCK_ID)
    return done, plan


def _apply_pending(
    conn: psycopg.Connection[dict[str, object]], wanted: list[Migration]
) -> list[Migration]:
    done: list[Migration] = []
    store.create_table(conn)
    already = applied(conn)
    for migration in wanted:
        previous = already.get(migration.version)
        if previous is not None:
            if previous != migration.checksum:
                raise MigrationError(
                    f"migration {migration.version}_{migration.name} was edited after it was "
                    "applied (checksum differs); add a new migration instead of editing one"
                )
            continue
        try:
            with conn.transaction():
                conn.execute(migration.text.encode())
                store.record(conn, migration.version, migration.name, migration.checksum)
        except psycopg.Error as exc:
            raise MigrationError(
                f"migration {migration.version}_{migration.name} failed: {exc}"
            ) from exc
        done.append(migration)
    return done


def check_up_to_date(
    conn: psycopg.Connection[dict[str, object]], folder: Path | None = None
) -> None:
    """Raise SchemaOutOfDate naming what is missing (jobs call this before they start)."""
    have = applied(conn)
    missing = [f"{m.version}_{m.name}" for m in discover(folder) if m.version not in have]
    if missing:
        raise SchemaOutOfDate(
            "database schema is out of date, missing "
            + ", ".join(missing)
            + ": run `platform-events migrate`"
        )
