"""The job registry as terraform.tf reads it: ``local.function_defaults`` and ``local.schedules``
built from infra/jobs.json in Python, the way terraform.tf's expressions build them (a fan-out
function runs ``var.stream_max_parallel`` instances; tests/unit/test_registry.py checks the
expressions are still these)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
JOBS_JSON = ROOT / "infra" / "jobs.json"
# How python-hcl2 renders the variable, so callers resolve it as they resolve any other.
FANOUT = "${var.stream_max_parallel}"

# terraform.tf's lines that read the file and apply the fan-out rule.
TERRAFORM_LINES = (
    'jobs = jsondecode(file("${path.root}/infra/jobs.json"))',
    "for key, fn in local.jobs.functions : key => merge(fn, {",
    "max_instances = fn.fanout ? var.stream_max_parallel : fn.max_instances",
    "fanout        = fn.fanout ? var.stream_max_parallel : 0",
    "schedules = local.jobs.schedules",
    "for key, fn in local.jobs.functions : key => local.invoker_lists[fn.invokers]",
    "if try(fn.invokers, null) != null",
)


def _jobs() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(JOBS_JSON.read_text(encoding="utf-8"))
    return loaded


def function_defaults() -> dict[str, dict[str, Any]]:
    """Function key => entry point, resources, database user, secrets (before pool overrides)."""
    return {
        key: {
            **fn,
            "max_instances": FANOUT if fn["fanout"] else fn["max_instances"],
            "fanout": FANOUT if fn["fanout"] else 0,
        }
        for key, fn in _jobs()["functions"].items()
    }


def schedules() -> dict[str, dict[str, Any]]:
    """Schedule key => cron, the function key it calls, attempt deadline, retries."""
    found: dict[str, dict[str, Any]] = _jobs()["schedules"]
    return found
