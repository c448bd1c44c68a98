"""The job registry: infra/jobs.json is what it writes, and every door (functions/main.py, serve,
the local scheduler, the CLI, Terraform) offers exactly its jobs, under its names."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import pytest
from functions_framework import _function_registry
from pydantic import BaseModel

from platform_events import cli, registry, scheduler, server
from tests.terraform import jobs as terraform_jobs

ROOT = Path(__file__).resolve().parents[2]
MAIN_PY = ROOT / "functions" / "main.py"


def test_the_committed_jobs_json_is_what_the_registry_writes() -> None:
    committed = terraform_jobs.JOBS_JSON.read_text(encoding="utf-8")
    assert committed == registry.terraform_text(), (
        f"infra/jobs.json is stale: run {registry.REGENERATE} and commit it"
    )


def test_the_check_mode_reports_a_stale_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    stale = tmp_path / "jobs.json"
    stale.write_text("{}\n", encoding="utf-8")
    monkeypatch.setattr(registry, "JSON_PATH", stale)
    assert registry.main(["--check"]) == 1
    assert registry.REGENERATE in capsys.readouterr().err
    assert registry.main([]) == 0
    assert registry.main(["--check"]) == 0


def test_terraform_builds_its_functions_and_schedules_from_the_json() -> None:
    text = (ROOT / "terraform.tf").read_text(encoding="utf-8")
    for line in terraform_jobs.TERRAFORM_LINES:
        assert line in text, f"terraform.tf no longer has {line!r}: update tests/terraform/jobs.py"


def test_terraform_grants_invokers_by_the_list_each_job_names() -> None:
    text = (ROOT / "terraform.tf").read_text(encoding="utf-8")
    assert re.search(r"^  invoker_members += local\.invoker_members$", text, re.MULTILINE)
    invokers = {
        key: fn["invokers"]
        for key, fn in terraform_jobs.function_defaults().items()
        if "invokers" in fn
    }
    # Operators call the on-demand functions; the gateway in front of ingest calls ingest.
    assert invokers == {
        "ingest": "ingest",
        "reprocess": "operators",
        "erasure": "operators",
        "status": "operators",
    }


def test_main_py_exposes_one_http_function_per_job_as_functions_framework_loads_it() -> None:
    module, spec = _function_registry.load_function_module(str(MAIN_PY))
    spec.loader.exec_module(module)
    for job in registry.JOBS:
        function = _function_registry.get_user_function(str(MAIN_PY), module, job.entry_point)
        assert function.__name__ == job.entry_point
        assert _function_registry.REGISTRY_MAP[job.entry_point] == "http"


def test_serve_routes_every_served_json_job_on_its_entry_point() -> None:
    routes = server.routes()
    served = {job.entry_point for job in registry.JOBS if job.served and job.request}
    assert set(routes) == served
    assert "migrate_database" not in routes
    for job in registry.json_jobs():
        assert issubclass(job.model(), BaseModel), job.name
        assert callable(job.runner()), job.name


def test_the_local_scheduler_runs_the_registry_schedules_under_the_job_names() -> None:
    assert [(s.job, s.cron, s.function) for s in scheduler.SCHEDULES] == [
        (job.name, job.schedule.cron, job.entry_point)
        for job in registry.JOBS
        if job.schedule is not None
    ]
    assert set(terraform_jobs.schedules()) == set(scheduler.JOBS)
    for key, schedule in terraform_jobs.schedules().items():
        # One name: the schedule, the function it calls and the job are the same key.
        assert schedule["function"] == key


def test_every_job_with_a_command_is_on_the_cli_under_its_registry_name() -> None:
    parser = cli.build_parser()
    commands = next(
        action for action in parser._actions if isinstance(action, argparse._SubParsersAction)
    )
    helps = {action.dest: action.help for action in commands._choices_actions}
    for job in registry.JOBS:
        if job.cli is not None:
            assert job.cli in commands.choices, job.name
            assert helps[job.cli] == job.help, job.name
    assert registry.get("erasure").cli == "erase-user"


def test_an_unknown_job_is_named_with_the_jobs_there_are() -> None:
    with pytest.raises(KeyError, match="erasure"):
        registry.get("erase")
