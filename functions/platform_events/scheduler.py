"""Schedules: ``scheduler local`` runs the seed's schedules against ``serve``; ``scheduler
run|pause|resume JOB`` drives the deployed Cloud Scheduler jobs.

The schedules (UTC) are the registry's (platform_events.registry: the seed's four, the erasure
queue and the status probe); Terraform deploys the same ones from infra/jobs.json.

Deployed job ids are ``$SCHEDULER_JOB_PREFIX`` + job (``platform-events-stream``...), in
``$SCHEDULER_PROJECT_ID`` (default BIGQUERY_PROJECT_ID) and ``$SCHEDULER_LOCATION``.
A run of a job never overlaps the previous run of the same job: a tick that finds it still
running is skipped and logged.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from platform_events import registry
from platform_events.config import Settings
from platform_events.errors import ConfigError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Cron:
    """A five-field unix-cron expression (minute hour day-of-month month day-of-week), in UTC, as
    Cloud Scheduler reads its schedules; croniter evaluates it (0 or 7 is Sunday, and when both
    day fields are restricted either matching is enough, as cron does).

    Only ``scheduler local`` evaluates schedules (deployed, Cloud Scheduler does), so croniter is
    imported here, late: the deployed functions do not need it.
    """

    text: str

    @classmethod
    def parse(cls, text: str) -> Cron:
        from croniter import croniter

        # croniter also takes a seconds field and a year field; unix-cron has five fields.
        if len(text.split()) != 5:
            raise ValueError(f"cron {text!r}: five fields expected")
        if not croniter.is_valid(text):
            raise ValueError(f"cron {text!r}: not a valid cron expression")
        return cls(text)

    def next_after(self, at: datetime) -> datetime:
        """The first matching minute strictly after ``at``."""
        from croniter import croniter

        following: datetime = croniter(self.text, at.astimezone(UTC)).get_next(datetime)
        return following


@dataclass(frozen=True)
class Schedule:
    job: str
    cron: str
    function: str
    body: dict[str, Any]


SCHEDULES: tuple[Schedule, ...] = tuple(
    Schedule(job.name, job.schedule.cron, job.entry_point, {})
    for job in registry.scheduled()
    if job.schedule is not None
)
JOBS = tuple(s.job for s in SCHEDULES)

Poster = Callable[[str, str, dict[str, Any], float], tuple[int, dict[str, Any]]]


def post_json(
    url: str, token: str, body: dict[str, Any], timeout: float
) -> tuple[int, dict[str, Any]]:
    """POST ``body`` with the bearer token; returns (status, decoded JSON answer)."""
    request = urllib.request.Request(  # noqa: S310 - the URL is the operator's own serve address
        url,
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            return int(response.status), json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as exc:
        try:
            return exc.code, json.loads(exc.read() or b"{}")
        except json.JSONDecodeError:
            return exc.code, {}


class LocalScheduler:
    """Fires each schedule at its cron minutes against a ``serve`` base URL."""

    def __init__(
        self,
        base_url: str,
        token: str,
        schedules: tuple[Schedule, ...] = SCHEDULES,
        *,
        poster: Poster = post_json,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        timeout: float = 600.0,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.schedules = schedules
        self.poster = poster
        self.clock = clock
        self.timeout = timeout
        self._running: dict[str, threading.Thread] = {}
        self.results: dict[str, tuple[int, dict[str, Any]]] = {}

    def fire(self, schedule: Schedule) -> bool:
        """Start one run of ``schedule`` in a thread, unless its previous run is still going."""
        previous = self._running.get(schedule.job)
        if previous is not None and previous.is_alive():
            log.warning(
                "skipped: previous run still going", extra={"fields": {"job": schedule.job}}
            )
            return False
        thread = threading.Thread(target=self._call, args=(schedule,), daemon=True)
        self._running[schedule.job] = thread
        thread.start()
        return True

    def _call(self, schedule: Schedule) -> None:
        started = time.monotonic()
        try:
            status, body = self.poster(
                f"{self.base_url}/{schedule.function}", self.token, schedule.body, self.timeout
            )
        except OSError as exc:
            status, body = 0, {"error": {"code": "unreachable", "message": str(exc)}}
        self.results[schedule.job] = (status, body)
        level = logging.INFO if status == 200 else logging.ERROR
        log.log(
            level,
            "scheduled call finished",
            extra={
                "fields": {
                    "job": schedule.job,
                    "function": schedule.function,
                    "status": status,
                    "duration_ms": round((time.monotonic() - started) * 1000, 1),
                }
            },
        )

    def due(self, since: datetime, until: datetime) -> list[Schedule]:
        """Schedules with a cron minute in (since, until]."""
        return [s for s in self.schedules if Cron.parse(s.cron).next_after(since) <= until]

    def run_forever(self, stop: threading.Event) -> None:
        """Tick every minute boundary until ``stop`` is set."""
        last = self.clock()
        while not stop.is_set():
            now = self.clock()
            upcoming = min(Cron.parse(s.cron).next_after(last) for s in self.schedules)
            if now < upcoming:
                stop.wait(min((upcoming - now).total_seconds(), 60.0))
                continue
            for schedule in self.due(last, now):
                self.fire(schedule)
            last = now

    def join(self, timeout: float | None = None) -> None:
        for thread in list(self._running.values()):
            thread.join(timeout)


class SchedulerClient(Protocol):
    """The part of google.cloud.scheduler_v1.CloudSchedulerClient we use."""

    def run_job(self, *, name: str) -> Any: ...
    def pause_job(self, *, name: str) -> Any: ...
    def resume_job(self, *, name: str) -> Any: ...


def job_name(settings: Settings, job: str) -> str:
    """The full resource name of a deployed Cloud Scheduler job."""
    if job not in JOBS:
        raise ValueError(f"unknown job {job!r}; jobs: {', '.join(JOBS)}")
    project = settings.scheduler_project_id or settings.bigquery_project_id
    if not project:
        raise ConfigError(
            "SCHEDULER_PROJECT_ID (or BIGQUERY_PROJECT_ID) is required to drive Cloud Scheduler"
        )
    return (
        f"projects/{project}/locations/{settings.scheduler_location}/jobs/"
        f"{settings.scheduler_job_prefix}{job}"
    )


def control(
    settings: Settings, action: str, job: str, client: SchedulerClient | None = None
) -> dict[str, Any]:
    """``run`` (now), ``pause`` or ``resume`` one deployed job; returns its name and state."""
    name = job_name(settings, job)
    if client is None:
        from google.cloud import scheduler_v1

        client = scheduler_v1.CloudSchedulerClient()
    method = {"run": client.run_job, "pause": client.pause_job, "resume": client.resume_job}.get(
        action
    )
    if method is None:
        raise ValueError(f"unknown action {action!r}: run, pause or resume")
    answer = method(name=name)
    state = getattr(answer, "state", None)
    return {"job": name, "action": action, "state": getattr(state, "name", str(state))}
