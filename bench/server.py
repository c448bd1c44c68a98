"""Where the benchmarks run: one PostgreSQL server, a scratch database per run, cached datasets.

By default the server is an embedded one of its own under ``bench/data/`` (same configuration as
``platform-events db start``), so the cached 10-million-event dataset survives ``make clean`` and
never mixes with the development database; ``--database-url`` (or ``DATABASE_URL``) points the
benchmarks at any other server, whose role must be allowed to create databases.
"""

from __future__ import annotations

import os
import platform
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql as pgsql
from psycopg.rows import dict_row

from bench.sql import sql
from platform_events import local, migrate
from platform_events.config import Settings, load_settings
from platform_events.db import APPLICATION_NAME, Conn, with_database

DATA_DIR = Path(__file__).resolve().parent / "data"


@dataclass
class Server:
    """An admin URL of the server, and the embedded settings to stop it with when we started it."""

    admin_url: str
    embedded: Settings | None = None

    def url(self, database: str) -> str:
        return with_database(self.admin_url, database)

    def connect(self, database: str, *, autocommit: bool = True) -> Conn:
        return psycopg.connect(
            self.url(database),
            autocommit=autocommit,
            row_factory=dict_row,
            application_name=f"{APPLICATION_NAME}-bench",
        )

    def _admin(self) -> Conn:
        return psycopg.connect(self.admin_url, autocommit=True, row_factory=dict_row)

    def exists(self, database: str) -> bool:
        with self._admin() as conn:
            row = conn.execute(sql("database_exists"), {"name": database}).fetchone()
        return bool(row and row["found"])

    def create(self, database: str, *, migrated: bool = True) -> str:
        """A new empty database (dropped first if it exists), migrated; its URL."""
        self.drop(database)
        with self._admin() as conn:
            conn.execute(pgsql.SQL("CREATE DATABASE {}").format(pgsql.Identifier(database)))
        if migrated:
            self.migrate(database)
        return self.url(database)

    def migrate(self, database: str) -> None:
        with self.connect(database) as conn:
            migrate.migrate(conn)

    def clone(self, template: str, target: str) -> str:
        """``target`` as a file copy of ``template`` (seconds for a gigabyte); its URL."""
        self.drop(target)
        statement = pgsql.SQL(sql("clone_database")).format(
            target=pgsql.Identifier(target), template=pgsql.Identifier(template)
        )
        with self._admin() as conn:
            conn.execute(statement)
        return self.url(target)

    def drop(self, database: str) -> None:
        with self._admin() as conn:
            conn.execute(
                pgsql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                    pgsql.Identifier(database)
                )
            )

    def close(self) -> None:
        """Stop the embedded server when this run started it."""
        if self.embedded is not None:
            local.stop(self.embedded)
            self.embedded = None


def open_server(database_url: str | None) -> Server:
    """The server at ``database_url``, or the benchmarks' own embedded one (started if needed)."""
    if database_url:
        return Server(admin_url=database_url)
    settings = load_settings(platform_events_home=DATA_DIR, database_url=None)
    was_running = local.is_running(settings)
    url = local.start(settings)
    return Server(admin_url=url, embedded=None if was_running else settings)


def pipeline_settings(url: str, work: Path, **overrides: Any) -> Settings:
    """Settings for the package's own functions (stream, retention) against ``url``."""
    values: dict[str, Any] = {
        "database_url": url,
        "platform_events_home": work,
        "duckdb_path": work / "warehouse.duckdb",
        "warehouse": "duckdb",
        "log_level": "WARNING",
        **overrides,
    }
    return load_settings(**values)


def machine() -> dict[str, Any]:
    """Cores, memory and CPU model of this machine, and its load when asked."""
    info: dict[str, Any] = {
        "cores": os.cpu_count(),
        "cpu": platform.processor() or platform.machine(),
        "ram_gb": None,
        "os": platform.platform(),
    }
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                info["cpu"] = line.split(":", 1)[1].strip()
                break
    meminfo = Path("/proc/meminfo")
    if meminfo.exists():
        for line in meminfo.read_text().splitlines():
            if line.startswith("MemTotal:"):
                info["ram_gb"] = round(int(line.split()[1]) / 1024 / 1024, 1)
                break
    return info


def load_average() -> list[float]:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return []


def versions(conn: Conn) -> dict[str, Any]:
    """Versions of everything a figure depends on, and the server settings that matter most."""
    import duckdb
    import pyarrow

    server: dict[str, Any] = {}
    for name in ("server_version", "shared_buffers", "synchronous_commit", "max_wal_size", "jit"):
        row = conn.execute(pgsql.SQL("SHOW {}").format(pgsql.Identifier(name))).fetchone()
        server[name] = next(iter(row.values())) if row else None
    return {
        "postgresql": server.pop("server_version"),
        "postgresql_settings": server,
        "python": platform.python_version(),
        "duckdb": duckdb.__version__,
        "psycopg": psycopg.__version__,
        "pyarrow": pyarrow.__version__,
        "commit": _git_commit(),
    }


def _git_commit() -> str | None:
    root = Path(__file__).resolve().parents[1]
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=root,
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=root,
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return head + ("-dirty" if dirty else "")
