"""The job registry: every deployed function declared once, and every door iterates it.

One entry names a job (``name``: its Cloud Scheduler job, Terraform function key and log label),
its Cloud Functions entry point (also its HTTP route on ``serve``), its CLI command, its request
model and run function, its schedule and the resources it is deployed with. ``functions/main.py``
generates its entry points from here, ``serve`` its routes, the local scheduler its schedules, the
CLI its command names, and Terraform reads ``infra/jobs.json``, which this module writes
(``python -m platform_events.registry``; tests/unit/test_registry.py fails when it is stale).

Models and run functions are named as ``module:attribute`` and imported on first use: the CLI's
``--help`` and Terraform's JSON need none of the jobs' dependencies.
"""

from __future__ import annotations

import importlib
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel

JSON_PATH = Path(__file__).resolve().parents[2] / "infra" / "jobs.json"
REGENERATE = ".venv/bin/python -m platform_events.registry"

DatabaseUser = Literal["pipeline", "ingest", "owner"]
Secret = Literal["write_keys", "erasure_key", "login_passwords"]
# Who may call the function besides Cloud Scheduler: terraform.tf's ingest_invoker_members or
# operator_members (roles/run.invoker).
Invokers = Literal["ingest", "operators"]


@dataclass(frozen=True)
class Resources:
    """What the function is deployed with (infra/functions' ``functions`` variable).

    ``max_instances`` None with ``fanout``: Terraform sets both to ``var.stream_max_parallel``
    (the function invokes itself that many times in parallel).
    """

    memory: str
    timeout_seconds: int
    max_instances: int | None
    database_user: DatabaseUser
    database_pool_size: int
    cpu: str | None = None
    min_instances: int | None = None
    concurrency: int | None = None
    warehouse_access: bool = False
    secrets: tuple[Secret, ...] = ()
    fanout: bool = False
    invokers: Invokers | None = None


@dataclass(frozen=True)
class Schedule:
    """When Cloud Scheduler (and ``scheduler local``) calls the job, in UTC."""

    cron: str
    # Cloud Scheduler's wait for an answer: a little over the function's timeout, at most 30 min.
    attempt_deadline: str
    retry_count: int | None = None


@dataclass(frozen=True)
class Job:
    """One deployed function. Its HTTP route is ``/<entry_point>``, deployed (the function's URL)
    and on ``serve``; ``name`` is its Terraform key (2-9 characters: it ends resource names)."""

    name: str
    entry_point: str
    help: str
    resources: Resources
    # "module:attribute" of the pydantic request model and of ``run(params, settings) -> dict``;
    # None for a function with its own HTTP protocol (``handler``, a Flask view).
    request: str | None = None
    run: str | None = None
    handler: str | None = None
    # The CLI command; None: the job has no command of its own.
    cli: str | None = None
    schedule: Schedule | None = None
    # Mounted by ``serve`` (the migration step is not: ``platform-events migrate`` does it locally).
    served: bool = True

    def model(self) -> type[BaseModel]:
        if self.request is None:
            raise TypeError(f"job {self.name!r} has no JSON request model")
        found = _resolve(self.request)
        if not (isinstance(found, type) and issubclass(found, BaseModel)):
            raise TypeError(f"{self.request} is not a pydantic model")
        return found

    def runner(self) -> Callable[[Any, Any], dict[str, Any]]:
        return _callable(self.run, f"job {self.name!r} has no run function")

    def flask_handler(self) -> Callable[[Any], Any]:
        return _callable(self.handler, f"job {self.name!r} has no handler")


def _callable(reference: str | None, missing: str) -> Callable[..., Any]:
    if reference is None:
        raise TypeError(missing)
    found = _resolve(reference)
    if not callable(found):
        raise TypeError(f"{reference} is not callable")
    function: Callable[..., Any] = found
    return function


def _resolve(reference: str) -> Any:
    module, _, attribute = reference.partition(":")
    return getattr(importlib.import_module(module), attribute)


