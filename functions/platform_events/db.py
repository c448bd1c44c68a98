"""Connections to the event store. Every other module gets its connections here."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from psycopg.rows import dict_row

from platform_events.config import Settings
from platform_events.local import database_url

APPLICATION_NAME = "platform-events"


def connect(settings: Settings, *, autocommit: bool = False, url: str | None = None) -> psycopg.Connection[dict[str, object]]:
    """A new connection returning rows as dicts, tagged with our application name."""
    return psycopg.connect(
        url or database_url(settings),
        autocommit=autocommit,
        row_factory=dict_row,
        application_name=APPLICATION_NAME,
    )


@contextmanager
def connection(settings: Settings, *, autocommit: bool = False) -> Iterator[psycopg.Connection[dict[str, object]]]:
    """A connection that commits on success, rolls back on error, and is always closed."""
    conn = connect(settings, autocommit=autocommit)
    try:
        with conn:
            yield conn
    finally:
        conn.close()
