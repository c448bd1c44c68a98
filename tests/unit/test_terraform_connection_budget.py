"""The connection budget: Terraform refuses functions whose pools could together open more
connections than Cloud SQL's max_connections minus a reserve.

What is evaluated, and how: the precondition lives on the functions (infra/functions/main.tf). With
a terraform binary on the machine, the test runs the real thing: a scratch configuration made of
the very text of the root's variables and function locals, the module call's two inputs, and the
module's `functions` variable (its type and validations), its `database_connections` local and the
precondition, on terraform_data (built in, so `terraform plan` needs no provider download); plan
must pass with the defaults and fail with a violating tfvars. Without a binary, the same arithmetic
is evaluated in Python from the parsed defaults, and the test asserts the expressions it mirrors
are exactly the ones in the files. The same scratch plans show the functions variable's other
validations at work: fan-out beyond max_instances, and memory Cloud Run does not allow for the
vCPUs.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import hcl2
import pytest

from tests.terraform import cli as terraform_cli
from tests.terraform import jobs as terraform_jobs
from tests.terraform.hcl import matching

ROOT = Path(__file__).resolve().parents[2]
FUNCTIONS = ROOT / "infra" / "functions"

# The expressions the Python evaluation mirrors (asserted below to be the files' own).
DEMAND = "${sum([for fn in var.functions : fn.max_instances * fn.database_pool_size])}"
CONDITION = "${local.database_connections <= var.database_connection_budget}"
BUDGET = "${var.database_max_connections - var.database_reserved_connections}"
POOL_OVERRIDE = "lookup(var.database_pool_sizes, key, fn.database_pool_size)"

VIOLATING_TFVARS = "database_pool_sizes = { ingest = 8 }\n"  # 20 instances x 8 = 160 alone
TIGHT_DATABASE_TFVARS = "database_max_connections = 120\n"


def _load(path: Path) -> dict[str, Any]:
    with path.open(encoding="utf-8") as handle:
        parsed: dict[str, Any] = hcl2.load(handle)
    return parsed


def _unquote(value: Any) -> Any:
    if isinstance(value, str) and len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1]
    return value


def _variables(tf: dict[str, Any]) -> dict[str, Any]:
    return {
        _unquote(name): body for block in tf.get("variable", []) for name, body in block.items()
    }


def _locals(tf: dict[str, Any]) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for block in tf.get("locals", []):
        merged.update(block)
    return merged


def _precondition() -> str:
    main = _load(FUNCTIONS / "main.tf")
    body = next(
        named['"this"']
        for block in main["resource"]
        for rtype, named in block.items()
        if rtype == '"google_cloudfunctions2_function"'
    )
    condition: str = body["lifecycle"][0]["precondition"][0]["condition"]
    return condition


def _module_call() -> dict[str, Any]:
    root = _load(ROOT / "terraform.tf")
    call: dict[str, Any] = next(
        block['"functions"'] for block in root["module"] if '"functions"' in block
    )
    return call


def test_the_mirrored_expressions_are_the_ones_in_the_files() -> None:
    assert _locals(_load(FUNCTIONS / "main.tf"))["database_connections"] == DEMAND
    assert _precondition() == CONDITION
    assert _module_call()["database_connection_budget"] == BUDGET
    assert POOL_OVERRIDE in _locals(_load(ROOT / "terraform.tf"))["functions"]


# --- The Python evaluation -----------------------------------------------------------------------


def _inputs(tfvars: str) -> tuple[int, int]:
    """(demand, budget) the root's defaults plus tfvars give the module, evaluated in Python."""
    root = _load(ROOT / "terraform.tf")
    values = {name: body.get("default") for name, body in _variables(root).items()}
    values.update(hcl2.loads(tfvars) if tfvars else {})

    def resolve(value: Any) -> Any:
        if isinstance(value, str) and (match := re.fullmatch(r"\$\{var\.(\w+)\}", value)):
            return values[match.group(1)]
        return value

    demand = 0
    for key, fn in terraform_jobs.function_defaults().items():
        pool = (values["database_pool_sizes"] or {}).get(key, fn["database_pool_size"])
        demand += resolve(fn["max_instances"]) * resolve(pool)
    budget = values["database_max_connections"] - values["database_reserved_connections"]
    return demand, budget


def test_the_default_pools_fit_the_budget_with_room_to_spare() -> None:
    demand, budget = _inputs("")
    assert demand <= budget
    assert (demand, budget) == (131, 175), "update infra/README.md (Connections) with the new sum"


@pytest.mark.parametrize("tfvars", [VIOLATING_TFVARS, TIGHT_DATABASE_TFVARS])
def test_a_violating_tfvars_exceeds_the_budget(tfvars: str) -> None:
    demand, budget = _inputs(tfvars)
    assert demand > budget


# --- The real Terraform --------------------------------------------------------------------------


