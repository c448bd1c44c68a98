"""The migrator's bookkeeping statements (``migrate.py``): its advisory lock and the
``schema_migrations`` table of what is applied, with each file's checksum."""

from __future__ import annotations

from platform_events.db import Conn
from platform_events.queries import sql

# Any fixed 64-bit number shared by every migrator of every version of this project (and by
# `catalog apply`, which must not race a migration).
MIGRATION_LOCK_ID = 7_243_905_118_220_517_001


def lock(conn: Conn, lock_id: int) -> None:
    """Wait for the migrators' advisory lock (one migrator at a time)."""
    conn.execute(sql("migration_lock"), {"lock_id": lock_id})


def unlock(conn: Conn, lock_id: int) -> None:
    """Release the migrators' advisory lock."""
    conn.execute(sql("migration_unlock"), {"lock_id": lock_id})


def create_table(conn: Conn) -> None:
    """Create ``schema_migrations`` when it does not exist yet."""
    conn.execute(sql("schema_migrations_create"))


def applied(conn: Conn) -> dict[str, str]:
    """Version -> checksum of every applied migration (empty when the table does not exist)."""
    exists = conn.execute(sql("schema_migrations_exists")).fetchone()
    if not exists or not exists["present"]:
        return {}
    rows = conn.execute(sql("schema_migrations_applied")).fetchall()
    return {str(row["version"]): str(row["checksum"]) for row in rows}


def record(conn: Conn, version: str, name: str, checksum: str) -> None:
    """Record an applied migration (in the transaction that applied it)."""
    conn.execute(
        sql("schema_migrations_record"), {"version": version, "name": name, "checksum": checksum}
    )
