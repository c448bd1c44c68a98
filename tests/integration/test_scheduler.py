"""The local scheduler against a real ``serve`` on a socket; Cloud Scheduler control with a fake."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from werkzeug.serving import make_server

from platform_events import scheduler, server
from platform_events.config import Settings
from tests.integration.jobs_http import TOKEN


@pytest.fixture
def served(settings: Settings) -> Iterator[str]:
    httpd = make_server("127.0.0.1", 0, server.create_app(settings, token=TOKEN), threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_port}"
    finally:
        httpd.shutdown()
        thread.join(10)


def _wait(local: scheduler.LocalScheduler, jobs: set[str], deadline_s: float = 60) -> None:
    deadline = time.monotonic() + deadline_s
    while not jobs <= set(local.results) and time.monotonic() < deadline:
        local.join(0.1)
    local.join(deadline_s)


def test_scheduled_jobs_call_serve_with_the_token(served: str) -> None:
    # Every schedule but stream (its own tests cover it, and here it would wait on the sink).
    jobs = {s.job for s in scheduler.SCHEDULES} - {"stream"}
    assert jobs == {"aggregate", "cleanup", "retention", "erasure", "status"}
    local = scheduler.LocalScheduler(
        served, TOKEN, tuple(s for s in scheduler.SCHEDULES if s.job in jobs)
    )
    for schedule in local.schedules:
        assert local.fire(schedule)
    _wait(local, jobs)
    assert {job: status for job, (status, _) in local.results.items()} == dict.fromkeys(jobs, 200)
    assert local.results["cleanup"][1]["metrics_removed"] == 0
    assert local.results["retention"][1]["deleted_total"] == 0
    assert local.results["status"][1]["backlog"] == 0


def test_a_wrong_token_is_refused_by_serve(served: str) -> None:
    local = scheduler.LocalScheduler(served, "not-the-token", scheduler.SCHEDULES[2:3])
    local.fire(local.schedules[0])
    _wait(local, {"cleanup"})
    assert local.results["cleanup"][0] == 401


class FakeCloudSchedulerClient:
    """Records the control-plane calls scheduler.control makes (no Google API involved)."""

    class _Job:
        def __init__(self, name: str, state: str) -> None:
            self.name = name
            self.state = type("State", (), {"name": state})()

    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []

    def run_job(self, *, name: str) -> Any:
        self.calls.append(("run", name))
        return self._Job(name, "ENABLED")

    def pause_job(self, *, name: str) -> Any:
        self.calls.append(("pause", name))
        return self._Job(name, "PAUSED")

    def resume_job(self, *, name: str) -> Any:
        self.calls.append(("resume", name))
        return self._Job(name, "ENABLED")


def test_scheduler_run_pause_resume_drive_the_deployed_jobs(settings: Settings) -> None:
    deployed = settings.model_copy(
        update={"scheduler_project_id": "acme", "scheduler_location": "europe-west1"}
    )
    fake = FakeCloudSchedulerClient()
    assert scheduler.control(deployed, "pause", "retention", fake)["state"] == "PAUSED"
    assert scheduler.control(deployed, "resume", "retention", fake)["state"] == "ENABLED"
    scheduler.control(deployed, "run", "stream", fake)
    name = "projects/acme/locations/europe-west1/jobs/platform-events-"
    assert fake.calls == [
        ("pause", name + "retention"),
        ("resume", name + "retention"),
        ("run", name + "stream"),
    ]
    with pytest.raises(ValueError, match="unknown job"):
        scheduler.control(deployed, "run", "reticulate", fake)
