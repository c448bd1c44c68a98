"""Imports point one way: the import-linter contracts of pyproject.toml hold for the package, and
each one fails when an import the wrong way is planted in a copy of it."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "functions" / "platform_events"
CONFIG = ROOT / "pyproject.toml"
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")

LAYERS = "Layers point one way"
SDK = "The SDK is not imported by pipeline, jobs, ingest or sinks"
DB = "db does not know the embedded server"
STORES = "Only the stores run SQL by name"


def lint(source_root: Path, cwd: Path) -> tuple[int, dict[str, str]]:
    """Run lint-imports on the ``platform_events`` under ``source_root``: its exit status and
    each contract's verdict (KEPT or BROKEN) by name."""
    env = {**os.environ, "PYTHONPATH": str(source_root), "COLUMNS": "500", "NO_COLOR": "1"}
    done = subprocess.run(
        [str(LINT_IMPORTS), "--config", str(CONFIG), "--no-cache", "--no-logo"],
        cwd=cwd,  # nothing written into the repository
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    verdicts = dict(re.findall(r"^(.+?) (KEPT|BROKEN)\b", done.stdout, re.MULTILINE))
    assert set(verdicts) == {LAYERS, SDK, DB, STORES}, done.stdout + done.stderr
    return done.returncode, verdicts


def test_the_package_keeps_every_import_contract(tmp_path: Path) -> None:
    status, verdicts = lint(ROOT / "functions", tmp_path)
    assert verdicts == {LAYERS: "KEPT", SDK: "KEPT", DB: "KEPT", STORES: "KEPT"}
    assert status == 0


@pytest.mark.parametrize(
    ("module", "planted", "broken"),
    [
        # the pipeline reaching into the SDK for a shared piece (it lives in platform_events.device)
        ("pipeline/enrich.py", "from platform_events.client import transport", {LAYERS, SDK}),
        # ingest writing through the SDK's transport instead of platform_events.emit
        ("ingest/writer.py", "import platform_events.client.transport", {LAYERS, SDK}),
        # db resolving the URL with the embedded server itself instead of the registered resolver
        ("db.py", "from platform_events import local", {LAYERS, DB}),
        # a sink importing a job: store and sinks sit below jobs
        ("sinks/base.py", "from platform_events.jobs import common", {LAYERS}),
        # the SDK importing a command of the command line
        ("client/reads.py", "import platform_events.generate_command", {LAYERS}),
        # a job running a statement itself instead of calling its store (platform_events.stores)
        ("jobs/gdpr.py", "from platform_events.queries import sql", {STORES}),
        # ingest, likewise (its quarantine and dead letter are in stores/ingest.py)
        ("ingest/writer.py", "from platform_events import queries", {STORES}),
        # the console, likewise
        ("console/data.py", "from platform_events.queries import sql", {STORES}),
    ],
)
def test_an_import_the_wrong_way_breaks_its_contract(
    tmp_path: Path, module: str, planted: str, broken: set[str]
) -> None:
    copy = tmp_path / "src" / "platform_events"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__", "static"))
    with (copy / module).open("a") as source:
        source.write(f"\n{planted}  # planted\n")
    status, verdicts = lint(tmp_path / "src", tmp_path)
    assert {name for name, verdict in verdicts.items() if verdict == "BROKEN"} == broken
    assert status != 0
