"""Rules that keep the test suite proving what it claims, whatever the date and the machine."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests"))
import pg15  # noqa: E402 (tests/pg15.py is a script beside the suite)

TESTS = sorted((ROOT / "tests").rglob("*.py"))


def test_no_test_names_a_monthly_partition_that_exists_only_for_some_months() -> None:
    # platform_events_YYYY_MM exists from three months before until its retirement: a literal
    # name makes a test pass or fail by the calendar.
    literal = re.compile(r"platform_events_(retired_)?\d{4}_\d{2}")
    offenders = [str(p.relative_to(ROOT)) for p in TESTS if literal.search(p.read_text())]
    assert offenders == []


def test_no_permission_test_accepts_a_missing_object() -> None:
    # 42P01 (undefined_table) beside 42501 lets a test pass because the object is gone.
    undefined_table = '"42' + 'P01"'  # spelled apart so this file does not match itself
    offenders = [str(p.relative_to(ROOT)) for p in TESTS if undefined_table in p.read_text()]
    assert offenders == []


def test_the_postgresql_15_pass_fails_in_ci_without_its_binaries(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("TEST_DATABASE_URL", raising=False)
    monkeypatch.setattr(pg15, "BIN", tmp_path / "no-such-postgresql")
    monkeypatch.setenv("CI", "true")
    assert pg15.main([]) == 1
    monkeypatch.setenv("CI", "false")
    assert pg15.main([]) == 0


def test_the_postgresql_15_pass_covers_the_exactly_once_client_and_ingest_suites() -> None:
    covered = set(pg15.suite())
    for pattern in ("test_exactly_once*.py", "test_client*.py", "test_ingest*.py"):
        files = {str(p.relative_to(ROOT)) for p in (ROOT / "tests/integration").glob(pattern)}
        assert files and files <= covered, pattern


def test_ci_installs_postgresql_15_when_absent() -> None:
    script = (ROOT / ".ci/run").read_text()
    assert "export CI=true" in script
    assert "apt-get install -y --no-install-recommends postgresql-15" in script


# The unit-test files of no module (docs/development.md, "Where a test lives"), and why.
UNIT_TOPICS = {
    "docs": "README.md and docs/ agree with the code",
    "import_contracts": "the import-linter contracts of pyproject.toml",
    "runtime_requirements": "functions/requirements.txt covers the imports of functions/",
    "suite_rules": "rules about the test suite itself",
}
TERRAFORM_TOPIC = "terraform_"  # test_terraform_*.py: terraform.tf and infra/


def module_test_names() -> set[str]:
    """``<name>`` of each test_<name>.py a module of platform_events or bench/ may have."""
    package = ROOT / "functions" / "platform_events"
    names = set()
    for path in package.rglob("*.py"):
        parts = path.relative_to(package).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        if parts:
            names.add("_".join(parts))
    bench = {path.stem for path in (ROOT / "bench").glob("*.py")} - {"__init__", "__main__"}
    return names | {f"bench_{stem}" for stem in bench}


def misnamed(files: list[str]) -> list[str]:
    """The unit-test files named for neither a module nor a topic."""
    modules = module_test_names()
    return [
        name
        for name in files
        if (subject := name.removeprefix("test_").removesuffix(".py")) not in modules
        and subject not in UNIT_TOPICS
        and not subject.startswith(TERRAFORM_TOPIC)
    ]


def test_each_unit_test_file_is_named_for_the_module_it_tests() -> None:
    files = [path.name for path in sorted((ROOT / "tests" / "unit").glob("test_*.py"))]
    assert misnamed(files) == [], "tests/unit/test_<module>.py (docs/development.md)"


def test_a_unit_test_file_named_for_no_module_is_found() -> None:
    assert misnamed(["test_pipeline_batch.py", "test_bench_stats.py", "test_terraform_x.py"]) == []
    assert misnamed(["test_foundation_units.py", "test_batching.py"]) == [
        "test_foundation_units.py",
        "test_batching.py",
    ]
