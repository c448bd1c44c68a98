"""Running the dbt project in ``analytics/`` against the configured warehouse.

dbt lives in its own virtualenv (``.venv-dbt``, from ``analytics/requirements.txt``): its pins
(protobuf among them) disagree with the google-cloud libraries of the pipeline's. It is built on
first use (or by ``make``) unless DBT_EXECUTABLE names another dbt. The profile
(``analytics/profiles.yml``) reads the pipeline's own settings, passed here as environment
variables, so one Settings object configures the stream job and the models alike.

On DuckDB, dbt opens the warehouse file itself: the run holds the sink's HandoverLock for its
duration, so stream workers wait for it as they wait for each other (sinks/handover.py).
"""

from __future__ import annotations

import hashlib
import logging
import os
import subprocess
import sys
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Literal

from platform_events.config import Settings
from platform_events.errors import ConfigError
from platform_events.sinks.duckdb import DuckDBSink
from platform_events.sinks.handover import HandoverLock

log = logging.getLogger(__name__)

Action = Literal["run", "test", "build", "compile"]

ROOT = Path(__file__).resolve().parents[3]
PROJECT = ROOT / "analytics"
VENV = ROOT / ".venv-dbt"
INSTALL_TIMEOUT_S = 1800


def project_dir() -> Path:
    """The dbt project of the checkout; ConfigError outside one (it is not deployed in functions/)."""
    if not (PROJECT / "dbt_project.yml").is_file():
        raise ConfigError(f"no dbt project at {PROJECT}: run the models from a source checkout")
    return PROJECT


def _requirements_digest() -> str:
    return hashlib.sha256((project_dir() / "requirements.txt").read_bytes()).hexdigest()[:16]


def ensure_dbt(settings: Settings) -> Path:
    """The dbt executable: DBT_EXECUTABLE, else .venv-dbt's, built now if absent or out of date."""
    if settings.dbt_executable is not None:
        if not settings.dbt_executable.is_file():
            raise ConfigError(f"DBT_EXECUTABLE: no file {settings.dbt_executable}")
        return settings.dbt_executable
    stamp = VENV / ".installed"
    digest = _requirements_digest()
    if not stamp.is_file() or stamp.read_text().strip() != digest:
        print(f"building {VENV} from analytics/requirements.txt (once)", file=sys.stderr)
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
        subprocess.run(
            [str(VENV / "bin" / "pip"), "install", "--quiet", "--disable-pip-version-check",
             "-r", str(project_dir() / "requirements.txt")],
            check=True,
            timeout=INSTALL_TIMEOUT_S,
        )  # fmt: skip
        stamp.write_text(digest + "\n")
    return VENV / "bin" / "dbt"


def dbt_env(settings: Settings, base: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment dbt runs in: the profile's variables from ``settings``, nothing secret.

    Cloud credentials are not settings: dbt finds them as the google-cloud and AWS clients do
    (application default credentials, the instance's role).
    """
    env = dict(base if base is not None else os.environ)
    for name in ("PYTHONPATH", "VIRTUAL_ENV"):  # the pipeline's venv is not dbt's
        env.pop(name, None)
    env.update(
        {
            "DBT_TARGET": settings.warehouse,
            "DBT_PROFILES_DIR": str(project_dir()),
            "DBT_PROJECT_DIR": str(project_dir()),
            "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
            "MODELS_SCHEMA": settings.models_schema,
            "BIGQUERY_TABLE": settings.bigquery_table,
            "BIGQUERY_LOCATION": settings.bigquery_location,
            "REDSHIFT_DATABASE": settings.redshift_database,
            "AWS_REGION": settings.aws_region,
        }
    )
    if settings.warehouse == "duckdb":
        env["DUCKDB_PATH"] = str(settings.duckdb_file)
        env["EVENTS_SCHEMA"] = "main"
    elif settings.warehouse == "bigquery":
        env["BIGQUERY_PROJECT_ID"] = settings.bigquery_project_id or ""
        env["EVENTS_SCHEMA"] = settings.bigquery_dataset_id
    else:
        env["EVENTS_SCHEMA"] = settings.redshift_schema
        env["REDSHIFT_CLUSTER_ID"] = settings.redshift_cluster_id or ""
        if not settings.redshift_host:
            raise ConfigError("REDSHIFT_HOST is required to run the models on Redshift")
        env["REDSHIFT_HOST"] = settings.redshift_host
    return env


def command(
    dbt: Path,
    action: Action,
    *,
    select: Sequence[str] = (),
    full_refresh: bool = False,
    dbt_vars: str | None = None,
    quiet: bool = False,
) -> list[str]:
    """The dbt command line of one action (``quiet``: errors only, dbt's global --quiet)."""
    argv = [str(dbt), *(["--quiet"] if quiet else []), action]
    if select:
        argv += ["--select", *select]
    if full_refresh and action in ("run", "build"):
        argv.append("--full-refresh")
    if dbt_vars:
        argv += ["--vars", dbt_vars]
    return argv


@contextmanager
def _warehouse_lock(settings: Settings) -> Iterator[None]:
    if settings.warehouse != "duckdb":
        yield
        return
    lock = HandoverLock(settings.duckdb_file, settings.duckdb_lock_timeout_seconds)
    # The events table must exist before the models' source is read (a fresh warehouse).
    sink = DuckDBSink.from_settings(settings)
    try:
        sink.ensure_table()
    finally:
        sink.close()
    lock.acquire()
    try:
        yield
    finally:
        lock.release()


def run(
    settings: Settings,
    action: Action,
    *,
    select: Sequence[str] = (),
    full_refresh: bool = False,
    dbt_vars: str | None = None,
    quiet: bool = False,
) -> int:
    """Run one dbt action over the configured warehouse; dbt's exit status."""
    dbt = ensure_dbt(settings)
    argv = command(
        dbt, action, select=select, full_refresh=full_refresh, dbt_vars=dbt_vars, quiet=quiet
    )
    env = dbt_env(settings)
    log.info("dbt", extra={"fields": {"argv": argv[1:], "target": settings.warehouse}})
    with _warehouse_lock(settings):
        return subprocess.run(argv, cwd=project_dir(), env=env, check=False).returncode