_PIPELINE = "platform_events.pipeline"
_JOBS = "platform_events.jobs"

# Order: the scheduled jobs in the order of their schedules (scheduler.SCHEDULES keeps it).
# database_pool_size: connections per instance (ingest's 40 concurrent requests each hold one
# only for an INSERT; the stream's three stages, claim, enrich and deliver, hold one each, plus
# one for the run's bookkeeping).
JOBS: tuple[Job, ...] = (
    Job(
        "stream",
        "stream_platform_events",
        "deliver pending events to the warehouse once (what the function does)",
        # Its three stages run in threads: enrichment computes while claiming and delivering
        # wait on PostgreSQL and the warehouse. 2 vCPU, 2 GiB (Cloud Run: 2 vCPU take up to 8 GiB).
        Resources(
            "2Gi",
            300,
            None,
            "pipeline",
            4,
            cpu="2",
            warehouse_access=True,
            fanout=True,
        ),
        request=f"{_PIPELINE}.stream:StreamRequest",
        run=f"{_PIPELINE}.stream:run",
        cli="stream",
        schedule=Schedule("* * * * *", "320s", retry_count=0),
    ),
    Job(
        "aggregate",
        "aggregate_events",
        "recompute hourly/daily/weekly aggregations",
        Resources("512Mi", 540, 1, "pipeline", 2),
        request=f"{_JOBS}.aggregate:AggregateRequest",
        run=f"{_JOBS}.aggregate:run",
        cli="aggregate",
        schedule=Schedule("0 * * * *", "560s"),
    ),
    Job(
        "cleanup",
        "cleanup_metrics",
        "remove expired real-time metrics, ensure partitions",
        Resources("512Mi", 300, 1, "pipeline", 2),
        request=f"{_JOBS}.cleanup:CleanupRequest",
        run=f"{_JOBS}.cleanup:run",
        cli="cleanup",
        schedule=Schedule("*/15 * * * *", "320s"),
    ),
    Job(
        "retention",
        "apply_retention",
        "apply per-type retention (Postgres and warehouse)",
        Resources("1Gi", 1800, 1, "pipeline", 2, warehouse_access=True),
        request=f"{_JOBS}.retention:RetentionRequest",
        run=f"{_JOBS}.retention:run",
        cli="retention",
        # Also purges the 30-day ingest quarantine.
        schedule=Schedule("0 2 * * *", "1800s"),
    ),
    Job(
        "erasure",
        "erase_user",
        "GDPR erasure of one user (Postgres and warehouse)",
        Resources(
            "512Mi",
            540,
            1,
            "pipeline",
            2,
            warehouse_access=True,
            secrets=("erasure_key",),
            invokers="operators",
        ),
        request=f"{_JOBS}.gdpr:EraseRequest",
        run=f"{_JOBS}.gdpr:run",
        cli="erase-user",
        # Drains the queue the users-table trigger fills.
        schedule=Schedule("*/15 * * * *", "560s"),
    ),
    Job(
        "status",
        "pipeline_status",
        "backlog, oldest pending age, failures, recent syncs",
        Resources("512Mi", 60, 2, "pipeline", 2, invokers="operators"),
        request=f"{_JOBS}.status:StatusRequest",
        run=f"{_JOBS}.status:run",
        cli="status",
        # Its logged summary (backlog, oldest pending age, failures) feeds the monitoring alerts.
        schedule=Schedule("*/5 * * * *", "80s"),
    ),
    Job(
        "reprocess",
        "reprocess_events",
        "failed events back to pending; re-send a range",
        Resources("512Mi", 900, 1, "pipeline", 2, invokers="operators"),
        request=f"{_JOBS}.reprocess:ReprocessRequest",
        run=f"{_JOBS}.reprocess:run",
        cli="reprocess",
    ),
    # The migration step only (infra/migrations calls it): the owner's password and the logins'.
    # One run at a time, one connection (the migration lock's session).
    Job(
        "migrate",
        "migrate_database",
        "apply pending migrations to $DATABASE_URL",
        Resources("512Mi", 1800, 1, "owner", 1, secrets=("login_passwords",)),
        request=f"{_JOBS}.migrations:MigrateRequest",
        run=f"{_JOBS}.migrations:run",
        cli="migrate",
        served=False,
    ),
    # Segment's tracking API (/v1/batch, /v1/track, /v1/identify, /v1/page), not a JSON job.
    Job(
        "ingest",
        "ingest_events",
        "Segment's tracking API (/v1/batch, /v1/track, /v1/identify, /v1/page)",
        Resources(
            "512Mi",
            60,
            20,
            "ingest",
            5,
            min_instances=1,
            concurrency=40,
            secrets=("write_keys",),
            invokers="ingest",
        ),
        handler="platform_events.ingest.http:respond_flask",
    ),
)

