"""`terraform init` + `terraform plan` of a scratch configuration, for tests that evaluate the
configuration's own expressions (preconditions, validations) with the real binary. Only built-in
resources (terraform_data) may appear, so nothing is downloaded."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

TIMEOUT_S = 120


def plan(
    binary: str, directory: Path, var_file: str | None = None
) -> subprocess.CompletedProcess[str]:
    """The first failing step's result, or the plan's."""
    env = {**os.environ, "TF_IN_AUTOMATION": "1", "CHECKPOINT_DISABLE": "1"}
    env["TF_CLI_CONFIG_FILE"] = os.devnull  # no user configuration, no plugin cache surprises
    plan_args = ["plan", "-lock=false", *([f"-var-file={var_file}"] if var_file else [])]
    result: subprocess.CompletedProcess[str] | None = None
    for command in (["init", "-backend=false"], plan_args):
        result = subprocess.run(
            [binary, *command, "-input=false", "-no-color"],
            cwd=directory,
            capture_output=True,
            text=True,
            timeout=TIMEOUT_S,
            env=env,
            check=False,
        )
        if result.returncode != 0:
            return result
    assert result is not None
    return result


def precondition_config(variables: dict[str, str], condition: str) -> str:
    """A configuration of typed variables (name => HCL variable body) and one terraform_data
    whose precondition is `condition`, failing with the message "refused"."""
    declared = "\n".join(f'variable "{name}" {{\n{body}\n}}' for name, body in variables.items())
    return (
        f"{declared}\n"
        'resource "terraform_data" "check" {\n  lifecycle {\n    precondition {\n'
        f"      condition     = {condition}\n"
        '      error_message = "refused"\n    }\n  }\n}\n'
    )
