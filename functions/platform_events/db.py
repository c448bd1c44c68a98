"""Connections to the event store. Every other module gets its connections here."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg.conninfo import make_conninfo
from psycopg.rows import dict_row

from platform_events import cloudsql
from platform_events.config import Settings
from platform_events.local import database_url

APPLICATION_NAME = "platform-events"


Conn = psycopg.Connection[dict[str, object]]


def with_database(url: str, dbname: str) -> str:
    """The same server URL pointing at another database."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + dbname, parts.query, parts.fragment))


def connect(settings: Settings, *, autocommit: bool = False, url: str | None = None) -> Conn:
    """A new connection returning rows as dicts, tagged with our application name."""
    # Under IAM login (DATABASE_IAM_USER) the user and a fresh token replace the URL's own.
    conninfo = make_conninfo(url or database_url(settings), **cloudsql.connect_kwargs(settings))
    return psycopg.connect(
        conninfo,
        autocommit=autocommit,
        row_factory=dict_row,
        application_name=APPLICATION_NAME,
    )


@contextmanager
def connection(settings: Settings, *, autocommit: bool = False) -> Iterator[Conn]:
    """A connection that commits on success, rolls back on error, and is always closed."""
    conn = connect(settings, autocommit=autocommit)
    try:
        with conn:
            yield conn
    finally:
        conn.close()