def _block(text: str, header: str) -> str:
    """The text of the block or attribute that starts with header (e.g. 'variable "x" {')."""
    start = text.index(header)
    brace = text.index("{", start)
    return text[start : matching(text, brace, "{", "}")]


def _line(text: str, header: str) -> str:
    """The one line that starts with header."""
    start = text.index(header)
    return text[start : text.index("\n", start)]


def _scratch(directory: Path) -> None:
    root = (ROOT / "terraform.tf").read_text(encoding="utf-8")
    variables = (FUNCTIONS / "variables.tf").read_text(encoding="utf-8")
    call = _module_call()
    module = directory / "functions"
    module.mkdir(parents=True)
    (directory / "infra").mkdir()
    (directory / "infra" / "jobs.json").write_bytes(terraform_jobs.JOBS_JSON.read_bytes())
    root_variables = [
        _block(root, f'variable "{name}" {{')
        for name in (
            "stream_max_parallel",
            "database_max_connections",
            "database_reserved_connections",
            "database_pool_sizes",
        )
    ]
    (directory / "main.tf").write_text(
        "\n\n".join(
            [
                *root_variables,
                "locals {\n"
                + _line(root, "  jobs = ")
                + "\n"
                + _block(root, "  function_defaults = {")
                + "\n"
                + _block(root, "  functions = {")
                + "\n}",
                'module "functions" {\n  source = "./functions"\n'
                f"  functions = {call['functions'][2:-1]}\n"
                f"  database_connection_budget = {call['database_connection_budget'][2:-1]}\n}}",
            ]
        ),
        encoding="utf-8",
    )
    (module / "main.tf").write_text(
        "\n\n".join(
            [
                _block(variables, 'variable "functions" {'),
                _block(variables, 'variable "database_connection_budget" {'),
                f"locals {{\n  database_connections = {DEMAND[2:-1]}\n}}",
                'resource "terraform_data" "functions" {\n  lifecycle {\n    precondition {\n'
                f"      condition     = {_precondition()[2:-1]}\n"
                '      error_message = "connection budget exceeded"\n    }\n  }\n}',
            ]
        ),
        encoding="utf-8",
    )


def _plan(directory: Path, tfvars: str, binary: str) -> subprocess.CompletedProcess[str]:
    (directory / "test.tfvars").write_text(tfvars, encoding="utf-8")
    return terraform_cli.plan(binary, directory, "test.tfvars")


@pytest.fixture(scope="module")
def terraform() -> str:
    binary = shutil.which("terraform")
    if binary is None:
        pytest.skip("no terraform binary: the budget is checked by the Python evaluation only")
    return binary


def test_terraform_plans_the_default_pools(terraform: str, tmp_path: Path) -> None:
    _scratch(tmp_path)
    result = _plan(tmp_path, "", terraform)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("tfvars", [VIOLATING_TFVARS, TIGHT_DATABASE_TFVARS])
def test_terraform_refuses_pools_over_the_budget(
    tfvars: str, terraform: str, tmp_path: Path
) -> None:
    _scratch(tmp_path)
    result = _plan(tmp_path, tfvars, terraform)
    assert result.returncode != 0
    assert "connection budget exceeded" in result.stdout + result.stderr, result.stderr


def test_terraform_refuses_a_fanout_beyond_max_instances(terraform: str, tmp_path: Path) -> None:
    _scratch(tmp_path)
    main = tmp_path / "main.tf"
    text = main.read_text(encoding="utf-8")
    # max_instances follows stream_max_parallel in terraform.tf; a hand edit that breaks it:
    edited = text.replace(
        "max_instances = fn.fanout ? var.stream_max_parallel", "max_instances = fn.fanout ? 2"
    )
    assert edited != text
    main.write_text(edited, encoding="utf-8")
    result = _plan(tmp_path, "", terraform)
    assert result.returncode != 0
    assert "fanout must be 0, or at most max_instances" in result.stdout + result.stderr


@pytest.mark.parametrize(
    ("cpu", "memory"), [("4", "1Gi"), ("2", "9Gi"), ("3", "2Gi"), ("1", "256Mi")]
)
def test_terraform_refuses_memory_cloud_run_does_not_allow_for_the_vcpus(
    cpu: str, memory: str, terraform: str, tmp_path: Path
) -> None:
    # The same scratch configuration carries the functions variable's validations verbatim;
    # the stream's resources come from the registry's JSON, edited here.
    _scratch(tmp_path)
    jobs_json = tmp_path / "infra" / "jobs.json"
    jobs = json.loads(jobs_json.read_text(encoding="utf-8"))
    jobs["functions"]["stream"] |= {"cpu": cpu, "memory": memory}
    jobs_json.write_text(json.dumps(jobs), encoding="utf-8")
    result = _plan(tmp_path, "", terraform)
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert "memory must fit the vCPUs" in output or "cpu must be 1, 2, 4, 6 or 8" in output, output
