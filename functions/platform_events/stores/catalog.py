"""The catalogue's statements (``catalog_apply``): ``event_schemas`` read and written."""

from __future__ import annotations

from psycopg.types.json import Jsonb

from platform_events.catalog_changes import StoredSchema
from platform_events.catalog_files import SchemaFile
from platform_events.db import Conn
from platform_events.queries import sql


def stored(conn: Conn) -> list[StoredSchema]:
    """Every row of ``event_schemas``, by type and version."""
    return [StoredSchema(**row) for row in conn.execute(sql("catalog_stored")).fetchall()]  # type: ignore[arg-type]


def insert(conn: Conn, schema_file: SchemaFile) -> None:
    """Add a version (revision 0)."""
    conn.execute(
        sql("catalog_insert"),
        {
            "event_type": schema_file.event_type,
            "version": schema_file.version,
            "category": schema_file.category,
            "json_schema": Jsonb(schema_file.json_schema),
            "retention": schema_file.retention,
            "is_active": schema_file.active,
            "description": schema_file.description,
            "owner": schema_file.owner,
        },
    )


def edit(conn: Conn, schema_file: SchemaFile) -> None:
    """Replace a version's JSON Schema with a compatible one: its revision goes up by one."""
    conn.execute(
        sql("catalog_edit"),
        {
            "event_type": schema_file.event_type,
            "version": schema_file.version,
            "json_schema": Jsonb(schema_file.json_schema),
        },
    )


def set_active(conn: Conn, schema_file: SchemaFile) -> None:
    conn.execute(
        sql("catalog_set_active"),
        {
            "event_type": schema_file.event_type,
            "version": schema_file.version,
            "is_active": schema_file.active,
        },
    )


def describe(conn: Conn, schema_file: SchemaFile) -> None:
    conn.execute(
        sql("catalog_describe"),
        {
            "event_type": schema_file.event_type,
            "version": schema_file.version,
            "description": schema_file.description,
            "owner": schema_file.owner,
        },
    )


def set_retention(conn: Conn, event_type: str, retention: str) -> None:
    conn.execute(sql("catalog_set_retention"), {"event_type": event_type, "retention": retention})


def events_refused(conn: Conn, event_type: str, version: int) -> list[dict[str, object]]:
    """Up to three stored events of ``event_type`` v``version`` its current rules refuse."""
    return conn.execute(
        sql("catalog_events_refused"), {"event_type": event_type, "version": version}
    ).fetchall()
