"""checkov over the Terraform: zero failed checks, and every skip written in the code with a reason.

checkov lives in its own virtualenv (.venv-checkov): its `bc-python-hcl2` overwrites the files of
the `python-hcl2` the structure tests use. The first run creates it with pip (a few minutes; CI
reaches the package registry), later runs reuse it. `make terraform-check` runs the same scan.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
VENV = ROOT / ".venv-checkov"
CHECKOV = VENV / "bin" / "checkov"
CHECKOV_VERSION = "3.3.30"
INSTALL_TIMEOUT_S = 1800
SCAN_TIMEOUT_S = 900
SKIP_PATHS = (".venv", ".venv-checkov", ".local", ".terraform")

pytestmark = pytest.mark.slow


def _clean_env() -> dict[str, str]:
    """The environment without this virtualenv's variables, so checkov sees only its own."""
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    return env


def _installed_version() -> str | None:
    if not CHECKOV.exists():
        return None
    try:
        result = subprocess.run(
            [str(CHECKOV), "--version"],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
            env=_clean_env(),
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return result.stdout.strip() if result.returncode == 0 else None


def _run(command: list[str], timeout: int, what: str) -> None:
    try:
        result = subprocess.run(
            command,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            env=_clean_env(),
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"{what} took longer than {timeout} s: {' '.join(command)}")
    if result.returncode != 0:
        pytest.fail(
            f"{what} failed ({result.returncode}): {' '.join(command)}\n"
            f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
        )


@pytest.fixture(scope="session")
def checkov() -> Path:
    """checkov from .venv-checkov, created (or repaired) with pip when missing."""
    if _installed_version() == CHECKOV_VERSION:
        return CHECKOV
    if VENV.exists():
        shutil.rmtree(VENV)
    _run([sys.executable, "-m", "venv", str(VENV)], 300, "creating .venv-checkov")
    _run(
        [str(VENV / "bin" / "pip"), "install", "--quiet", f"checkov=={CHECKOV_VERSION}"],
        INSTALL_TIMEOUT_S,
        f"pip install checkov=={CHECKOV_VERSION} into .venv-checkov (needs the package registry)",
    )
    version = _installed_version()
    assert version == CHECKOV_VERSION, f".venv-checkov holds checkov {version!r}"
    (VENV / ".installed").touch()  # the stamp `make terraform-check` looks for
    return CHECKOV


@pytest.fixture(scope="session")
def report(checkov: Path) -> dict[str, Any]:
    command = [
        str(checkov),
        "--directory",
        str(ROOT),
        "--framework",
        "terraform",
        "--skip-download",
        "--output",
        "json",
    ]
    for path in SKIP_PATHS:
        command += ["--skip-path", path]
    try:
        result = subprocess.run(
            command,
            capture_output=True,
            text=True,
            timeout=SCAN_TIMEOUT_S,
            check=False,
            cwd=ROOT,
            env=_clean_env(),
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"checkov took longer than {SCAN_TIMEOUT_S} s")
    try:
        parsed = json.loads(result.stdout)
    except json.JSONDecodeError:
        pytest.fail(
            f"checkov printed no JSON report:\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}"
        )
    reports = parsed if isinstance(parsed, list) else [parsed]
    terraform = [r for r in reports if r.get("check_type") == "terraform"]
    assert len(terraform) == 1, f"expected one terraform report, got {len(terraform)}"
    found: dict[str, Any] = terraform[0]
    return found


def test_checkov_finds_no_failed_check(report: dict[str, Any]) -> None:
    summary = report["summary"]
    failed = [
        f"{c['check_id']} {c['resource']} ({c['file_path']}:{c['file_line_range'][0]})"
        for c in report["results"]["failed_checks"]
    ]
    assert summary["failed"] == 0, "checkov failed checks:\n" + "\n".join(failed)
    assert summary["parsing_errors"] == 0
    assert summary["passed"] > 100, "checkov scanned far fewer resources than the modules hold"


def test_every_skip_is_written_in_the_code_with_a_reason(report: dict[str, Any]) -> None:
    for check in report["results"]["skipped_checks"]:
        reason = (check.get("check_result") or {}).get("suppress_comment", "")
        where = f"{check['check_id']} on {check['resource']} ({check['file_path']})"
        assert len(reason.strip()) >= 20, f"skip without a reason: {where}"
        source = (ROOT / check["file_path"].lstrip("/")).read_text(encoding="utf-8")
        assert f"#checkov:skip={check['check_id']}:" in source, f"skip not inline: {where}"
