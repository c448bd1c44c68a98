"""A Cloud KMS key must be in the location of the resource it encrypts: the functions module refuses
a key outside the region, the warehouse module one outside the dataset's location.

Each precondition's condition text is taken from its file and planned by the real terraform binary
on terraform_data (built in: no provider download), with keys inside and outside the location.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import hcl2
import pytest

from tests.terraform import cli as terraform_cli

ROOT = Path(__file__).resolve().parents[2]

KEY = "projects/keys/locations/{}/keyRings/r/cryptoKeys/k"


def _condition(module: str, rtype: str, name: str) -> str:
    with (ROOT / "infra" / module / "main.tf").open(encoding="utf-8") as handle:
        parsed: dict[str, Any] = hcl2.load(handle)
    body = next(
        named[f'"{name}"']
        for block in parsed["resource"]
        for found, named in block.items()
        if found == f'"{rtype}"' and f'"{name}"' in named
    )
    condition: str = body["lifecycle"][0]["precondition"][0]["condition"]
    return condition[2:-1]  # python-hcl2 wraps expressions in ${...}


@pytest.fixture(scope="module")
def terraform() -> str:
    binary = shutil.which("terraform")
    if binary is None:
        pytest.skip("no terraform binary: the preconditions cannot be planned here")
    return binary


def _accepted(terraform: str, directory: Path, condition: str, values: dict[str, Any]) -> bool:
    typed = dict.fromkeys(
        ("kms_key_name", "region", "location"), "  type    = string\n  default = null"
    )
    (directory / "main.tf").write_text(
        terraform_cli.precondition_config(typed, condition), encoding="utf-8"
    )
    (directory / "test.tfvars.json").write_text(json.dumps(values), encoding="utf-8")
    result = terraform_cli.plan(terraform, directory, "test.tfvars.json")
    if result.returncode != 0:
        assert "refused" in result.stdout + result.stderr, result.stdout + result.stderr
    return result.returncode == 0


@pytest.mark.parametrize(
    ("location", "accepted"),
    [("us-central1", True), ("US-CENTRAL1", True), ("us", False), ("europe-west1", False)],
)
def test_the_functions_key_must_be_in_their_region(
    location: str, accepted: bool, terraform: str, tmp_path: Path
) -> None:
    condition = _condition("functions", "google_storage_bucket", "source")
    values = {"kms_key_name": KEY.format(location), "region": "us-central1"}
    assert _accepted(terraform, tmp_path, condition, values) is accepted


@pytest.mark.parametrize(
    ("location", "accepted"), [("us", True), ("us-central1", False), ("eu", False)]
)
def test_the_warehouse_key_must_be_in_the_dataset_location(
    location: str, accepted: bool, terraform: str, tmp_path: Path
) -> None:
    condition = _condition("warehouse", "google_bigquery_dataset", "this")
    values = {"kms_key_name": KEY.format(location), "location": "US"}
    assert _accepted(terraform, tmp_path, condition, values) is accepted


@pytest.mark.parametrize(
    ("module", "rtype", "name"),
    [
        ("functions", "google_storage_bucket", "source"),
        ("warehouse", "google_bigquery_dataset", "this"),
    ],
)
def test_no_key_is_always_accepted(
    module: str, rtype: str, name: str, terraform: str, tmp_path: Path
) -> None:
    values = {"region": "us-central1", "location": "US"}
    assert _accepted(terraform, tmp_path, _condition(module, rtype, name), values)