BY_NAME: dict[str, Job] = {job.name: job for job in JOBS}


def get(name: str) -> Job:
    """The job called ``name``; KeyError names the jobs there are."""
    try:
        return BY_NAME[name]
    except KeyError:
        raise KeyError(f"no job {name!r}; jobs: {', '.join(BY_NAME)}") from None


def add_command(commands: Any, name: str) -> Any:
    """The CLI sub-parser of job ``name``: its registry command name and help."""
    job = get(name)
    if job.cli is None:
        raise ValueError(f"job {name!r} has no CLI command")
    return commands.add_parser(job.cli, help=job.help)


def json_jobs() -> tuple[Job, ...]:
    """The jobs ``serve`` and the deployed JSON functions run through web.run_job."""
    return tuple(job for job in JOBS if job.request is not None)


def scheduled() -> tuple[Job, ...]:
    return tuple(job for job in JOBS if job.schedule is not None)


def _function(job: Job) -> dict[str, Any]:
    r = job.resources
    fn: dict[str, Any] = {"entry_point": job.entry_point}
    if r.cpu is not None:
        fn["cpu"] = r.cpu
    fn |= {"memory": r.memory, "timeout_seconds": r.timeout_seconds}
    fn["max_instances"] = r.max_instances
    for key in ("min_instances", "concurrency"):
        if getattr(r, key) is not None:
            fn[key] = getattr(r, key)
    fn |= {"fanout": r.fanout, "database_user": r.database_user}
    fn["database_pool_size"] = r.database_pool_size
    if r.warehouse_access:
        fn["warehouse_access"] = True
    if r.secrets:
        fn["secrets"] = list(r.secrets)
    if r.invokers is not None:
        fn["invokers"] = r.invokers
    return fn


def _schedule(job: Job, schedule: Schedule) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "cron": schedule.cron,
        "function": job.name,
        "attempt_deadline": schedule.attempt_deadline,
    }
    if schedule.retry_count is not None:
        entry["retry_count"] = schedule.retry_count
    return entry


def terraform() -> dict[str, Any]:
    """What terraform.tf reads from infra/jobs.json: the functions and the schedules by key."""
    return {
        "//": f"Written by platform_events/registry.py: edit it there, then run {REGENERATE}",
        "functions": {job.name: _function(job) for job in JOBS},
        "schedules": {
            job.name: _schedule(job, job.schedule) for job in JOBS if job.schedule is not None
        },
    }


def terraform_text() -> str:
    return json.dumps(terraform(), indent=2) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Write infra/jobs.json (``--check``: exit 1 when the committed file is stale)."""
    args = sys.argv[1:] if argv is None else argv
    current = JSON_PATH.read_text(encoding="utf-8") if JSON_PATH.is_file() else None
    if "--check" in args:
        if current != terraform_text():
            print(f"{JSON_PATH} is stale: run {REGENERATE}", file=sys.stderr)
            return 1
        return 0
    JSON_PATH.write_text(terraform_text(), encoding="utf-8")
    print(f"wrote {JSON_PATH}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
