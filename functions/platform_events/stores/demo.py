"""The demo's statements (``demo.py``): the example users table filled, and what was stored."""

from __future__ import annotations

from datetime import datetime

from platform_events.db import Conn
from platform_events.queries import sql
from platform_events.stores import Row


def upsert_users(conn: Conn, ids: list[str], roles: list[str], created: list[datetime]) -> None:
    """Add the example users table's rows (id, role, sign-up time by position); kept if there."""
    conn.execute(sql("demo_upsert_users"), {"ids": ids, "roles": roles, "created": created})


def stored_by_type(conn: Conn) -> list[Row]:
    """Stored events per category, type and delivery status."""
    return conn.execute(sql("demo_stored_by_type")).fetchall()
